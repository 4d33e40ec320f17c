"""The secretariat manages people: who may act on whom, an invitation through the outbox, role changes and
deactivation, each audited. The account work itself is :mod:`referralnet.accounts.people`'s."""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet.accounts import people
from referralnet.accounts.schemas import Actor
from referralnet.audit import audit
from referralnet.db import write_transaction
from referralnet.directory.membership import bound_networks
from referralnet.errors import Forbidden, InvalidInput, NotFound
from referralnet.notifications.outbox import notify_address
from referralnet.tables import Person


def roles_for(actor: Actor) -> tuple[str, ...]:
    """The roles ``actor`` may give and manage: an admin any; a secretariat person any but admin."""
    if actor.role == "admin":
        return ("ngo", "institution", "secretariat", "admin")
    if actor.role == "secretariat":
        return ("ngo", "institution", "secretariat")
    return ()


def _check(actor: Actor, role: str, organisation: int | None, organisations: frozenset[int] | None, networks: list[str]) -> None:
    """Refuse a role the actor may not give, an organisation outside its scope, or a wider view than its own.

    A bound secretariat person makes secretariat people bound to some of its own networks only.
    """
    if role not in roles_for(actor):
        raise Forbidden(f"the {actor.role} role may not give the {role} role", field="role")
    if organisations is not None and organisation is not None and organisation not in organisations:
        raise Forbidden("this organisation is not a member of your networks", field="organisation")
    bound = bound_networks(actor)
    if role == "secretariat" and bound and (not networks or not set(networks) <= set(bound)):
        raise Forbidden("bind the secretariat person to some of the networks you review", field="networks")


async def person_in_view(person_id: int, actor: Actor, organisations: frozenset[int] | None) -> dict[str, Any]:
    """The person if the actor may manage them (NotFound outside its scope, Forbidden for an admin it may not touch)."""
    row = await Person.select(*people.PERSON_COLUMNS).where(Person.id == person_id).first()
    if row is None or (organisations is not None and row["organisation"] not in organisations):
        raise NotFound(f"person {person_id} not found", field="person_id")
    if row["role"] not in roles_for(actor):
        raise Forbidden(f"the {actor.role} role may not manage a person of role {row['role']}", field="role")
    return row  # type: ignore[no-any-return]


async def invite(
    actor: Actor, *, email: str, name: str, role: str, organisation: int | None, now: dt.datetime,
    organisations: frozenset[int] | None = None, networks: list[str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Create the person without a password and put the set-password e-mail in the outbox, in one transaction.

    ``networks`` binds a secretariat person. The single-use link is made when the e-mail is written
    (``notifications/email.py``), so no secret is ever stored in the outbox.
    """
    _check(actor, role, organisation, organisations, networks or [])
    async with write_transaction():
        row = await people.create_person(email=email, name=name, role=role, organisation=organisation, password=None, now=now,
                                         networks=networks or None)  # fmt: skip
        await notify_address("person_invite", row["email"], now=now, subject="referralnet: your account", payload={"person_id": row["id"]})
        await audit(actor, now, object_type="person", object_id=row["id"], action="invite", outcome="allowed")
    return row


async def change_role(
    actor: Actor, person_id: int, role: str, organisation: int | None, now: dt.datetime, organisations: frozenset[int] | None = None
) -> dict[str, Any]:
    """Another role or organisation for a person in view; their sessions end at once.

    A bound secretariat person does not make anyone secretariat here (the new one would see every network).
    """
    row = await person_in_view(person_id, actor, organisations)
    _check(actor, role, organisation, organisations, [])
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
