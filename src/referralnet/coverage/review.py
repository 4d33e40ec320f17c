"""The secretariat's review lists that have no API of their own: stale capacity and failed deliveries.

Both take ``organisations`` (a secretariat's networks' members; None = no limit), applied in SQL.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from referralnet.clock import utc
from referralnet.tables import Notification, Service


class StaleService(msgspec.Struct, frozen=True, kw_only=True):
    """A service whose capacity was not confirmed within the stale period, and when it was last reminded."""

    service_id: int
    service_name: str
    service_type: str
    organisation_id: int
    organisation_name: str
    available: int | None
    total: int | None
    updated_at: dt.datetime | None
    reminded_at: dt.datetime | None
    referral_email: str | None


class FailedDelivery(msgspec.Struct, frozen=True, kw_only=True):
    """A notification given up on (status failed) with the reason the last attempt gave."""

    id: int
    kind: str
    channel: str
    recipient: str
    subject: str
    attempts: int
    last_error: str | None
    organisation_id: int | None
    organisation_name: str | None
    referral_id: int | None
    offer_id: int | None
    created_at: dt.datetime


async def stale_services(now: dt.datetime, stale_days: int, organisations: frozenset[int] | None = None) -> list[StaleService]:
    """Active services reporting capacity whose figure is older than ``stale_days`` (or never given), oldest first."""
    if organisations is not None and not organisations:
        return []
    stale_before = now - dt.timedelta(days=stale_days)
    query = Service.select(
        Service.id, Service.name, Service.type, Service.organisation, Service.organisation.name, Service.organisation.referral_email,
        Service.capacity_available, Service.capacity_total, Service.capacity_updated_at, Service.capacity_reminded_at,
    ).where(
        Service.active.eq(True), Service.organisation.active.eq(True), Service.capacity_unit.is_not_null(),  # type: ignore[union-attr]
        (Service.capacity_updated_at.is_null()) | (Service.capacity_updated_at < stale_before),
    )  # fmt: skip
    if organisations is not None:
        query = query.where(Service.organisation.is_in(sorted(organisations)))
    rows = await query.order_by(Service.id)
    out = [
        StaleService(
            service_id=r["id"], service_name=r["name"], service_type=r["type"], organisation_id=r["organisation"],
            organisation_name=r["organisation.name"], available=r["capacity_available"], total=r["capacity_total"],
            updated_at=utc(r["capacity_updated_at"]), reminded_at=utc(r["capacity_reminded_at"]),
            referral_email=r["organisation.referral_email"],
        )  # fmt: skip
        for r in rows
    ]
    never = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
    return sorted(out, key=lambda s: (s.updated_at or never, s.service_id))


async def failed_deliveries(organisations: frozenset[int] | None = None, *, limit: int = 500) -> list[FailedDelivery]:
    """Failed notifications, newest first. A bound secretariat sees its members' only (not those to a person's address)."""
    if organisations is not None and not organisations:
        return []
    query = Notification.select(
        Notification.id, Notification.kind, Notification.channel, Notification.recipient, Notification.subject,
        Notification.attempts, Notification.last_error, Notification.organisation, Notification.organisation.name,
        Notification.referral, Notification.offer, Notification.created_at,
    ).where(Notification.status == "failed")  # fmt: skip
    if organisations is not None:
        query = query.where(Notification.organisation.is_in(sorted(organisations)))
    rows: list[dict[str, Any]] = await query.order_by(Notification.id, ascending=False).limit(limit)
    return [
        FailedDelivery(
            id=r["id"], kind=r["kind"], channel=r["channel"], recipient=r["recipient"], subject=r["subject"],
            attempts=r["attempts"], last_error=r["last_error"], organisation_id=r["organisation"],
            organisation_name=r["organisation.name"], referral_id=r["referral"], offer_id=r["offer"],
            created_at=utc(r["created_at"]),
        )  # fmt: skip
        for r in rows
    ]
