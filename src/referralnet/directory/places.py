"""The one owner of a service's places: every write of the capacity columns is here.

Capacity must be exact for matching (a full shelter is never offered) and does not bump the
``directory`` counter, so matching's cache learns of a change from a row that raises a highest id
(see :data:`referralnet.matching.services.VERSION_SQL`). Each writer below therefore writes, in the
caller's transaction, its history row together with the figures:

- the NGO's update (:func:`set_figures`): a ``capacity_change`` row; a decline for "no free place"
  goes the same way with the decline as its ``cause``;
- a place taken by an accepted offer (:func:`reserve`): a ``capacity_change`` row (cause
  ``offer_accepted``) and the caller's acceptance events, written in the same transaction;
- a place given back (:func:`release`): a ``capacity_change`` row (cause ``place_released``) and a
  ``place_released`` referral event.

The columns are ``capacity_available``, ``capacity_total`` and ``capacity_updated_at``;
``tests/unit/test_source_owners.py`` fails if any other module writes them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from msgspec import UNSET

from referralnet.accounts.schemas import Actor
from referralnet.audit import record
from referralnet.dialect.locks import lock_rows
from referralnet.directory.schemas import CapacityIn, CapacityUpdate
from referralnet.directory.validation import check_capacity
from referralnet.errors import Conflict, Forbidden, NotFound
from referralnet.tables import CapacityChange, Offer, Service
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES


def initial(capacity: CapacityIn | None, now: dt.datetime, *, reported_at: dt.datetime | None = None) -> dict[str, Any]:
    """The capacity columns of a new service (its insert is their first write); ``reported_at``: when an
    imported figure was reported by its source (default ``now``)."""
    return {
        "capacity_total": capacity.total if capacity else None,
        "capacity_available": capacity.available if capacity else None,
        "capacity_updated_at": (reported_at or now) if capacity and capacity.available is not None else None,
    }


def fill_unknown_total(row: dict[str, Any], capacity: CapacityIn | None) -> dict[str, Any]:
    """A seed's total, only where the database does not know one (live figures belong to the NGO)."""
    if capacity is not None and row["capacity_total"] is None and capacity.total is not None:
        return {"capacity_total": capacity.total}
    return {}


async def set_figures(
    service_id: int, update: CapacityUpdate, actor: Actor, now: dt.datetime, *, cause: str | None = None, offer_id: int | None = None,
    expected: int | None = None,
) -> None:
    """The NGO's update (or confirmation) of available and total places, with its history row.

    ``cause``/``offer_id`` name the answer that implied the figure (a decline for "no free place").
    ``expected``: the free places the change was computed from (a page's −1/+1); if another write
    (an accepted offer) changed them since, :class:`Conflict` and nothing is written.
    """
    query = Service.select(
        Service.organisation, Service.capacity_total, Service.capacity_available, Service.capacity_unit
    ).where(Service.id == service_id)
    query = lock_rows(query)
    row: dict[str, Any] | None = await query.first()
    if row is None:
        raise NotFound(f"service {service_id} not found", field="id")
    if not actor.can_manage(row["organisation"]):
        raise Forbidden("an NGO can update only its own organisation's capacity")
    if expected is not None and row["capacity_available"] != expected:
        raise Conflict("the free places changed meanwhile; look at the new figure and try again", field="available")
    total = row["capacity_total"] if update.total is UNSET else update.total
    check_capacity(update.available, total)
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
            actor=actor.label,
            previous_available=row["capacity_available"],
            available=update.available,
            previous_total=row["capacity_total"],
            total=total,
            cause=cause,
            offer=offer_id,
            at=now,
        )
    )


async def _history(service_id: int, offer_id: int, cause: str, who: str, now: dt.datetime, available: int, step: int, total: int | None) -> None:
    await CapacityChange.insert(
        CapacityChange(
            service=service_id, actor=who, previous_available=available - step, available=available,
            previous_total=total, total=total, cause=cause, offer=offer_id, at=now,
        )  # fmt: skip
    )


async def reserve(service_id: int, offer_id: int, now: dt.datetime, who: str) -> bool:
    """Take one place of a capacity-bound service for an accepted offer (a conditional decrement).

    Returns whether a place was reserved (services without a stated figure reserve nothing); raises
    :class:`Conflict` when the service is full. The caller writes the acceptance events in the same
    transaction: they are this change's signal to matching.
    """
    service = await Service.select(Service.type, Service.capacity_available).where(Service.id == service_id).first()
    assert service is not None  # the offer's service: offers refer to it with ON DELETE RESTRICT
    if service["type"] not in CAPACITY_BOUND_TYPES or service["capacity_available"] is None:
        return False
    got = await Service.update({Service.capacity_available: Service.capacity_available - 1}).where(
        Service.id == service_id, Service.capacity_available > 0
    ).returning(Service.capacity_available, Service.capacity_total)
    if not got:
        raise Conflict("no free place is left in this service; update its capacity or decline", field="capacity")
    await Offer.update({Offer.reserved: True}).where(Offer.id == offer_id)
    await _history(service_id, offer_id, "offer_accepted", who, now, got[0]["capacity_available"], -1, got[0]["capacity_total"])
    return True


async def release(referral_id: int, offer_id: int | None, now: dt.datetime, who: str) -> None:
    """Give back the place held by an accepted offer (never above total), with its ``place_released`` event."""
    if offer_id is None:
        return
    released = await Offer.update({Offer.reserved: False}).where(
        Offer.id == offer_id, Offer.reserved.eq(True)
    ).returning(Offer.service)
    if released:
        service_id = released[0]["service"]
        back = await Service.update({Service.capacity_available: Service.capacity_available + 1}).where(
            Service.id == service_id,
            Service.capacity_available.is_not_null(),
            (Service.capacity_total.is_null()) | (Service.capacity_available < Service.capacity_total),
        ).returning(Service.capacity_available, Service.capacity_total)
        if back:
            await _history(service_id, offer_id, "place_released", who, now, back[0]["capacity_available"], 1, back[0]["capacity_total"])
        await record(referral_id, "place_released", who, now, offer_id=offer_id, service_id=service_id)
