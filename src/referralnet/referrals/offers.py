"""Offers: sending, answering, expiring, and moving a cascade on. Each change is one transaction.

Every claim is a conditional ``UPDATE ... WHERE <expected state> ... RETURNING``, so two requests
or two workers never take the same offer, referral or place.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from referralnet import sql
from referralnet.accounts.schemas import Actor
from referralnet.audit import audit, event, record, record_all
from referralnet.db import write_transaction
from referralnet.dialect.lists import in_ids
from referralnet.directory import places
from referralnet.directory.schemas import CapacityUpdate
from referralnet.errors import Conflict, Forbidden, NotFound, one
from referralnet.jsoncol import dumps, load
from referralnet.matching.privacy import screen
from referralnet.notifications.outbox import Notice, notify_all, notify_organisation, reachable
from referralnet.referrals.contacts import announce_placement
from referralnet.referrals.delivery import TASK_STATES, after_send
from referralnet.referrals.lifecycle import LIVE_REFERRAL, OFFER_START, OFFER_TRANSITIONS, move_need, move_offers, move_referral, referral_state
from referralnet.referrals.records import lock_referral, needs_rows, offer_out, offer_row, referral_row
from referralnet.referrals.schemas import DeclineBody, OfferOut
from referralnet.settings import Settings
from referralnet.tables import Offer, Referral, ReferralNeed, Service
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES

# Offer states nothing moves on from (accepted is answered as it is): an accept of one is refused without a write.
FINAL = frozenset(s for s, targets in OFFER_TRANSITIONS.items() if not targets) - {"accepted"}


@dataclass
class Known:
    """What an acceptance read in its transaction already, for :func:`settle`; and the events and messages it will write."""

    referral: dict[str, Any]
    needs: list[dict[str, Any]]
    service_id: int
    events: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[Notice] = field(default_factory=list)


def _payload(referral: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"referral_id": referral["id"], "summary": referral["summary"], "urgency": referral["urgency"], **extra}


_INSERT_OFFERS = (
    "INSERT INTO offer (referral, need, service, organisation, position, status, sent_at, deadline, remind_at, contested, reserved, delivery) "
    "VALUES "
)
_OFFER_VALUES = "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})"
# The asked services' providers with their contacts (the columns notify_all reads).
_OWNERS = "SELECT s.id AS service, g.id, g.referral_email, g.webhook_url FROM service s JOIN organisation g ON g.id = s.organisation"


async def send_offers(
    referral: dict[str, Any], need: dict[str, Any], service_ids: list[int], position: int, now: dt.datetime, settings: Settings, actor: str
) -> list[int]:
    """Create pending offers for one need (positions from ``position`` on), each with its deadline and reminder,
    its event and its notification; the events and the notifications are each one statement. The providers'
    contacts are read with the services: an offer with an e-mail or webhook to go to is inserted ``sent``."""
    if not service_ids:
        return []
    ids, args = in_ids("s.id", service_ids)
    rows = await sql.fetch(f"{_OWNERS} WHERE {ids}", *args)
    owners = {r["service"]: r["id"] for r in rows}
    contacts = {r["id"]: r for r in rows}
    deadline = now + settings.deadline(referral["urgency"])
    remind_at = now + (deadline - now) / 2
    values = [(referral["id"], need["id"], service_id, owners[service_id], position + i, OFFER_START, now, deadline, remind_at, False, False,
               "sent" if reachable(contacts[owners[service_id]]) else None)
              for i, service_id in enumerate(service_ids)]  # fmt: skip
    statement = _INSERT_OFFERS + ", ".join([_OFFER_VALUES] * len(values)) + " RETURNING id, service"
    # A service is asked once per referral (validated): its id names its new offer, whatever order RETURNING gives.
    assert len(set(service_ids)) == len(service_ids)
    made = {r["service"]: r["id"] for r in await sql.fetch(statement, *[v for row in values for v in row])}
    offer_ids = [made[service_id] for service_id in service_ids]
    await record_all([
        event(referral["id"], "offer_sent", actor, now, offer_id=offer_id, to_status="pending", service_id=service_id,
              organisation_id=owners[service_id], deadline=deadline.isoformat(), need_id=need["id"], service_type=need["service_type"])
        for offer_id, service_id in zip(offer_ids, service_ids)
    ])  # fmt: skip
    subject = f"New referral ({referral['urgency']}): please answer by {deadline:%Y-%m-%d %H:%M} UTC"
    notices = [
        Notice(owners[service_id], subject, _payload(referral, offer_id=offer_id, service_id=service_id, deadline=deadline.isoformat()),
               referral["id"], offer_id)  # fmt: skip
        for offer_id, service_id in zip(offer_ids, service_ids)
    ]
    await notify_all([n._replace(kind="offer_new") for n in notices], now=now, contacts=contacts)
    for offer_id, service_id in zip(offer_ids, service_ids):
        if not reachable(contacts[owners[service_id]]):  # a task for the secretariat (after_send)
            await after_send(referral, offer_id, owners[service_id], set(), now, settings)
    return offer_ids


async def send_offer(
    referral: dict[str, Any], need: dict[str, Any], service_id: int, position: int, now: dt.datetime, settings: Settings, actor: str
) -> int:
    """Create a pending offer for one need, with its deadline and reminder, its event and its notification."""
    return (await send_offers(referral, need, [service_id], position, now, settings, actor))[0]


async def advance(referral_id: int, need_id: int | None, now: dt.datetime, settings: Settings, actor: str) -> None:
    """After a decline, expiry or withdrawal: ask the next provider of this need's cascade, or mark the need unplaced."""
    referral = await Referral.select().where(Referral.id == referral_id).first()
    need = await ReferralNeed.select().where(ReferralNeed.id == need_id).first() if need_id is not None else None
    if referral is None or need is None or referral["status"] not in LIVE_REFERRAL or need["status"] != "open":
        return
    if await Offer.exists().where(Offer.need == need_id, Offer.status == OFFER_START):
        return
    queue: list[int] = load(need["queue"], list[int])
    if queue:
        next_id, rest = queue[0], queue[1:]
        claimed = await ReferralNeed.update({ReferralNeed.queue: dumps(rest)}).where(
            ReferralNeed.id == need_id, ReferralNeed.status == "open"
        ).returning(ReferralNeed.id)
        if claimed:
            position = await Offer.count().where(Offer.referral == referral_id)
            await send_offer(referral, need, next_id, position, now, settings, actor)
        return
    if await move_need(need_id, "unplaced"):  # type: ignore[arg-type]
        await record(referral_id, "need_unplaced", actor, now, from_status="open", to_status="unplaced", need_id=need_id,
                     service_type=need["service_type"], reason="every provider asked for this need declined or did not answer in time")  # fmt: skip
        await settle(referral_id, now, settings, actor)


