"""Offers: sending, answering, expiring, and moving a cascade on. Each change is one transaction.

Every claim is a conditional ``UPDATE ... WHERE <expected state> ... RETURNING``, so two requests
or two workers never take the same offer, referral or place.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet import sql
from referralnet.accounts.schemas import Actor
from referralnet.audit import audit, event, record, record_all, record_sql
from referralnet.db import write_transaction
from referralnet.dialect.lists import in_ids
from referralnet.directory import places
from referralnet.directory.schemas import CapacityUpdate
from referralnet.errors import Conflict, Forbidden, NotFound, one
from referralnet.jsoncol import dumps, load
from referralnet.matching.privacy import screen
from referralnet.notifications.outbox import Notice, notify_all, notify_organisation, notify_sql, reachable
from referralnet.referrals.delivery import TASK_STATES, after_send
from referralnet.referrals.lifecycle import (
    LIVE_REFERRAL,
    OFFER_START,
    OFFER_TRANSITIONS,
    move_need,
    move_offers,
)
from referralnet.referrals.records import lock_referral, offer_out, offer_row
from referralnet.referrals.schemas import DeclineBody, OfferOut
from referralnet.referrals.settling import Known, referral_payload, settle
from referralnet.settings import Settings
from referralnet.tables import Offer, Referral, ReferralNeed, Service
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES, need_label

# Offer states nothing moves on from (accepted is answered as it is): an accept of one is refused without a write.
FINAL = frozenset(s for s, targets in OFFER_TRANSITIONS.items() if not targets) - {"accepted"}


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
    values = _offer_values(referral, need, service_ids, position, now, settings, owners, contacts)
    statement = _INSERT_OFFERS + ", ".join([_OFFER_VALUES] * len(values)) + " RETURNING id, service"
    # A service is asked once per referral (validated): its id names its new offer, whatever order RETURNING gives.
    assert len(set(service_ids)) == len(service_ids)
    made = {r["service"]: r["id"] for r in await sql.fetch(statement, *[v for row in values for v in row])}
    offer_ids = [made[service_id] for service_id in service_ids]
    events, notices = _offer_notes(referral, need, service_ids, offer_ids, now, settings, actor, owners)
    await record_all(events)
    await notify_all(notices, now=now, contacts=contacts)
    for offer_id, service_id in zip(offer_ids, service_ids):
        if not reachable(contacts[owners[service_id]]):  # a task for the secretariat (after_send)
            await after_send(referral, offer_id, owners[service_id], set(), now, settings)
    return offer_ids


def _offer_values(
    referral: dict[str, Any], need: dict[str, Any], service_ids: list[int], position: int, now: dt.datetime, settings: Settings,
    owners: dict[int, int], contacts: dict[int, dict[str, Any]],
) -> list[tuple[Any, ...]]:  # fmt: skip
    """The new offers' rows (the columns of ``_INSERT_OFFERS``): pending, with deadline and reminder; ``sent`` if reachable."""
    deadline = now + settings.deadline(referral["urgency"])
    remind_at = now + (deadline - now) / 2
    return [(referral["id"], need["id"], service_id, owners[service_id], position + i, OFFER_START, now, deadline, remind_at, False, False,
             "sent" if reachable(contacts[owners[service_id]]) else None)
            for i, service_id in enumerate(service_ids)]  # fmt: skip


def _offer_notes(
    referral: dict[str, Any], need: dict[str, Any], service_ids: list[int], offer_ids: list[int], now: dt.datetime, settings: Settings,
    actor: str, owners: dict[int, int],
) -> tuple[list[tuple[Any, ...]], list[Notice]]:  # fmt: skip
    """The new offers' ``offer_sent`` events and ``offer_new`` messages."""
    deadline = now + settings.deadline(referral["urgency"])
    events = [
        event(referral["id"], "offer_sent", actor, now, offer_id=offer_id, to_status="pending", service_id=service_id,
              organisation_id=owners[service_id], deadline=deadline.isoformat(), need_id=need["id"], service_type=need["service_type"])
        for offer_id, service_id in zip(offer_ids, service_ids)
    ]  # fmt: skip
    subject = f"New referral ({referral['urgency']}): please answer by {deadline:%Y-%m-%d %H:%M} UTC"
    notices = [
        Notice(owners[service_id], subject, referral_payload(referral, offer_id=offer_id, service_id=service_id, deadline=deadline.isoformat(),
                                                             need=need["service_type"].replace("_", " ")),
               referral["id"], offer_id, "offer_new")  # fmt: skip
        for offer_id, service_id in zip(offer_ids, service_ids)
    ]
    return events, notices


