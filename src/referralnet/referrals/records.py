"""Row-to-Struct views of referrals, offers and their history; the referral row lock."""

from __future__ import annotations

from typing import Any

import msgspec
from piccolo.query.mixins import LockStrength

from referralnet.dialect.locks import lock_row
from referralnet.jsoncol import load
from referralnet.matching.profile import Profile
from referralnet.referrals.delivery import delivered
from referralnet.referrals.schemas import Event, NeedOut, OfferOut, ReferralOut, ReferralSummary
from referralnet.tables import Offer, Referral, ReferralEvent, ReferralNeed

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


async def offers_of(referral_ids: list[int]) -> dict[int, list[OfferOut]]:
    out: dict[int, list[OfferOut]] = {}
    if referral_ids:
        rows = await Offer.select(*OFFER_COLUMNS).where(Offer.referral.is_in(referral_ids)).order_by(Offer.id)
        done = await delivered([r["id"] for r in rows if r["delivery"] == "sent"])
        for row in rows:
            out.setdefault(row["referral"], []).append(offer_out({**row, "delivery": "delivered"} if row["id"] in done else row))
    return out


async def needs_rows(referral_id: int) -> list[dict[str, Any]]:
    return await ReferralNeed.select().where(ReferralNeed.referral == referral_id).order_by(ReferralNeed.position)  # type: ignore[no-any-return]


def need_out(row: dict[str, Any], offers: list[OfferOut]) -> NeedOut:
    return NeedOut(
        id=row["id"],
        service_type=row["service_type"],
        priority=row["priority"],
        status=row["status"],
        placed_offer_id=row["placed_offer"],
        placed_at=row["placed_at"],
        queued_service_ids=load(row["queue"]),
        offers=[o for o in offers if o.need_id == row["id"]],
    )


async def referral_out(row: dict[str, Any]) -> ReferralOut:
    offers = (await offers_of([row["id"]])).get(row["id"], [])
    events = await ReferralEvent.select().where(ReferralEvent.referral == row["id"]).order_by(ReferralEvent.id)
    needs = [need_out(n, offers) for n in await needs_rows(row["id"])]
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
        queued_service_ids=[s for n in needs for s in n.queued_service_ids],
        offers=offers,
        history=[event_out(e) for e in events],
        needs=needs,
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
    await lock_row(Referral, Referral.id == referral_id, lock_strength=LockStrength.no_key_update)


async def referral_row(referral_id: int) -> dict[str, Any] | None:
    return await Referral.select().where(Referral.id == referral_id).first()  # type: ignore[no-any-return]
