"""Row-to-Struct views of referrals, offers and their history; the referral row lock.

The reads every referral answer makes are fixed statements (:mod:`referralnet.sql`): Piccolo would
rebuild each on every call, which cost more than the database took to answer them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from referralnet import sql
from referralnet.dialect import sqlite
from referralnet.dialect.lists import in_ids
from referralnet.jsoncol import load
from referralnet.matching.profile import Profile
from referralnet.referrals.delivery import delivered
from referralnet.referrals.schemas import Event, NeedOut, NeedState, OfferOut, ReferralOut, ReferralSummary
from referralnet.tables import Offer

OFFER_COLUMNS: tuple[Any, ...] = (Offer.all_columns(), Offer.service.name, Offer.organisation.name)
# The same row as ``Offer.select(*OFFER_COLUMNS)`` gives, as a fixed statement; add a WHERE.
OFFER_SQL = (
    'SELECT o.*, s.name AS "service.name", g.name AS "organisation.name" FROM offer o '
    "LEFT JOIN service s ON s.id = o.service LEFT JOIN organisation g ON g.id = o.organisation"
)


# An offer as OFFER_SQL gives it, with what an acceptance checks: its referral's and need's states, its service's free places.
ACCEPT_SQL = (
    'SELECT o.*, s.name AS "service.name", g.name AS "organisation.name", r.status AS "referral.status", n.status AS "need.status", '
    's.type AS "service.type", s.capacity_available AS "service.capacity_available" FROM offer o '
    "LEFT JOIN service s ON s.id = o.service LEFT JOIN organisation g ON g.id = o.organisation "
    "LEFT JOIN referral r ON r.id = o.referral LEFT JOIN referral_need n ON n.id = o.need"
)


async def offer_row(offer_id: int, *, accepting: bool = False) -> dict[str, Any] | None:
    """One offer with its service's and organisation's names (the keys of ``OFFER_COLUMNS``); ``accepting``: and
    the keys of ``ACCEPT_SQL`` (one consistent read)."""
    return await sql.first((ACCEPT_SQL if accepting else OFFER_SQL) + " WHERE o.id = {}", offer_id)


# Offer states its provider reached by answering.
ANSWERED = frozenset({"accepted", "declined"})


def offer_out(row: dict[str, Any]) -> OfferOut:
    return OfferOut(
        id=row["id"],
        referral_id=row["referral"],
        service_id=row["service"],
        service_name=row["service.name"],
        organisation_id=row["organisation"],
        organisation_name=row["organisation.name"],
        position=row["position"],
        status=row["status"],
        sent_at=row["sent_at"],
        deadline=row["deadline"],
        reminded_at=row["reminded_at"],
        responded_at=row["responded_at"],
        decline_reason=row["decline_reason"],
        decline_text=row["decline_text"],
        contested=row["contested"],
        reserved=row["reserved"],
        # An answer is a reading too (a provider may accept through the API or a link without reading the referral first).
        seen_at=row["seen_at"] or (row["responded_at"] if row["status"] in ANSWERED else None),
        need_id=row["need"],
        delivery=row["delivery"],
    )


def event_out(row: dict[str, Any]) -> Event:
    body = {
        **load(row["data"]),
        "kind": row["kind"],
        "at": row["at"],
        "actor": row["actor"],
        "offer_id": row["offer"],
        "from_status": row["from_status"],
        "to_status": row["to_status"],
        "reason": row["reason"],
    }
    return msgspec.convert(body, type=Event, from_attributes=False, strict=False)  # type: ignore[no-any-return]


async def offers_of(referral_ids: list[int], *, new: bool = False) -> dict[int, list[OfferOut]]:
    """The referrals' offers; ``new``: referrals created in this transaction, whose messages no dispatcher can have sent."""
    out: dict[int, list[OfferOut]] = {}
    if referral_ids:
        ids, args = in_ids("o.referral", referral_ids)
        rows = await sql.fetch(f"{OFFER_SQL} WHERE {ids} ORDER BY o.id", *args)
        done = set() if new else await delivered([r["id"] for r in rows if r["delivery"] == "sent"])
        for row in rows:
            out.setdefault(row["referral"], []).append(offer_out({**row, "delivery": "delivered"} if row["id"] in done else row))
    return out


async def needs_rows(referral_id: int) -> list[dict[str, Any]]:
    return await sql.fetch("SELECT * FROM referral_need WHERE referral = {} ORDER BY position", referral_id)


