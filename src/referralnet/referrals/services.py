"""Referrals: per-object reads (audited), cancel, arrival, closing (creation: ``creation.py``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from piccolo.columns.combination import WhereRaw

from referralnet.accounts.schemas import Actor
from referralnet.audit import audit, record
from referralnet.db import write_transaction
from referralnet.directory import places
from referralnet.errors import Conflict, Forbidden, NotFound
from referralnet.matching.privacy import screen
from referralnet.notifications.outbox import Notice, notify_all
from referralnet.referrals.contacts import contacts_for
from referralnet.referrals.lifecycle import (
    ReferralStatus,
    check_referral_transition,
    move_need,
    move_referral,
)
from referralnet.referrals.offers import withdraw_pending
from referralnet.referrals.provider_view import provider_view
from referralnet.referrals.records import in_networks_sql, lock_referral, needs_of, needs_rows, offers_of, referral_out, referral_row, summary_out
from referralnet.referrals.schemas import CancelBody, ReferralList, ReferralOut
from referralnet.referrals.seen import record_seen
from referralnet.referrals.settling import referral_payload
from referralnet.tables import Offer, Referral, ReferralNeed


def _own_institution(actor: Actor, row: dict[str, Any]) -> bool:
    """The referral belongs to the actor's institution (any of its tokens); history still names the token."""
    return actor.role == "institution" and actor.organisation_id is not None and row["institution"] == actor.organisation_id


async def _may_read(actor: Actor, row: dict[str, Any]) -> bool:
    if actor.bound:
        return await Referral.exists().where(Referral.id == row["id"], _bound_view(actor))  # type: ignore[no-any-return]
    if actor.is_staff:
        return True
    if actor.role == "institution":
        return _own_institution(actor, row)
    if actor.role == "ngo" and actor.organisation_id is not None:
        return await Offer.exists().where(Offer.referral == row["id"], Offer.organisation == actor.organisation_id)  # type: ignore[no-any-return]
    return False


async def _readable_row(referral_id: int, actor: Actor, now: dt.datetime, action: str) -> dict[str, Any]:
    """The referral if the actor may see it; otherwise 404 (its existence is not disclosed). Audited."""
    row = await referral_row(referral_id)
    if row is None or not await _may_read(actor, row):
        await audit(actor, now, object_type="referral", object_id=referral_id, action=action, outcome="denied")
        raise NotFound(f"referral {referral_id} not found", field="id")
    await audit(actor, now, object_type="referral", object_id=referral_id, action=action, outcome="allowed")
    return row


async def get_referral(referral_id: int, actor: Actor, now: dt.datetime) -> ReferralOut:
    row = await _readable_row(referral_id, actor, now, "read")
    if actor.role == "ngo" and actor.organisation_id is not None:
        mine = await Offer.select(Offer.id).where(Offer.referral == referral_id, Offer.organisation == actor.organisation_id)
        await record_seen([r["id"] for r in mine], actor.organisation_id, now)
    officer, providers = await contacts_for(row, actor, _own_institution(actor, row), now)
    view = _as_seen(await referral_out(row), actor)
    return msgspec.structs.replace(view, officer_contact=officer, provider_contacts=providers)


def _as_seen(view: ReferralOut, actor: Actor) -> ReferralOut:
    """The referral as the actor may read it: a provider sees its own offers only (``provider_view``)."""
    if actor.role == "ngo" and actor.organisation_id is not None:
        return provider_view(view, actor.organisation_id)
    return view


def _bound_view(actor: Actor) -> WhereRaw:
    """The referrals a bound secretariat sees (``records.in_networks_sql``)."""
    condition, args = in_networks_sql("referral.id", actor.members)
    return WhereRaw(condition, *args)