def new_offers_sql(
    referral: dict[str, Any], asks: list[tuple[dict[str, Any], list[int], int]], offer_ids: list[int], now: dt.datetime, settings: Settings,
    actor: str, owners: dict[int, dict[str, Any]], *, events_before: list[tuple[Any, ...]] | None = None,
) -> tuple[list[str], list[Any], list[tuple[int, int]]]:  # fmt: skip
    """PostgreSQL: :func:`send_offers` for several needs (``(need, services, first position)``), the offers' ids taken from
    their sequence already, as CTEs of one statement: ``o`` (the offers, ``RETURNING *``), ``ev`` (``events_before``
    and the offers' events, ``RETURNING *``) and the messages; with their arguments and the (offer, organisation) pairs
    nobody can be told of (for :func:`after_send`). ``owners``: each service's provider (``id``) and contacts."""
    orgs = {s: o["id"] for s, o in owners.items()}
    contacts = {o["id"]: o for o in owners.values()}
    ids = iter(offer_ids)
    values, events, notices, unreachable = [], list(events_before or []), [], []
    for need, service_ids, position in asks:
        mine = [next(ids) for _ in service_ids]
        rows = _offer_values(referral, need, service_ids, position, now, settings, orgs, contacts)
        values += [(offer_id, *row) for offer_id, row in zip(mine, rows)]
        more_events, more_notices = _offer_notes(referral, need, service_ids, mine, now, settings, actor, orgs)
        events += more_events
        notices += more_notices
        unreachable += [(offer_id, orgs[s]) for offer_id, s in zip(mine, service_ids) if not reachable(contacts[orgs[s]])]
    offers = _INSERT_OFFERS.replace("(referral,", "(id, referral,") + ", ".join([f"({{}}, {_OFFER_VALUES[1:]}"] * len(values)) + " RETURNING *"
    event_sql, event_args = record_sql(events)
    notice_sql, notice_args, _ = notify_sql(notices, now=now, contacts=contacts)
    ctes = [f"o AS ({offers})", f"ev AS ({event_sql} RETURNING *)", f"q AS ({notice_sql})"]
    return ctes, [v for row in values for v in row] + event_args + notice_args, unreachable


async def send_offer(
    referral: dict[str, Any], need: dict[str, Any], service_id: int, position: int, now: dt.datetime, settings: Settings, actor: str
) -> int:
    """Create a pending offer for one need, with its deadline and reminder, its event and its notification."""
    return (await send_offers(referral, need, [service_id], position, now, settings, actor))[0]


CASCADE = "system:cascade"


async def advance(referral_id: int, need_id: int | None, now: dt.datetime, settings: Settings) -> None:
    """After a decline, expiry or withdrawal: ask the next provider of this need's cascade, or mark the need unplaced.

    What follows is the cascade's own doing, not the provider's who declined: the history names ``system:cascade``."""
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
            await send_offer(referral, need, next_id, position, now, settings, CASCADE)
        return
    if await move_need(need_id, "unplaced"):  # type: ignore[arg-type]
        await record(referral_id, "need_unplaced", CASCADE, now, from_status="open", to_status="unplaced", need_id=need_id,
                     service_type=need["service_type"], reason="every provider asked for this need declined or did not answer in time")  # fmt: skip
        if await settle(referral_id, now, settings, CASCADE) == "arrived" and need["priority"] == "required":
            # The referral no longer moves (the person is at a placed service): the need's own alert says what is missing.
            subject = f"Referral {referral_id}: no provider left for {need_label(need['service_type'])}"
            payload = referral_payload(referral, need=need["service_type"].replace("_", " "))
            await notify_all([Notice(None, subject, payload, referral_id, None, "need_unplaced", address or "")
                              for address in (settings.secretariat_email, referral["notify_email"])], now=now)  # fmt: skip


