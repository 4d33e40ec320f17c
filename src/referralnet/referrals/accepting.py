"""Accepting an offer: reserve a place, place its need, withdraw the need's other offers; one transaction.

On PostgreSQL the claims run as one statement of conditional ``UPDATE ... RETURNING`` steps (:data:`_ACCEPT_PG`),
on SQLite (no ``UPDATE`` inside ``WITH``) one by one; both give the same checks, answers and rows
(``tests/integration/test_referrals_pg_path.py``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet import jsoncol, sql
from referralnet.accounts.schemas import Actor
from referralnet.audit import event, record_all, record_sql
from referralnet.db import write_transaction
from referralnet.dialect import sqlite
from referralnet.directory import places
from referralnet.errors import Conflict, one
from referralnet.notifications.outbox import notify_all, notify_sql
from referralnet.referrals.contacts import announce_placement
from referralnet.referrals.lifecycle import LIVE_REFERRAL, move_need, move_need_sql, move_offers, move_offers_sql, move_referral_sql
from referralnet.referrals.offers import (
    FINAL,
    expire_if_due,
    get_offer,
    offer_for,
    responder,
    withdraw_pending,
    withdrawn_notes,
)
from referralnet.referrals.records import OFFER_SQL, lock_referral, needs_rows, offer_out, referral_row
from referralnet.referrals.schemas import OfferOut
from referralnet.referrals.settling import (
    LATE_PLACED_SQL,
    Known,
    late_placement,
    late_placement_event,
    referral_payload,
    settle,
    settled_notes,
    settled_values,
    settling_target,
)
from referralnet.settings import Settings
from referralnet.tables import Offer, ReferralNeed
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES


async def accept_offer(
    offer_id: int, actor: Actor, now: dt.datetime, settings: Settings, *, arrival_instructions: str | None = None
) -> OfferOut:
    """Accept: reserve a place (conditional decrement), place this need, withdraw only this need's other offers."""
    row = await offer_for(offer_id, actor, now, "accept")
    if row["status"] == "accepted":
        return offer_out(row)  # idempotent: same answer, no second reservation
    if row["status"] in FINAL:  # what the transaction below would answer, without taking the write lock
        raise Conflict(f"this offer is {row['status']}; it cannot be accepted", field="status")
    await expire_if_due(row, now, settings)
    live = row["referral.status"] in LIVE_REFERRAL and row["need.status"] == "open"
    if live and places.full(row["service.type"], row["service.capacity_available"]):
        # The transaction below would take the offer and the need, find no place and roll back: its answer, without the write lock.
        raise Conflict(places.FULL, field="capacity")
    who = responder(actor, row)
    if not sqlite():
        return await _accept_pg(row, who, now, settings, arrival_instructions)
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
        sent_to = await announce_placement(referral, offer_id, service_type, referral_payload(referral), now, pending=known.messages)
        known.events.append(event(referral["id"], "offer_accepted", who, now, offer_id=offer_id, from_status="pending", to_status="accepted",
                                  reserved=reserved, need_id=row["need"], service_type=service_type, contact_sent_to=sent_to))  # fmt: skip
        await settle(referral["id"], now, settings, who, offer_id=offer_id, known=known)
        await withdraw_pending(referral, now, who, reason="another provider accepted this need", need_id=row["need"], known=known)
        await record_all(known.events)
        await notify_all(known.messages, now=now)
        return await get_offer(offer_id)  # read before the commit, as the create's answer is


# accept_offer's claim on PostgreSQL, after the referral's lock: CTEs r (the referral), o (the offer), n (its need, if the
# referral is live), t and h (the place, places.reserve_ctes), p (the referral's placed offer) and w (the need's other
# pending offers), each only if the one before it took its row; then what the rest of the acceptance needs.
_ACCEPT_PG = """WITH r AS (SELECT * FROM referral WHERE id = {{}}), o AS ({took}), n AS ({placed}), {reserve},
p AS (UPDATE referral SET placed_offer = {{}} WHERE id = {{}} AND placed_offer IS NULL AND EXISTS (SELECT 1 FROM n)), w AS ({gone})
SELECT r.*, EXISTS (SELECT 1 FROM o) AS "accept.taken", (SELECT status FROM offer WHERE id = {{}}) AS "accept.offer_status",
    EXISTS (SELECT 1 FROM n) AS "accept.placed", EXISTS (SELECT 1 FROM t) AS "accept.reserved",
    s.type AS "accept.service_type", s.capacity_available AS "accept.available",
    g.name AS "accept.name", g.referral_phone AS "accept.referral_phone", g.phone_24h AS "accept.phone_24h",
    g.referral_email AS "accept.referral_email", g.webhook_url AS "accept.webhook_url",
    (SELECT json_agg(json_build_object('id', id, 'status', status, 'priority', priority, 'service_type', service_type) ORDER BY position)
        FROM referral_need WHERE referral = r.id) AS "accept.needs",
    (SELECT json_agg(json_build_object('id', w.id, 'organisation', w.organisation, 'referral_email', x.referral_email,
        'webhook_url', x.webhook_url) ORDER BY w.id) FROM w JOIN organisation x ON x.id = w.organisation) AS "accept.withdrawn"
FROM r, service s, organisation g WHERE s.id = {{}} AND g.id = {{}}"""


