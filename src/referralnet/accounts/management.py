"""The secretariat manages people: who may act on whom, an invitation through the outbox, role changes and
deactivation, each audited. The account work itself is :mod:`referralnet.accounts.people`'s."""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet.accounts import people
from referralnet.accounts.schemas import Actor
from referralnet.audit import audit
from referralnet.db import write_transaction
from referralnet.errors import Forbidden, InvalidInput, NotFound
from referralnet.notifications.outbox import notify_address
from referralnet.notifications.sealing import seal
from referralnet.tables import Person

INVITE_HOURS = int(people.LINK_LIFETIME["invite"].total_seconds() // 3600)


def roles_for(actor: Actor, organisations: frozenset[int] | None) -> tuple[str, ...]:
    """The roles ``actor`` may give: an admin any; a secretariat never admin, and secretariat only when unbound."""
    if actor.role == "admin":
        return ("ngo", "institution", "secretariat", "admin")
    if actor.role == "secretariat":
        return ("ngo", "institution", "secretariat") if organisations is None else ("ngo", "institution")
    return ()


def _check(actor: Actor, role: str, organisation: int | None, organisations: frozenset[int] | None) -> None:
    """Refuse a role the actor may not give, or an organisation outside its scope."""
    if role not in roles_for(actor, organisations):
        raise Forbidden(f"the {actor.role} role may not give the {role} role", field="role")
    if organisations is not None and organisation is not None and organisation not in organisations:
        raise Forbidden("this organisation is not a member of your networks", field="organisation")


async def person_in_view(person_id: int, actor: Actor, organisations: frozenset[int] | None) -> dict[str, Any]:
    """The person if the actor may manage them (NotFound outside its scope, Forbidden for an admin it may not touch)."""
    row = await Person.select(*people.PERSON_COLUMNS).where(Person.id == person_id).first()
    if row is None or (organisations is not None and row["organisation"] not in organisations):
        raise NotFound(f"person {person_id} not found", field="person_id")
    if row["role"] not in roles_for(actor, organisations):
        raise Forbidden(f"the {actor.role} role may not manage a person of role {row['role']}", field="role")
    return row  # type: ignore[no-any-return]


async def invite(
    actor: Actor, *, email: str, name: str, role: str, organisation: int | None, now: dt.datetime, key: str,
    organisations: frozenset[int] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Create the person without a password and put the set-password e-mail in the outbox, in one transaction.

    The single-use link is sealed with the instance ``key`` in the outbox row (its hash only in ``person_link``).
    """
    _check(actor, role, organisation, organisations)
    async with write_transaction():
        row = await people.create_person(email=email, name=name, role=role, organisation=organisation, password=None, now=now)
        token = await people.make_link(row["id"], "invite", now)
        await notify_address(
            "person_invite", row["email"], now=now, subject="referralnet: your account",
            payload={"person_id": row["id"], "link": seal(key, f"invite:{row['id']}", token), "hours": INVITE_HOURS},
        )  # fmt: skip
        await audit(actor, now, object_type="person", object_id=row["id"], action="invite", outcome="allowed")
    return row


async def change_role(
    actor: Actor, person_id: int, role: str, organisation: int | None, now: dt.datetime, organisations: frozenset[int] | None = None
) -> dict[str, Any]:
    """Another role or organisation for a person in view; their sessions end at once."""
    row = await person_in_view(person_id, actor, organisations)
    _check(actor, role, organisation, organisations)
    async with write_transaction():
        changed = await people.change_role(row["email"], role, organisation, now)
        await audit(actor, now, object_type="person", object_id=person_id, action="change_role", outcome="allowed")
    return changed


async def deactivate(actor: Actor, person_id: int, now: dt.datetime, organisations: frozenset[int] | None = None) -> dict[str, Any]:
    """Deactivate a person in view (never oneself); their sessions end at once."""
    row = await person_in_view(person_id, actor, organisations)
    if row["id"] == actor.person_id:
        raise InvalidInput("you cannot deactivate yourself; ask a colleague", field="person_id")
    async with write_transaction():
        done = await people.deactivate(row["email"], now)
        await audit(actor, now, object_type="person", object_id=person_id, action="deactivate", outcome="allowed")
    return done