async def settle(
    referral_id: int, now: dt.datetime, settings: Settings, actor: str, *, offer_id: int | None = None, known: Known | None = None
) -> str:
    """Give the referral the state its needs make (placed, partially placed, unplaced, open); returns it.

    ``known``: what the caller read in this transaction already (the referral row, its needs, the offer's service),
    and the list its events go to (written by the caller, in order)."""
    referral = known.referral if known else one(await referral_row(referral_id), f"referral {referral_id}")
    current = referral["status"]
    if current not in ("open", "partially_placed", "unplaced"):
        return current  # type: ignore[no-any-return]
    target = referral_state(known.needs if known else await needs_rows(referral_id))
    if target == current:
        return target
    values: dict[Any, Any] = {Referral.placed_at: now} if target == "placed" else {}
    if not await move_referral(referral_id, target, now, current=current, values=values):
        return current  # type: ignore[no-any-return]
    events: list[tuple[Any, ...]] = []
    messages: list[Notice] = []
    if target == "placed":
        if known:
            service_id = known.service_id
        else:
            service = await sql.first("SELECT service FROM offer WHERE id = {}", offer_id) if offer_id else None
            service_id = service["service"] if service else 0
        events.append(event(referral_id, "referral_placed", actor, now, offer_id=offer_id, from_status=current, to_status="placed",
                            service_id=service_id))  # fmt: skip
    elif target == "unplaced":
        events.append(event(referral_id, "referral_unplaced", actor, now, from_status=current, to_status="unplaced",
                            reason="a required need has no provider left"))  # fmt: skip
        subject = f"Referral {referral_id} could not be placed"
        for address in (settings.secretariat_email, referral["notify_email"]):
            messages.append(Notice(None, subject, _payload(referral), referral_id, None, "referral_unplaced", address or ""))
    else:
        kind = "referral_partially_placed" if target == "partially_placed" else "referral_reopened"
        events.append(event(referral_id, kind, actor, now, offer_id=offer_id, from_status=current, to_status=target))
    if known:
        known.events += events
        known.messages += messages
    else:
        await record_all(events)
        await notify_all(messages, now=now)
    return target