def need_out(row: dict[str, Any], offers: list[OfferOut]) -> NeedOut:
    return NeedOut(
        id=row["id"],
        service_type=row["service_type"],
        priority=row["priority"],
        status=row["status"],
        placed_offer_id=row["placed_offer"],
        placed_at=row["placed_at"],
        arrived_at=row.get("arrived_at"),
        queued_service_ids=load(row["queue"]),
        offers=[o for o in offers if o.need_id == row["id"]],
    )


async def referral_out(row: dict[str, Any], *, new: bool = False) -> ReferralOut:
    """The referral with its offers, needs and history (``new``: created in this transaction, see :func:`offers_of`)."""
    offers = (await offers_of([row["id"]], new=new)).get(row["id"], [])
    events = await sql.fetch("SELECT * FROM referral_event WHERE referral = {} ORDER BY id", row["id"])
    return referral_view(row, offers, events, await needs_rows(row["id"]))


def referral_view(row: dict[str, Any], offers: list[OfferOut], events: list[dict[str, Any]], need_rows: list[dict[str, Any]]) -> ReferralOut:
    """The referral as :func:`referral_out` answers it, from its offers, its events (in id order) and its needs' rows (in position order)."""
    needs = [need_out(n, offers) for n in need_rows]
    return ReferralOut(
        **_common(row),
        profile=load(row["profile"], Profile),
        consent_at=row["consent_at"],
        placed_at=row["placed_at"],
        arrived_at=row["arrived_at"],
        closed_at=row["closed_at"],
        outcome=row["outcome"],
        outcome_text=row["outcome_text"],
        placed_offer_id=row["placed_offer"],
        queued_service_ids=[s for n in needs for s in n.queued_service_ids],
        offers=offers,
        history=[event_out(e) for e in events],
        needs=needs,
    )


def in_networks_sql(referral: str, members: frozenset[int] | None) -> tuple[str, list[Any]]:
    """The condition that a referral (``referral``: its id column) is in a bound secretariat's view, and its arguments:
    offered to one of its networks' ``members``, or offered to nobody (no provider could be asked: every network's
    concern, as in the gaps)."""
    nobody = f"NOT EXISTS (SELECT 1 FROM offer o WHERE o.referral = {referral})"
    listed = sorted(members or ())
    if not listed:
        return nobody, []
    placeholders = ", ".join("{}" for _ in listed)
    return f"(EXISTS (SELECT 1 FROM offer o WHERE o.referral = {referral} AND o.organisation IN ({placeholders})) OR {nobody})", listed


def summary_out(row: dict[str, Any], offers: list[OfferOut], needs: list[dict[str, Any]] = ()) -> ReferralSummary:  # type: ignore[assignment]
    states = [NeedState(service_type=n["service_type"], priority=n["priority"], status=n["status"], arrived_at=n["arrived_at"]) for n in needs]
    return ReferralSummary(**_common(row), offers=offers, needs=states)


async def needs_of(referral_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The referrals' needs, each referral's in position order (one read)."""
    out: dict[int, list[dict[str, Any]]] = {}
    if referral_ids:
        ids, args = in_ids("referral", referral_ids)
        for row in await sql.fetch(f"SELECT * FROM referral_need WHERE {ids} ORDER BY referral, position", *args):
            out.setdefault(row["referral"], []).append(row)
    return out


def _common(row: dict[str, Any]) -> dict[str, Any]:
    """The fields a referral's summary and its full view share."""
    keys = ("id", "status", "urgency", "mode", "county", "summary", "created_at", "updated_at")
    return {key: row[key] for key in keys}


async def lock_referral(referral_id: int) -> None:
    """Lock the referral's row before touching it or its offers (in the caller's write transaction).

    On PostgreSQL, transactions that change a referral and its offers then queue on this one row
    instead of locking offer and referral rows in opposite orders and deadlocking (two accepts of
    one referral's offers, or an accept and a cancel). ``NO KEY UPDATE`` is what an ``UPDATE``
    takes anyway, so it does not block inserts of events, offers and notifications that refer to
    the row. SQLite's ``BEGIN IMMEDIATE`` already serialises writers.
    """
    if not sqlite():
        await sql.fetch("SELECT id FROM referral WHERE id = {} FOR NO KEY UPDATE", referral_id)


async def referral_row(referral_id: int) -> dict[str, Any] | None:
    return await sql.first("SELECT * FROM referral WHERE id = {}", referral_id)
