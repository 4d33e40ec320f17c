"""People: create, change, deactivate and list accounts; single-use links to set or reset a password."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from typing import Any

from referralnet.accounts import passwords
from referralnet.accounts.services import BOUND_KIND, ROLES, resolve_organisation
from referralnet.db import write_transaction
from referralnet.directory.networks import bind, check_binding, network_ids, rebind_person
from referralnet.directory.schemas import EMAIL_PATTERN
from referralnet.errors import BadLink, Conflict, InvalidInput, NotFound
from referralnet.tables import Person, PersonLink, PersonSession
from referralnet.texts import N_

LINK_LIFETIME = {"invite": dt.timedelta(hours=24), "reset": dt.timedelta(hours=1)}
PERSON_COLUMNS = (Person.id, Person.email, Person.name, Person.role, Person.organisation, Person.active, Person.org_admin, Person.created_at)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def digest(token: str) -> str:
    # Random 256-bit tokens: a fast hash is enough, there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def _check_role(role: str, organisation: str | int | None) -> None:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if role in ("ngo", "institution") and organisation is None:
        raise InvalidInput(f"a person of role {role} acts for an organisation (--organisation)", field="organisation")
    if role not in ("ngo", "institution") and organisation is not None:
        raise InvalidInput("only ngo and institution people act for an organisation", field="organisation")


async def create_person(
    *, email: str, name: str, role: str, organisation: str | int | None, password: str | None, now: dt.datetime,
    org_admin: bool = False, networks: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A new account; with ``password`` None it has none until the invite link is used.

    ``org_admin``: the NGO's administrator among its people (invites and deactivates colleagues).
    ``networks``: the networks a secretariat person is bound to (they then see those members only).
    """
    email = normalise_email(email)
    if not re.fullmatch(EMAIL_PATTERN, email) or len(email) > 254:  # as every e-mail field of the API checks it
        raise InvalidInput("a valid e-mail address is required", field="email")
    if not name.strip():
        raise InvalidInput("name must not be empty", field="name")
    _check_role(role, organisation)
    if org_admin and role != "ngo":
        raise InvalidInput("only a person of an NGO can be its organisation's administrator (--org-admin)", field="org_admin")
    if password is not None:
        passwords.check_new(password)
    org_id = await resolve_organisation(organisation, BOUND_KIND.get(role)) if organisation is not None else None
    bound = await check_binding(role, networks or [])
    async with write_transaction():
        if await Person.exists().where(Person.email == email):
            raise Conflict(f"a person with e-mail {email} already exists", field="email")
        rows = await Person.insert(
            Person(
                email=email, name=name.strip(), role=role, organisation=org_id,
                password_hash=passwords.hash_password(password) if password is not None else None,
                active=True, org_admin=org_admin, created_at=now, changed_at=now,
            )  # fmt: skip
        ).returning(*PERSON_COLUMNS)
        await bind("person", rows[0]["id"], bound)
    return rows[0]


async def work_contact(person_id: int) -> tuple[str, str] | None:
    """A person's name and e-mail address (the account's), for what they send in their own name."""
    row = await Person.select(Person.name, Person.email).where(Person.id == person_id).first()
    if row is None or not re.fullmatch(EMAIL_PATTERN, row["email"]) or not 0 < len(row["name"].strip()) <= 200:
        return None  # an account made before addresses were checked: no contact rather than one the referral refuses
    return row["name"].strip(), row["email"]


async def person_by_email(email: str) -> dict[str, Any] | None:
    return await Person.select(*PERSON_COLUMNS, Person.password_hash).where(Person.email == normalise_email(email)).first()


async def _end_sessions(person_id: int, now: dt.datetime) -> None:
    await PersonSession.update({PersonSession.ended_at: now}).where(
        PersonSession.person == person_id, PersonSession.ended_at.is_null()
    )