async def _offer_for(offer_id: int, actor: Actor, now: dt.datetime, action: str) -> dict[str, Any]:
    """The offer if it belongs to the actor's organisation; refusals are audited."""
    row = await offer_row(offer_id, accepting=action == "accept")
    if row is None:
        raise NotFound(f"offer {offer_id} not found", field="id")
    if actor.is_staff and action in ("accept", "decline") and row["delivery"] in TASK_STATES:
        # The secretariat records the answer of a provider it called (a task); audited as such.
        await audit(actor, now, object_type="offer", object_id=offer_id, action=f"{action}_on_behalf", outcome="allowed")
        return row  # type: ignore[no-any-return]
    if not (actor.is_staff and action == "contest") and not actor.owns(row["organisation"]):
        await audit(actor, now, object_type="offer", object_id=offer_id, action=action, outcome="denied")
        raise Forbidden("this offer belongs to another organisation")
    return row  # type: ignore[no-any-return]


def _who(actor: Actor, row: dict[str, Any]) -> str:
    """The history's actor: the provider's own, or the secretariat's on the provider's behalf."""
    return actor.label if actor.owns(row["organisation"]) else f"{actor.label} on behalf of {row['organisation.name']}"


async def _expire_if_due(row: dict[str, Any], now: dt.datetime, settings: Settings) -> None:
    if row["status"] == "pending" and now >= row["deadline"]:
        await expire_offer(row["id"], now, settings)
        raise Conflict("the deadline of this offer has passed; it has expired", field="deadline")