async def list_referrals(
    actor: Actor, now: dt.datetime, *, status: str | None, limit: int, offset: int, pending_only: bool = False
) -> ReferralList:
    """A page of the referrals the actor may see, newest first, with the total: filtered and paged by the database.

    ``pending_only``: for an NGO, only referrals where one of its offers waits for an answer (its inbox)."""
    where: list[Any] = []
    if status:
        where.append(Referral.status == status)
    if actor.role == "institution":
        where.append(Referral.institution == actor.organisation_id)
    elif actor.role == "ngo":
        waiting = " AND o.status = 'pending'" if pending_only else ""
        where.append(WhereRaw(f"referral.id IN (SELECT o.referral FROM offer o WHERE o.organisation = {{}}{waiting})", actor.organisation_id))
    if actor.bound:
        where.append(_bound_view(actor))
    total = await Referral.count().where(*where)
    page = await Referral.select().where(*where).order_by(Referral.id, ascending=False).limit(limit).offset(offset)
    offers = await offers_of([r["id"] for r in page])
    needs = await needs_of([r["id"] for r in page])
    if actor.role == "ngo":
        offers = {k: [o for o in v if o.organisation_id == actor.organisation_id] for k, v in offers.items()}
    await audit(actor, now, object_type="referral", object_id=None, action="list", outcome="allowed")
    return ReferralList(items=[summary_out(r, offers.get(r["id"], []), needs.get(r["id"], [])) for r in page], total=total)


async def _transition(
    referral_id: int, actor: Actor, now: dt.datetime, target: ReferralStatus, *, allowed: set[str] | frozenset[str], values: dict[Any, Any]
) -> dict[str, Any]:
    await lock_referral(referral_id)  # so the state read here is the one the update below changes
    row = await referral_row(referral_id)
    if row is None:
        raise NotFound(f"referral {referral_id} not found", field="id")
    check_referral_transition(row["status"], target)
    if row["status"] not in allowed:
        raise Conflict(f"a referral that is {row['status']} cannot become {target} this way", field="status")
    if not await move_referral(referral_id, target, now, current=row["status"], values=values):
        raise Conflict("the referral changed meanwhile; reload it", field="status")
    return row


async def cancel_referral(referral_id: int, body: CancelBody, actor: Actor, clock: Any) -> ReferralOut:
    now = clock.now()
    row = await _readable_row(referral_id, actor, now, "cancel")
    if not (actor.is_staff or _own_institution(actor, row)):
        raise Forbidden("only the referring institution or the secretariat can cancel a referral")
    screen(body, "", today=now.date())  # the reason is kept in the history, which both sides read: no identifiers
    who = actor.label
    async with write_transaction():
        before = await _transition(
            referral_id, actor, now, "cancelled", allowed={"open", "partially_placed", "placed", "unplaced"}, values={Referral.closed_at: now}
        )  # fmt: skip
        await record(referral_id, "referral_cancelled", who, now, from_status=before["status"], to_status="cancelled", reason=body.reason)
        await withdraw_pending(before, now, who, reason="the referral was cancelled")
        for need in await needs_rows(referral_id):
            if need["status"] != "placed":
                await move_need(need["id"], "cancelled", values={ReferralNeed.queue: "[]"})
        await _release_places(referral_id, now, who)
        await tell_placements(before, actor, now, f"Referral {referral_id} was cancelled: the place is free again")
    return _as_seen(await referral_out(await referral_row(referral_id)), actor)  # type: ignore[arg-type]


async def _release_places(referral_id: int, now: dt.datetime, who: str, *, keep: set[int] | frozenset[int] = frozenset()) -> None:
    """Give back the places the referral's accepted offers hold (one per placed need), but those of the offers in ``keep``."""
    held = await Offer.select(Offer.id).where(Offer.referral == referral_id, Offer.reserved.eq(True)).order_by(Offer.id)
    for offer in held:
        if offer["id"] not in keep:
            await places.release(referral_id, offer["id"], now, who)


async def tell_placements(referral: dict[str, Any], actor: Actor, now: dt.datetime, subject: str, **extra: Any) -> None:
    """Tell each accepting provider but the actor's own organisation, and the referring officer when someone else
    ended it, that the referral ended (kind ``referral_ended``)."""
    rows = await Offer.select(Offer.id, Offer.organisation).where(Offer.referral == referral["id"], Offer.status == "accepted").order_by(Offer.id)
    told: set[int] = set()
    notices = []
    if referral["notify_email"] and not _own_institution(actor, referral):
        notices.append(Notice(None, subject, referral_payload(referral, **extra), referral["id"], None, "referral_ended", referral["notify_email"]))
    for r in rows:
        if r["organisation"] in told or actor.owns(r["organisation"]):
            continue
        told.add(r["organisation"])
        notices.append(Notice(r["organisation"], subject, referral_payload(referral, **extra), referral["id"], r["id"], "referral_ended"))
    if notices:
        await notify_all(notices, now=now)