async def deactivate(email: str, now: dt.datetime) -> dict[str, Any]:
    """Deactivate an account; its open sessions end at once."""
    async with write_transaction():
        rows = await Person.update({Person.active: False, Person.changed_at: now}).where(
            Person.email == normalise_email(email)
        ).returning(*PERSON_COLUMNS)
        if not rows:
            raise NotFound(f"no person with e-mail {normalise_email(email)}", field="email")
        await _end_sessions(rows[0]["id"], now)
    return rows[0]


async def change_role(email: str, role: str, organisation: str | int | None, now: dt.datetime) -> dict[str, Any]:
    """Give a person another role or organisation; their open sessions end at once."""
    _check_role(role, organisation)
    org_id = await resolve_organisation(organisation, BOUND_KIND.get(role)) if organisation is not None else None
    async with write_transaction():
        rows = await Person.update({Person.role: role, Person.organisation: org_id, Person.changed_at: now}).where(
            Person.email == normalise_email(email)
        ).returning(*PERSON_COLUMNS)
        if not rows:
            raise NotFound(f"no person with e-mail {normalise_email(email)}", field="email")
        await _end_sessions(rows[0]["id"], now)
    return rows[0]


async def set_networks(email: str, networks: list[str]) -> dict[str, Any]:
    """Bind a secretariat person to exactly ``networks`` (none: the whole directory); effective at their next request."""
    ids = await network_ids(dict.fromkeys(networks), "network")
    async with write_transaction():
        row = await Person.select(*PERSON_COLUMNS).where(Person.email == normalise_email(email)).first()
        if row is None:
            raise NotFound(f"no person with e-mail {normalise_email(email)}", field="email")
        await rebind_person(row["id"], row["role"], ids)
    return row


async def list_people(organisations: frozenset[int] | None = None) -> list[dict[str, Any]]:
    """Every person by e-mail, with ``invited`` (no password chosen yet); with ``organisations``, only the people of
    those organisations. The password's hash itself never leaves this function."""
    query = Person.select(*PERSON_COLUMNS, Person.password_hash).order_by(Person.email)
    if organisations is not None:
        if not organisations:
            return []
        query = query.where(Person.organisation.is_in(sorted(organisations)))
    return [{**{k: v for k, v in r.items() if k != "password_hash"}, "invited": r["password_hash"] is None} for r in await query]


async def make_link(person_id: int, purpose: str, now: dt.datetime) -> str:
    """A single-use link token (shown once); only its hash is kept."""
    clear = secrets.token_urlsafe(32)
    async with write_transaction():
        await PersonLink.insert(
            PersonLink(person=person_id, purpose=purpose, token_hash=digest(clear), created_at=now, expires_at=now + LINK_LIFETIME[purpose])
        )
    return clear


async def use_link(token: str, password: str, now: dt.datetime) -> dict[str, Any]:
    """Set the password through a link, once; the link is claimed by a conditional update."""
    passwords.check_new(password)
    async with write_transaction():
        claimed = await PersonLink.update({PersonLink.used_at: now}).where(
            PersonLink.token_hash == digest(token), PersonLink.used_at.is_null(), PersonLink.expires_at > now
        ).returning(PersonLink.person)
        if not claimed:
            raise BadLink(N_("this link is not valid: it was used already, has expired or was altered"))
        person_id = claimed[0]["person"]
        rows = await Person.update({Person.password_hash: passwords.hash_password(password), Person.changed_at: now}).where(
            Person.id == person_id, Person.active.eq(True)
        ).returning(*PERSON_COLUMNS)
        if not rows:
            raise BadLink(N_("this link is not valid: the account is deactivated"))
        await _end_sessions(person_id, now)
    return rows[0]


async def store_rehash(person_id: int, new_hash: str) -> None:
    """A password hash with current parameters (the password itself did not change)."""
    async with write_transaction():
        await Person.update({Person.password_hash: new_hash}).where(Person.id == person_id)
