"""The one-call capacity update and its history."""

from __future__ import annotations

from typing import Any

from msgspec import UNSET

from referralnet.accounts.schemas import Actor
from referralnet.clock import Clock
from referralnet.db import current_engine, is_sqlite, write_transaction
from referralnet.directory.schemas import CapacityChange as CapacityChangeOut
from referralnet.directory.schemas import CapacityHistory, CapacityUpdate, ServiceOut
from referralnet.directory.services import get_service
from referralnet.directory.validation import check_capacity
from referralnet.errors import Forbidden, NotFound
from referralnet.tables import CapacityChange, Service


async def set_capacity(service_id: int, update: CapacityUpdate, actor: Actor, clock: Clock) -> ServiceOut:
    """Set available (and optionally total) places; records who changed what, in one transaction."""
    async with write_transaction():
        query = Service.select(
            Service.organisation, Service.capacity_total, Service.capacity_available, Service.capacity_unit
        ).where(Service.id == service_id)
        if not is_sqlite(current_engine()):
            query = query.lock_rows()  # SQLite's BEGIN IMMEDIATE already excludes other writers
        row: dict[str, Any] | None = await query.first()
        if row is None:
            raise NotFound(f"service {service_id} not found", field="id")
        if not actor.can_manage(row["organisation"]):
            raise Forbidden("an NGO can update only its own organisation's capacity")
        total = row["capacity_total"] if update.total is UNSET else update.total
        check_capacity(update.available, total)
        now = clock.now()
        await Service.update(
            {
                Service.capacity_available: update.available,
                Service.capacity_total: total,
                Service.capacity_unit: row["capacity_unit"] or "places",
                # updated_at is left alone: it versions the directory's static data for matching.
                Service.capacity_updated_at: now,
            }
        ).where(Service.id == service_id)
        await CapacityChange.insert(
            CapacityChange(
                service=service_id,
                token=actor.token_id,
                actor=f"{actor.role}:{actor.name}",
                previous_available=row["capacity_available"],
                available=update.available,
                previous_total=row["capacity_total"],
                total=total,
                at=now,
            )
        )
    return await get_service(service_id, actor)


async def capacity_history(service_id: int, actor: Actor, *, limit: int, offset: int) -> CapacityHistory:
    row = await Service.select(Service.organisation).where(Service.id == service_id).first()
    if row is None:
        raise NotFound(f"service {service_id} not found", field="id")
    if not actor.can_manage(row["organisation"]):
        raise Forbidden("capacity history is visible to the organisation itself and the secretariat")
    rows = (
        await CapacityChange.select()
        .where(CapacityChange.service == service_id)
        .order_by(CapacityChange.id, ascending=False)
        .limit(limit)
        .offset(offset)
    )
    return CapacityHistory(
        service_id=service_id,
        items=[
            CapacityChangeOut(
                at=r["at"],
                actor=r["actor"],
                previous_available=r["previous_available"],
                available=r["available"],
                previous_total=r["previous_total"],
                total=r["total"],
            )
            for r in rows
        ],
    )