async def accept_offer(
    offer_id: int, actor: Actor, now: dt.datetime, settings: Settings, *, arrival_instructions: str | None = None
) -> OfferOut:
    """Accept: reserve a place (conditional decrement), place this need, withdraw only this need's other offers."""
    row = await _offer_for(offer_id, actor, now, "accept")
    if row["status"] == "accepted":
        return offer_out(row)  # idempotent: same answer, no second reservation
    if row["status"] in FINAL:  # what the transaction below would answer, without taking the write lock
        raise Conflict(f"this offer is {row['status']}; it cannot be accepted", field="status")
    await _expire_if_due(row, now, settings)
    live = row["referral.status"] in LIVE_REFERRAL and row["need.status"] == "open"
    if live and places.full(row["service.type"], row["service.capacity_available"]):
        # The transaction below would take the offer and the need, find no place and roll back: its answer, without the write lock.
        raise Conflict(places.FULL, field="capacity")
    who = _who(actor, row)
    async with write_transaction():
        await lock_referral(row["referral"])
        taken = await move_offers(
            "accepted", now, Offer.id == offer_id, Offer.deadline > now,
            values={Offer.responded_by: who, Offer.arrival_instructions: arrival_instructions},
        )  # fmt: skip
        if not taken:
            current = await sql.first("SELECT status FROM offer WHERE id = {}", offer_id)
            raise Conflict(f"this offer is {current['status'] if current else 'gone'}; it cannot be accepted", field="status")
        referral = one(await referral_row(row["referral"]), f"referral {row['referral']}")
        placed = referral["status"] in LIVE_REFERRAL and await move_need(
            row["need"], "placed", values={ReferralNeed.placed_offer: offer_id, ReferralNeed.placed_at: now, ReferralNeed.queue: "[]"}
        )
        if not placed:
            raise Conflict("this need of the referral is no longer open (another provider accepted it, or it was cancelled)", field="status")
        reserved = await places.reserve(row["service"], offer_id, now, who)
        await sql.fetch("UPDATE referral SET placed_offer = {} WHERE id = {} AND placed_offer IS NULL", offer_id, referral["id"])
        # The needs as settle reads them (this one placed just now); events and messages are written together below.
        known = Known(referral, await needs_rows(referral["id"]), row["service"])
        service_type = one(next((n for n in known.needs if n["id"] == row["need"]), None), f"need {row['need']}")["service_type"]
        sent_to = await announce_placement(referral, offer_id, service_type, _payload(referral), now, pending=known.messages)
        known.events.append(event(referral["id"], "offer_accepted", who, now, offer_id=offer_id, from_status="pending", to_status="accepted",
                                  reserved=reserved, need_id=row["need"], service_type=service_type, contact_sent_to=sent_to))  # fmt: skip
        await settle(referral["id"], now, settings, who, offer_id=offer_id, known=known)
        await withdraw_pending(referral, now, who, reason="another provider accepted this need", need_id=row["need"], known=known)
        await record_all(known.events)
        await notify_all(known.messages, now=now)
        return await get_offer(offer_id)  # read before the commit, as the create's answer is


async def withdraw_pending(
    referral: dict[str, Any], now: dt.datetime, who: str, *, reason: str, need_id: int | None = None,
    known: Known | None = None,
) -> None:  # fmt: skip
    """Withdraw the referral's pending offers (only one need's, when ``need_id`` is given) and tell each provider.

    With ``known`` the events and messages are added to it for the caller to write."""
    where = [Offer.referral == referral["id"]] + ([Offer.need == need_id] if need_id is not None else [])
    gone = sorted(await move_offers("withdrawn", now, *where, returning=(Offer.id, Offer.organisation)), key=lambda o: o["id"])
    events = [
        event(referral["id"], "offer_withdrawn", who, now, offer_id=o["id"], from_status="pending", to_status="withdrawn", reason=reason)
        for o in gone
    ]  # fmt: skip
    subject = f"Referral {referral['id']}: offer withdrawn"
    notices = [
        Notice(o["organisation"], subject, _payload(referral, offer_id=o["id"], reason=reason), referral["id"], o["id"], "offer_withdrawn")
        for o in gone
    ]
    if known is not None:
        known.events += events
        known.messages += notices
        return
    await record_all(events)
    await notify_all(notices, now=now)


DEACTIVATED = "the provider's organisation was deactivated in the directory"


async def withdraw_organisation(org_id: int, now: dt.datetime, settings: Settings, who: str) -> int:
    """Withdraw a deactivated organisation's open offers (in the caller's transaction); each referral moves on.

    Returns how many offers were withdrawn. The reason is in each referral's history for the institution.
    """
    pending = await Offer.select(Offer.referral).where(Offer.organisation == org_id, Offer.status == OFFER_START)
    count = 0
    for referral_id in sorted({r["referral"] for r in pending}):
        await lock_referral(referral_id)
        gone = await move_offers("withdrawn", now, Offer.referral == referral_id, Offer.organisation == org_id, returning=(Offer.id, Offer.need))
        for offer in gone:
            await record(referral_id, "offer_withdrawn", who, now, offer_id=offer["id"], from_status="pending",
                         to_status="withdrawn", reason=DEACTIVATED)  # fmt: skip
        count += len(gone)
        for need_id in sorted({o["need"] for o in gone if o["need"] is not None}):
            await advance(referral_id, need_id, now, settings, who)
    return count


