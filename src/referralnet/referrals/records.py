"""Row-to-Struct views of referrals, offers and their history; the referral row lock."""

from __future__ import annotations

from typing import Any

import msgspec
from piccolo.query.mixins import LockStrength

from referralnet.db import current_engine, is_sqlite
from referralnet.jsoncol import load
from referralnet.matching.profile import Profile
from referralnet.referrals.schemas import Event, OfferOut, ReferralOut, ReferralSummary
from referralnet.tables import Offer, Referral, ReferralEvent

OFFER_COLUMNS: tuple[Any, ...] = (Offer.all_columns(), Offer.service.name, Offer.organisation.name)


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
        seen_at=row["seen_at"],
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


async def offers_of(referral_ids: list[int]) -> dict[int, list[OfferOut]]:
    out: dict[int, list[OfferOut]] = {}
    if referral_ids:
        rows = await Offer.select(*OFFER_COLUMNS).where(Offer.referral.is_in(referral_ids)).order_by(Offer.id)
        for row in rows:
            out.setdefault(row["referral"], []).append(offer_out(row))
    return out


async def referral_out(row: dict[str, Any]) -> ReferralOut:
    offers = (await offers_of([row["id"]])).get(row["id"], [])
    events = await ReferralEvent.select().where(ReferralEvent.referral == row["id"]).order_by(ReferralEvent.id)
    return ReferralOut(
        **_common(row),
        profile=msgspec.convert(load(row["profile"]), Profile),
        consent_at=row["consent_at"],
        placed_at=row["placed_at"],
        arrived_at=row["arrived_at"],
        closed_at=row["closed_at"],
        outcome=row["outcome"],
        outcome_text=row["outcome_text"],
        placed_offer_id=row["placed_offer"],
        queued_service_ids=load(row["queue"]),
        offers=offers,
        history=[event_out(e) for e in events],
    )


def summary_out(row: dict[str, Any], offers: list[OfferOut]) -> ReferralSummary:
    return ReferralSummary(**_common(row), offers=offers)


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
    if not is_sqlite(current_engine()):
        await Referral.select(Referral.id).where(Referral.id == referral_id).lock_rows(LockStrength.no_key_update)


async def referral_row(referral_id: int) -> dict[str, Any] | None:
    return await Referral.select().where(Referral.id == referral_id).first()  # type: ignore[no-any-return]
