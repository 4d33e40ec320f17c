"""Scheduled sweeps over the database. Deadlines live in the rows, so a restart loses nothing.

Each sweep claims its rows with a conditional update, so two instances running the same sweep
never act twice on one row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from referralnet.accounts.schemas import Actor
from referralnet.audit import audit, record
from referralnet.clock import utc
from referralnet.db import write_transaction
from referralnet.errors import Conflict, NotFound, one
from referralnet.notifications.outbox import notify_organisation
from referralnet.referrals.delivery import escalate_failed
from referralnet.referrals.offers import expire_offer
from referralnet.settings import Settings
from referralnet.tables import Offer, Referral, Service
from referralnet.vocabulary.codes import SERVICE_TYPES


class SweepReport(msgspec.Struct, kw_only=True):
    expired: int = 0
    reminded: int = 0
    capacity_reminders: int = 0
    escalated: int = 0


async def expire_due(now: dt.datetime, settings: Settings, *, batch: int = 200) -> int:
    """Expire pending offers past their deadline; each expiry moves its referral on."""
    due = await Offer.select(Offer.id).where(Offer.status == "pending", Offer.deadline <= now).order_by(Offer.deadline).limit(batch)
    count = 0
    for row in due:
        if await expire_offer(row["id"], now, settings):
            count += 1
    return count


async def remind_due(now: dt.datetime, *, batch: int = 200) -> int:
    """Remind providers at half of an offer's time; one reminder per offer."""
    count = 0
    due = await Offer.select(Offer.id).where(
        Offer.status == "pending", Offer.remind_at <= now, Offer.reminded_at.is_null()
    ).limit(batch)
    for row in due:
        async with write_transaction():
            claimed = await Offer.update({Offer.reminded_at: now}).where(
                Offer.id == row["id"], Offer.status == "pending", Offer.reminded_at.is_null()
            ).returning(Offer.id, Offer.referral, Offer.organisation, Offer.deadline)
            if not claimed:
                continue
            offer = claimed[0]
            referral = await Referral.select(Referral.summary, Referral.urgency).where(Referral.id == offer["referral"]).first()
            referral = one(referral, f"referral {offer['referral']}")
            await record(offer["referral"], "offer_reminded", "system:scheduler", now, offer_id=offer["id"])
            await notify_organisation(
                "offer_reminder", offer["organisation"], now=now,
                subject=f"Reminder: referral {offer['referral']} awaits your answer by {offer['deadline']:%Y-%m-%d %H:%M} UTC",
                payload={"referral_id": offer["referral"], "offer_id": offer["id"], "summary": referral["summary"],
                         "urgency": referral["urgency"], "deadline": offer["deadline"].isoformat()},
                referral_id=offer["referral"], offer_id=offer["id"],
            )  # fmt: skip
            count += 1
    return count


def _stale(stale_before: dt.datetime) -> Any:
    return (Service.capacity_updated_at.is_null()) | (Service.capacity_updated_at < stale_before)


async def _capacity_notice(row: dict[str, Any], now: dt.datetime, settings: Settings) -> int:
    """The capacity reminder e-mail (with its one-click capacity link) into the outbox; the rows written."""
    written = await notify_organisation(
        "capacity_stale", row["organisation"], now=now,
        subject=f"Please update the free capacity of {row['name']}",
        payload={"service_id": row["id"], "service": row["name"], "service_type": SERVICE_TYPES[row["type"]][1],
                 "stale_days": settings.capacity_stale_days, "path": f"/api/v1/services/{row['id']}/capacity"},
    )  # fmt: skip
    return len(written)


async def remind_stale_capacity(now: dt.datetime, settings: Settings, *, batch: int = 500) -> int:
    """Remind organisations whose capacity figures are older than the stale period, once per period."""
    stale_before = now - dt.timedelta(days=settings.capacity_stale_days)
    due = await Service.select(Service.id).where(
        Service.active.eq(True),
        Service.capacity_unit.is_not_null(),
        _stale(stale_before),
        (Service.capacity_reminded_at.is_null()) | (Service.capacity_reminded_at < stale_before),
    ).limit(batch)
    count = 0
    for row in due:
        async with write_transaction():
            claimed = await Service.update({Service.capacity_reminded_at: now}).where(
                Service.id == row["id"],
                (Service.capacity_reminded_at.is_null()) | (Service.capacity_reminded_at < stale_before),
            ).returning(Service.id, Service.organisation, Service.name, Service.type)
            if not claimed:
                continue
            await _capacity_notice(claimed[0], now, settings)
            count += 1
    return count


# A reminder the secretariat sends by hand: not again within this gap (a double click sends one).
MANUAL_REMINDER_GAP = dt.timedelta(hours=1)


async def remind_capacity(
    service_id: int, actor: Actor, now: dt.datetime, settings: Settings, *, organisations: frozenset[int] | None = None
) -> dt.datetime:
    """The secretariat reminds one stale service's organisation now; audited. Returns when it was reminded.

    A conditional update claims the reminder, so two clicks (or two secretariat people) send one e-mail;
    ``organisations`` is the secretariat's scope (another network's service is NotFound).
    """
    stale_before = now - dt.timedelta(days=settings.capacity_stale_days)
    row = await Service.select(Service.organisation, Service.capacity_reminded_at).where(Service.id == service_id).first()
    if row is None or (organisations is not None and row["organisation"] not in organisations):
        raise NotFound(f"service {service_id} not found", field="service_id")
    async with write_transaction():
        claimed = await Service.update({Service.capacity_reminded_at: now}).where(
            Service.id == service_id,
            Service.active.eq(True),
            Service.capacity_unit.is_not_null(),
            _stale(stale_before),
            (Service.capacity_reminded_at.is_null()) | (Service.capacity_reminded_at < now - MANUAL_REMINDER_GAP),
        ).returning(Service.id, Service.organisation, Service.name, Service.type)
        if not claimed:
            current = one(await Service.select(Service.capacity_updated_at, Service.capacity_reminded_at).where(
                Service.id == service_id).first(), f"service {service_id}")  # fmt: skip
            updated: dt.datetime | None = utc(current["capacity_updated_at"]) if current["capacity_updated_at"] else None
            if updated is not None and updated >= stale_before:
                raise Conflict("the capacity was confirmed meanwhile; no reminder is needed", field="capacity")
            raise Conflict("a reminder was sent less than an hour ago", field="reminded_at")
        await _capacity_notice(claimed[0], now, settings)
        await audit(actor, now, object_type="service", object_id=service_id, action="capacity_reminder", outcome="sent")
    return now


async def run_referral_sweeps(now: dt.datetime, settings: Settings) -> SweepReport:
    return SweepReport(
        expired=await expire_due(now, settings),
        escalated=await escalate_failed(now, settings),
        reminded=await remind_due(now),
        capacity_reminders=await remind_stale_capacity(now, settings),
    )