async def _accept_pg(row: dict[str, Any], who: str, now: dt.datetime, settings: Settings, arrival_instructions: str | None) -> OfferOut:
    """:func:`accept_offer`'s transaction on PostgreSQL in four round trips: the referral's lock, one statement for every
    claim (offer, need, place, the need's other offers, :data:`_ACCEPT_PG`), one for the referral's move, the events, the
    messages and the offer's reserved mark that also reads the answer, and the commit. The same checks, answers and rows as the
    other engine's path."""
    offer_id, referral_id, need_id, service_id = row["id"], row["referral"], row["need"], row["service"]
    live = ", ".join(repr(s) for s in sorted(LIVE_REFERRAL))
    took, took_args = move_offers_sql(
        "accepted", now, Offer.id == offer_id, Offer.deadline > now,
        values={Offer.responded_by: who, Offer.arrival_instructions: arrival_instructions},
    )  # fmt: skip
    placed, placed_args = move_need_sql(
        need_id, "placed", values={ReferralNeed.placed_offer: offer_id, ReferralNeed.placed_at: now, ReferralNeed.queue: "[]"},
        extra=f"EXISTS (SELECT 1 FROM o) AND (SELECT status FROM r) IN ({live})",
    )  # fmt: skip
    gone, gone_args = move_offers_sql(
        "withdrawn", now, Offer.referral == referral_id, Offer.need == need_id, Offer.id != offer_id,
        returning=(Offer.id, Offer.organisation), extra="EXISTS (SELECT 1 FROM n)",
    )  # fmt: skip
    statement = _ACCEPT_PG.format(took=took, placed=placed, reserve=places.reserve_ctes("EXISTS (SELECT 1 FROM n)"), gone=gone)
    async with write_transaction():
        await lock_referral(referral_id)
        got = one(await sql.first(
            statement, referral_id, *took_args, *placed_args, service_id, service_id, who, offer_id, now, offer_id, referral_id,
            *gone_args, offer_id, service_id, row["organisation"],
        ), f"referral {referral_id}")  # fmt: skip
        if not got["accept.taken"]:
            raise Conflict(f"this offer is {got['accept.offer_status'] or 'gone'}; it cannot be accepted", field="status")
        if not got["accept.placed"]:
            raise Conflict("this need of the referral is no longer open (another provider accepted it, or it was cancelled)", field="status")
        reserved = bool(got["accept.reserved"])
        if not reserved and got["accept.service_type"] in CAPACITY_BOUND_TYPES and got["accept.available"] is not None:
            raise Conflict(places.FULL, field="capacity")
        referral = {k: v for k, v in got.items() if not k.startswith("accept.")}
        placed_need = {"status": "placed", "placed_offer": offer_id, "placed_at": now, "queue": "[]"}
        needs = [{**n, **placed_need} if n["id"] == need_id else n for n in jsoncol.rows(got["accept.needs"])]
        known = Known(referral, needs, service_id)
        service_type = one(next((n for n in needs if n["id"] == need_id), None), f"need {need_id}")["service_type"]
        provider = {"organisation": row["organisation"], "arrival_instructions": arrival_instructions, "name": got["accept.name"],
                    "referral_phone": got["accept.referral_phone"], "phone_24h": got["accept.phone_24h"],
                    "referral_email": got["accept.referral_email"]}  # fmt: skip
        sent_to = await announce_placement(
            referral, offer_id, service_type, referral_payload(referral), now, pending=known.messages, provider_row=provider
        )
        known.events.append(event(referral_id, "offer_accepted", who, now, offer_id=offer_id, from_status="pending", to_status="accepted",
                                  reserved=reserved, need_id=need_id, service_type=service_type, contact_sent_to=sent_to))  # fmt: skip
        ctes, args = [], []
        current, target = referral["status"], settling_target(referral["status"], needs)
        move = move_referral_sql(referral_id, target, now, current=current, values=settled_values(target, now)) if target else None
        if target is not None and move is not None:
            ctes.append(f"m AS ({move[0]})")
            args += move[1]
            events, messages = settled_notes(referral, current, target, now, settings, who, offer_id, service_id)
            known.events += events
            known.messages += messages
        elif late_placement(referral, needs):
            ctes.append(f"lp AS ({LATE_PLACED_SQL})")
            args += [now, referral_id]
            known.events.append(late_placement_event(referral_id, now, who, offer_id))
        withdrawn = jsoncol.rows(got["accept.withdrawn"])
        events, messages = withdrawn_notes(referral, withdrawn, now, who, "another provider accepted this need")
        known.events += events
        known.messages += messages
        contacts = {w["organisation"]: w for w in withdrawn} | {row["organisation"]: {"referral_email": got["accept.referral_email"],
                                                                                      "webhook_url": got["accept.webhook_url"]}}  # fmt: skip
        for text, values in (record_sql(known.events), notify_sql(known.messages, now=now, contacts=contacts)[:2]):
            if text:
                ctes.append(f"e{len(ctes)} AS ({text})")
                args += values
        if reserved:
            ctes.append(places.RESERVED_MARK)
            args.append(offer_id)
        # The answer as get_offer reads it (this statement's own writes are not in its snapshot: none is to the offer's columns
        # but reserved); no row if the referral's move found its row changed, which its lock rules out.
        last = await sql.first(f"WITH {', '.join(ctes)} {OFFER_SQL} WHERE o.id = {{}}" + (" AND EXISTS (SELECT 1 FROM m)" if move else ""),
                               *args, offer_id)  # fmt: skip
        if last is None:
            raise Conflict("the referral changed meanwhile; try again", field="status")
        return offer_out({**last, "reserved": last["reserved"] or reserved})