async def _no_free_place(service_id: int, offer_id: int, actor: Actor, now: dt.datetime) -> None:
    """A decline for "no free place" tells the directory: free places become 0 through the places owner."""
    service = one(await Service.select(Service.type, Service.capacity_available).where(Service.id == service_id).first(), f"service {service_id}")
    if service["type"] in CAPACITY_BOUND_TYPES and service["capacity_available"] != 0:
        await places.set_figures(service_id, CapacityUpdate(available=0), actor, now, cause="offer_declined", offer_id=offer_id)


async def decline_offer(offer_id: int, body: DeclineBody, actor: Actor, now: dt.datetime, settings: Settings) -> OfferOut:
    row = await _offer_for(offer_id, actor, now, "decline")
    screen(body, "")  # the free text is stored and shown to the secretariat: no identifiers
    if row["status"] == "declined":
        return offer_out(row)
    await _expire_if_due(row, now, settings)
    who = _who(actor, row)
    async with write_transaction():
        await lock_referral(row["referral"])
        taken = await move_offers(
            "declined", now, Offer.id == offer_id,
            values={Offer.responded_by: who, Offer.decline_reason: body.reason, Offer.decline_text: body.text},
        )  # fmt: skip
        if not taken:
            raise Conflict(f"this offer is {row['status']}; it cannot be declined", field="status")
        await record(row["referral"], "offer_declined", who, now, offer_id=offer_id, from_status="pending",
                     to_status="declined", reason=body.text, decline_reason=body.reason)  # fmt: skip
        if body.reason == "no_capacity":
            await _no_free_place(row["service"], offer_id, actor, now)
        await advance(row["referral"], row["need"], now, settings, who)
    return await get_offer(offer_id)


async def expire_offer(offer_id: int, now: dt.datetime, settings: Settings, actor: str = "system:scheduler") -> bool:
    """Expire one offer past its deadline (a claim: only one caller wins) and move its referral on."""
    of = await Offer.select(Offer.referral).where(Offer.id == offer_id).first()
    if of is None:
        return False
    async with write_transaction():
        await lock_referral(of["referral"])
        claimed = await move_offers(
            "expired", now, Offer.id == offer_id, Offer.deadline <= now, returning=(Offer.id, Offer.referral, Offer.organisation, Offer.need)
        )
        if not claimed:
            return False
        offer = claimed[0]
        referral = one(await Referral.select().where(Referral.id == offer["referral"]).first(), f"referral {offer['referral']}")
        await record(offer["referral"], "offer_expired", actor, now, offer_id=offer_id, from_status="pending", to_status="expired")
        await notify_organisation(
            "offer_expired", offer["organisation"], now=now, subject=f"Referral {offer['referral']}: your offer expired",
            payload=_payload(referral, offer_id=offer_id), referral_id=offer["referral"], offer_id=offer_id,
        )  # fmt: skip
        await advance(offer["referral"], offer["need"], now, settings, actor)
    return True


async def contest_decline(offer_id: int, actor: Actor, now: dt.datetime, note: str | None) -> OfferOut:
    """The secretariat marks a decline as contested (it will be followed up with the provider)."""
    await _offer_for(offer_id, actor, now, "contest")
    async with write_transaction():
        done = await Offer.update({Offer.contested: True}).where(
            Offer.id == offer_id, Offer.status == "declined", Offer.contested.eq(False)
        ).returning(Offer.referral)
        if not done:
            current = one(await Offer.select(Offer.status, Offer.contested).where(Offer.id == offer_id).first(), f"offer {offer_id}")
            if current["status"] != "declined":
                raise Conflict("only a declined offer can be contested", field="status")
            return await get_offer(offer_id)
        await record(done[0]["referral"], "decline_contested", actor.label, now, offer_id=offer_id, reason=note)
    return await get_offer(offer_id)


async def get_offer(offer_id: int) -> OfferOut:
    row = await offer_row(offer_id)
    if row is None:
        raise NotFound(f"offer {offer_id} not found", field="id")
    return offer_out(row)
