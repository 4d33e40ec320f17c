"""An NGO's people as its administrator manages them: the list, an invitation (the set-password link,
e-mailed through the outbox) and deactivation. Only the organisation's administrator (``person.org_admin``)
changes anything, and only for people of the same organisation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet.accounts import people
from referralnet.accounts.schemas import Actor
from referralnet.audit import audit
from referralnet.db import write_transaction
from referralnet.errors import Conflict, Forbidden, NotFound
from referralnet.notifications.outbox import notify_address
from referralnet.tables import Organisation, Person, PersonSession
from referralnet.texts import N_

NOT_ADMIN = N_("only your organisation's administrator can invite or deactivate people")
NOT_YOURSELF = N_("you cannot deactivate your own account here; ask the secretariat")
ALREADY = N_("this person is already deactivated")
INVITE_KIND = "person_invite"


async def is_org_admin(actor: Actor) -> bool:
    """The signed-in person is an active administrator of the NGO they act for."""
    if actor.role != "ngo" or actor.person_id is None or actor.organisation_id is None:
        return False
    return await Person.exists().where(  # type: ignore[no-any-return]
        Person.id == actor.person_id, Person.organisation == actor.organisation_id, Person.org_admin.eq(True), Person.active.eq(True)
    )


async def colleagues(actor: Actor) -> list[dict[str, Any]]:
    """The people of the actor's organisation, active first, then by name."""
    if actor.organisation_id is None:
        return []
    rows = await Person.select(*people.PERSON_COLUMNS, Person.password_hash).where(Person.organisation == actor.organisation_id)
    # "invited": no password chosen yet (the link not used); the hash itself never leaves this function.
    listed = [{**{k: v for k, v in r.items() if k != "password_hash"}, "invited": r["password_hash"] is None} for r in rows]
    return sorted(listed, key=lambda r: (not r["active"], r["name"].casefold(), r["id"]))


async def _require_admin(actor: Actor, now: dt.datetime, action: str, object_id: int | None) -> None:
    if not await is_org_admin(actor):
        await audit(actor, now, object_type="person", object_id=object_id, action=action, outcome="denied")
        raise Forbidden(NOT_ADMIN)


async def invite(actor: Actor, *, email: str, name: str, now: dt.datetime) -> dict[str, Any]:
    """A new person of the actor's NGO (role ngo, no password yet) and, in the same transaction, the outbox
    row that e-mails them a single-use set-password link (made when the message is sent, never stored in clear)."""
    await _require_admin(actor, now, "invite", None)
    org = await Organisation.select(Organisation.name).where(Organisation.id == actor.organisation_id).first()
    async with write_transaction():
        row = await people.create_person(email=email, name=name, role="ngo", organisation=actor.organisation_id, password=None, now=now)
        subject = f"referralnet: your account at {org['name'] if org else 'your organisation'}"
        await notify_address(INVITE_KIND, row["email"], now=now, subject=subject, payload={"person_id": row["id"]})
        await audit(actor, now, object_type="person", object_id=row["id"], action="invite", outcome="allowed")
    return row


async def deactivate(actor: Actor, person_id: int, now: dt.datetime) -> dict[str, Any]:
    """Deactivate a colleague of the same organisation; their sessions end at once. Another organisation's
    person is answered as an unknown one."""
    await _require_admin(actor, now, "deactivate", person_id)
    if person_id == actor.person_id:
        raise Conflict(NOT_YOURSELF, field="person")
    if not await Person.exists().where(Person.id == person_id, Person.organisation == actor.organisation_id):
        await audit(actor, now, object_type="person", object_id=person_id, action="deactivate", outcome="denied")
        raise NotFound(f"person {person_id} not found", field="person")
    async with write_transaction():
        rows = await Person.update({Person.active: False, Person.changed_at: now}).where(
            Person.id == person_id, Person.organisation == actor.organisation_id, Person.active.eq(True)
        ).returning(*people.PERSON_COLUMNS)
        if not rows:
            raise Conflict(ALREADY, field="person")
        await PersonSession.update({PersonSession.ended_at: now}).where(PersonSession.person == person_id, PersonSession.ended_at.is_null())
        await audit(actor, now, object_type="person", object_id=person_id, action="deactivate", outcome="allowed")
    return rows[0]  # type: ignore[no-any-return]


async def invite_link(person_id: int, now: dt.datetime) -> str | None:
    """A fresh single-use set-password token for an invited person still without a password (for the e-mail
    being sent); ``None`` once they have one or were deactivated."""
    row = await Person.select(Person.active, Person.password_hash).where(Person.id == person_id).first()
    if row is None or not row["active"] or row["password_hash"] is not None:
        return None
    return await people.make_link(person_id, "invite", now)
