"""Demo people for trying the pages (``REFERRALNET_DEMO=1``): DEMO ONLY, never on a real deployment.

Each start seeds the fictional demo directory (data/demo/), a fictional institution, and one person per
role with a fresh random password, printed once. Every demo e-mail address is under ``example.org``.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from referralnet.accounts import passwords, people
from referralnet.accounts.schemas import SYSTEM
from referralnet.clock import Clock
from referralnet.db import write_transaction
from referralnet.directory.schemas import OrganisationCreate
from referralnet.directory.seed import seed
from referralnet.directory.services import create_organisation
from referralnet.tables import Organisation, Person

INSTITUTION = OrganisationCreate(name="Demo — IPJ (fictional police unit)", slug="demo-ipj", kind="institution", institution_type="police")
PROVIDER = "demo-casa-sperantei"
PEOPLE = (
    ("demo.institution@example.org", "Demo institution person", "institution", INSTITUTION.slug),
    ("demo.ngo@example.org", "Demo NGO person", "ngo", PROVIDER),
    ("demo.secretariat@example.org", "Demo secretariat person", "secretariat", None),
    ("demo.admin@example.org", "Demo administrator", "admin", None),
)


async def ensure_demo_people(data_dir: str, clock: Clock) -> list[tuple[str, str, str]]:
    """Seed the demo directory and (re)set the demo people; returns (e-mail, role, password) to print once."""
    await seed(Path(data_dir) / "demo", clock)
    if not await Organisation.exists().where(Organisation.slug == INSTITUTION.slug):
        await create_organisation(INSTITUTION, SYSTEM, clock)
    out = []
    for email, name, role, organisation in PEOPLE:
        password = "demo-" + secrets.token_urlsafe(12)
        now = clock.now()
        if await people.person_by_email(email) is None:
            await people.create_person(email=email, name=name, role=role, organisation=organisation, password=password, now=now)
        else:  # a new password each start; open sessions end with it
            async with write_transaction():
                await Person.update({Person.password_hash: passwords.hash_password(password), Person.active: True,
                                     Person.changed_at: now}).where(Person.email == email)  # fmt: skip
        out.append((email, role, password))
    return out


def banner(rows: list[tuple[str, str, str]], base_url: str) -> str:
    lines = [
        "=" * 78,
        "DEMO ONLY (REFERRALNET_DEMO=1): fictional data and demo people. Never on a real deployment.",
        f"Sign in at {base_url.rstrip('/')}/sign-in with (passwords are new at each start):",
        *(f"  {role:<12} {email:<32} {password}" for email, role, password in rows),
        "=" * 78,
    ]
    return "\n".join(lines)
