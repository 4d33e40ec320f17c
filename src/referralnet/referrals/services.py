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
from referralnet.referrals.contacts import contacts_for
from referralnet.referrals.lifecycle import (
    ReferralStatus,
    check_referral_transition,
    move_need,
    move_referral,
)
from referralnet.referrals.offers import withdraw_pending
from referralnet.referrals.provider_view import provider_view
from referralnet.referrals.records import lock_referral, needs_rows, offers_of, referral_out, referral_row, summary_out
from referralnet.referrals.schemas import CancelBody, OutcomeBody, ReferralList, ReferralOut
from referralnet.referrals.seen import record_seen
from referralnet.tables import Offer, Referral, ReferralNeed

# Arrival is recorded, and the parties (not only the secretariat) close the referral, once a need is placed: the
# person goes to the placed service even while another need is still open or has nobody left to ask (a second round
# can still ask for it, after arrival too). An unplaced referral with nothing placed is the secretariat's to close.
ARRIVAL_FROM = frozenset({"placed", "partially_placed", "unplaced"})
CLOSE_BY_PARTIES = frozenset({"placed", "partially_placed", "arrived", "unplaced"})


def somewhere_placed(needs: Any) -> bool:
    """Whether a need of the referral is placed (needs as rows or as the view's Structs)."""
    return any((n["status"] if isinstance(n, dict) else n.status) == "placed" for n in needs)


def may_record_arrival(status: str, needs: Any) -> bool:
    """Whether the arrival can be recorded now: a need is placed and the referral has not arrived or ended."""
    return status in ARRIVAL_FROM and somewhere_placed(needs)


def parties_may_close(status: str, needs: Any) -> bool:
    """Whether the referral's parties (the accepting provider, the institution) may close it now: a need is placed."""
    return status in CLOSE_BY_PARTIES and (status == "arrived" or somewhere_placed(needs))


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
    """The referrals a bound secretariat sees: offered to one of its networks' members, or offered to nobody (no
    provider could be asked: every network's concern, as in the gaps)."""
    members = sorted(actor.members or ())
    nobody = "NOT EXISTS (SELECT 1 FROM offer o WHERE o.referral = referral.id)"
    if not members:
        return WhereRaw(nobody)
    listed = ", ".join("{}" for _ in members)
    return WhereRaw(f"(EXISTS (SELECT 1 FROM offer o WHERE o.referral = referral.id AND o.organisation IN ({listed})) OR {nobody})", *members)


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
    if actor.role == "ngo":
        offers = {k: [o for o in v if o.organisation_id == actor.organisation_id] for k, v in offers.items()}
    await audit(actor, now, object_type="referral", object_id=None, action="list", outcome="allowed")
    return ReferralList(items=[summary_out(r, offers.get(r["id"], [])) for r in page], total=total)


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
    return _as_seen(await referral_out(await referral_row(referral_id)), actor)  # type: ignore[arg-type]


async def _release_places(referral_id: int, now: dt.datetime, who: str) -> None:
    """Give back every place the referral's accepted offers hold (one per placed need)."""
    held = await Offer.select(Offer.id).where(Offer.referral == referral_id, Offer.reserved.eq(True)).order_by(Offer.id)
    for offer in held:
        await places.release(referral_id, offer["id"], now, who)


async def _party_to_placement(row: dict[str, Any], actor: Actor) -> None:
    """The accepting provider, the referring institution (its officer often goes with the person and follows
    the case) or the secretariat may record arrival and the outcome."""
    if actor.is_staff or _own_institution(actor, row):
        return
    accepted = await Offer.select(Offer.organisation).where(Offer.referral == row["id"], Offer.status == "accepted")
    if not any(actor.owns(o["organisation"]) for o in accepted):
        raise Forbidden("only a provider that accepted this referral, the referring institution or the secretariat can record this")


async def record_arrival(referral_id: int, actor: Actor, clock: Any, note: str | None) -> ReferralOut:
    now = clock.now()
    row = await _readable_row(referral_id, actor, now, "arrival")
    await _party_to_placement(row, actor)
    screen(note, "note", today=now.date())  # the note is kept in the history: no identifiers
    if row["status"] in ARRIVAL_FROM and not somewhere_placed(await needs_rows(referral_id)):
        # A placed need stays placed, so this holds in the transaction below too.
        raise Conflict(f"referral {referral_id} has no placed need yet: the person arrives at a service that accepted", field="status")
    async with write_transaction():
        before = await _transition(referral_id, actor, now, "arrived", allowed=ARRIVAL_FROM, values={Referral.arrived_at: now})
        await record(referral_id, "arrival_recorded", actor.label, now, from_status=before["status"], to_status="arrived", reason=note)
    return _as_seen(await referral_out(await referral_row(referral_id)), actor)  # type: ignore[arg-type]


async def close_referral(referral_id: int, body: OutcomeBody, actor: Actor, clock: Any) -> ReferralOut:
    """Record the outcome and close; closing before arrival releases the place."""
    now = clock.now()
    row = await _readable_row(referral_id, actor, now, "close")
    if row["status"] in ("closed", "cancelled"):
        raise Conflict(f"referral {referral_id} is already {row['status']}", field="status")
    if parties_may_close(row["status"], await needs_rows(referral_id)):
        await _party_to_placement(row, actor)
    elif not actor.is_staff:
        raise Forbidden("only the secretariat can close a referral that was not placed")
    screen(body, "", today=now.date())  # the outcome's text is kept in the history: no identifiers
    who = actor.label
    async with write_transaction():
        before = await _transition(
            referral_id, actor, now, "closed", allowed={"placed", "partially_placed", "arrived", "unplaced"},
            values={Referral.closed_at: now, Referral.outcome: body.outcome, Referral.outcome_text: body.text},
        )  # fmt: skip
        await record(
            referral_id, "referral_closed", who, now, from_status=before["status"], to_status="closed", reason=body.text, outcome=body.outcome
        )
        await withdraw_pending(before, now, who, reason="the referral was closed")
        if before["status"] != "arrived":
            await _release_places(referral_id, now, who)
    return _as_seen(await referral_out(await referral_row(referral_id)), actor)  # type: ignore[arg-type]