async def offer_for(offer_id: int, actor: Actor, now: dt.datetime, action: str) -> dict[str, Any]:
    """The offer if it belongs to the actor's organisation; refusals are audited."""
    row = await offer_row(offer_id, accepting=action == "accept")
    if row is None:
        raise NotFound(f"offer {offer_id} not found", field="id")
    if actor.in_scope(row["organisation"]) and action in ("accept", "decline") and row["delivery"] in TASK_STATES:
        # The secretariat records the answer of a provider it called (a task); audited as such.
        await audit(actor, now, object_type="offer", object_id=offer_id, action=f"{action}_on_behalf", outcome="allowed")
        return row  # type: ignore[no-any-return]
    if not (actor.in_scope(row["organisation"]) and action == "contest") and not actor.owns(row["organisation"]):
        await audit(actor, now, object_type="offer", object_id=offer_id, action=action, outcome="denied")
        raise Forbidden("this offer belongs to another organisation")
    return row  # type: ignore[no-any-return]


def responder(actor: Actor, row: dict[str, Any]) -> str:
    """The history's actor: the provider's own, or the secretariat's on the provider's behalf."""
    return actor.label if actor.owns(row["organisation"]) else f"{actor.label} on behalf of {row['organisation.name']}"


async def expire_if_due(row: dict[str, Any], now: dt.datetime, settings: Settings) -> None:
    if row["status"] == "pending" and now >= row["deadline"]:
        await expire_offer(row["id"], now, settings)
        raise Conflict("the deadline of this offer has passed; it has expired", field="deadline")


async def withdraw_pending(
    referral: dict[str, Any], now: dt.datetime, who: str, *, reason: str, need_id: int | None = None,
    known: Known | None = None,
) -> None:  # fmt: skip
    """Withdraw the referral's pending offers (only one need's, when ``need_id`` is given) and tell each provider.

    With ``known`` the events and messages are added to it for the caller to write."""
    where = [Offer.referral == referral["id"]] + ([Offer.need == need_id] if need_id is not None else [])
    gone = sorted(await move_offers("withdrawn", now, *where, returning=(Offer.id, Offer.organisation)), key=lambda o: o["id"])
    events, notices = withdrawn_notes(referral, gone, now, who, reason)
    if known is not None:
        known.events += events
        known.messages += notices
        return
    await record_all(events)
    await notify_all(notices, now=now)


def withdrawn_notes(
    referral: dict[str, Any], gone: list[dict[str, Any]], now: dt.datetime, who: str, reason: str
) -> tuple[list[tuple[Any, ...]], list[Notice]]:
    """The events and the providers' messages of the withdrawn offers ``gone`` (``id``, ``organisation``; in id order)."""
    events = [
        event(referral["id"], "offer_withdrawn", who, now, offer_id=o["id"], from_status="pending", to_status="withdrawn", reason=reason)
        for o in gone
    ]  # fmt: skip
    subject = f"Referral {referral['id']}: offer withdrawn"
    notices = [
        Notice(o["organisation"], subject, referral_payload(referral, offer_id=o["id"], reason=reason), referral["id"], o["id"], "offer_withdrawn")
        for o in gone
    ]
    return events, notices


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
            await advance(referral_id, need_id, now, settings)
    return count


async def _no_free_place(service_id: int, offer_id: int, actor: Actor, now: dt.datetime) -> None:
    """A decline for "no free place" tells the directory: free places become 0 through the places owner."""
    service = one(await Service.select(Service.type, Service.capacity_available).where(Service.id == service_id).first(), f"service {service_id}")
    if service["type"] in CAPACITY_BOUND_TYPES and service["capacity_available"] != 0:
        await places.set_figures(service_id, CapacityUpdate(available=0), actor, now, cause="offer_declined", offer_id=offer_id, want_row=False)


async def decline_offer(offer_id: int, body: DeclineBody, actor: Actor, now: dt.datetime, settings: Settings) -> OfferOut:
    row = await offer_for(offer_id, actor, now, "decline")
    screen(body, "")  # the free text is stored and shown to the secretariat: no identifiers
    if row["status"] == "declined":
        return offer_out(row)
    await expire_if_due(row, now, settings)
    who = responder(actor, row)
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
        await advance(row["referral"], row["need"], now, settings)
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
            payload=referral_payload(referral, offer_id=offer_id), referral_id=offer["referral"], offer_id=offer_id,
        )  # fmt: skip
        await advance(offer["referral"], offer["need"], now, settings)
    return True


async def contest_decline(offer_id: int, actor: Actor, now: dt.datetime, note: str | None) -> OfferOut:
    """The secretariat marks a decline as contested (it will be followed up with the provider)."""
    await offer_for(offer_id, actor, now, "contest")
    screen(note, "note", today=now.date())  # kept in the history as the contest's reason: no identifiers
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
