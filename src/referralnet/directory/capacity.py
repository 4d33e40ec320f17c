"""The one-call capacity update (written by :mod:`referralnet.directory.places`) and its history."""

from __future__ import annotations

import contextlib

from referralnet.accounts.schemas import Actor
from referralnet.clock import Clock
from referralnet.db import write_transaction
from referralnet.dialect import sqlite
from referralnet.directory import places
from referralnet.directory.schemas import CapacityChange as CapacityChangeOut
from referralnet.directory.schemas import CapacityHistory, CapacityUpdate, ServiceOut
from referralnet.errors import Forbidden, NotFound
from referralnet.tables import CapacityChange, Service


async def set_capacity(service_id: int, update: CapacityUpdate, actor: Actor, clock: Clock, *, expected: int | None = None) -> ServiceOut:
    """Set available (and optionally total) places; records who changed what, in one transaction.

    ``expected``: the figure a relative change (the NGO page's −1/+1) was computed from; see ``places.set_figures``.
    """
    # On PostgreSQL one statement, which is its own transaction: one round trip and one commit, the answer with it.
    async with write_transaction() if sqlite() else contextlib.nullcontext():
        after = await places.set_figures(service_id, update, actor, clock.now(), expected=expected)
    assert after is not None  # set_figures answers with the row it wrote
    return after()  # built after the commit


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
                cause=r["cause"],
                offer_id=r["offer"],
            )
            for r in rows
        ],
    )
