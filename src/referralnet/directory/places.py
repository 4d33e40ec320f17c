"""The one owner of a service's places: every write of the capacity columns is here.

Capacity must be exact for matching (a full shelter is never offered) and does not bump the
``directory`` counter. Instead every writer below stamps the service's ``capacity_version``, in the
caller's transaction, so matching re-reads just the services stamped since it last looked
(:meth:`referralnet.matching.cache.DirectoryCache.capacity`). On SQLite (one writer at a time) the
stamp is the ``capacity`` counter's new value, bumped in the same transaction (by :func:`set_figures` with
its write, by :func:`reserve` and :func:`release` as the transaction's last statement,
:func:`referralnet.db.at_commit`). On PostgreSQL it is the writing transaction's id (:data:`PG_STAMP`), written
by the statement that changes the figures (:func:`release`: its transaction's last statement):
a shared counter's row lock, held by each writer until its commit, made every capacity write of
every instance commit one after another (its p99 under load was the queue's); matching reads up to the
oldest transaction still running instead (``matching.capacity_reads``). Each writer also writes its
history row together with the figures:

- the NGO's update (:func:`set_figures`): a ``capacity_change`` row; a decline for "no free place"
  goes the same way with the decline as its ``cause``. On PostgreSQL this is one statement (a
  ``WITH ... UPDATE ... INSERT`` that also gives back the service's row), on SQLite a read and three
  writes inside the caller's ``BEGIN IMMEDIATE`` transaction;
- a place taken by an accepted offer (:func:`reserve`): a ``capacity_change`` row (cause
  ``offer_accepted``) and the caller's acceptance events, written in the same transaction;
- a place given back (:func:`release`): a ``capacity_change`` row (cause ``place_released``) and a
  ``place_released`` referral event.

The columns are ``capacity_available``, ``capacity_total``, ``capacity_updated_at`` and
``capacity_version``; ``tests/unit/test_source_owners.py`` fails if any other module writes them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from msgspec import UNSET

from referralnet import sql
from referralnet.accounts.schemas import Actor
from referralnet.audit import record
from referralnet.db import at_commit
from referralnet.dialect import sqlite
from referralnet.dialect.lists import in_ids
from referralnet.directory.schemas import CapacityIn, CapacityUpdate, ServiceOut
from referralnet.directory.validation import check_capacity
from referralnet.directory.views import SERVICE_COLUMNS, SERVICE_SQL, SITE_COLUMNS, service_out, services_of_records, with_sites
from referralnet.errors import Conflict, Forbidden, NotFound
from referralnet.sqlite_types import read_back
from referralnet.tables import Offer, Service
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


# SQLite's next capacity stamp. Without the counter's row (a partial restore, a row deleted by hand) it starts again
# above the highest stamp, never below what matching has read (a restart from 1 would not be re-read).
_BUMP = (
    "INSERT INTO change_counter (name, value) VALUES ('capacity', (SELECT COALESCE(max(capacity_version), 0) + 1 FROM service)) "
    "ON CONFLICT (name) DO UPDATE SET value = change_counter.value + 1 RETURNING value"
)
# PostgreSQL's stamp: the writing transaction's id (xid8: 64 bits, never wraps), which needs no shared row.
PG_STAMP = "pg_current_xact_id()::text::bigint"


async def _stamp(service_ids: list[int]) -> None:
    """Stamp ``service_ids`` so that matching re-reads them: with the ``capacity`` counter's new value on SQLite, with
    the transaction's id on PostgreSQL. Run as the transaction's last statement (:func:`db.at_commit`)."""
    ids, args = in_ids("id", service_ids)
    if sqlite():
        value = (await sql.fetch(_BUMP))[0]["value"]
        await sql.fetch(f"UPDATE service SET capacity_version = {{}} WHERE {ids}", value, *args)
    else:
        await sql.fetch(f"UPDATE service SET capacity_version = {PG_STAMP} WHERE {ids}", *args)


# The head of every capacity_change row's insert (the history row each writer below writes with its figures).
_INTO_HISTORY = "INSERT INTO capacity_change (service, token, actor, previous_available, available, previous_total, total, cause, offer, at)"
# What set_figures reads of the service when no answer is built from it (on PostgreSQL: why nothing was written).
_FIGURES = "SELECT organisation, capacity_available, capacity_total, capacity_unit FROM service WHERE id = {}"
# PostgreSQL: the NGO's update as one statement: lock the row (only if the actor may change it and the
# figure is the one expected), write the figures with the stamp, and the history row.
_SET_FIGURES_PG = """
WITH old AS (
    SELECT id, capacity_available, capacity_total, capacity_unit FROM service WHERE {where} FOR UPDATE
), u AS (
    UPDATE service s SET capacity_available = {{}}::int, capacity_total = {total}, capacity_unit = COALESCE(old.capacity_unit, 'places'),
        capacity_updated_at = {{}}::timestamptz, capacity_version = """ + PG_STAMP + """
    FROM old WHERE s.id = old.id
    RETURNING {returning}old.capacity_available AS previous_available, old.capacity_total AS previous_total
), h AS (
""" + _INTO_HISTORY + """
SELECT id, {{}}::int, {{}}::text, previous_available, {{}}::int, previous_total, capacity_total, {{}}::text, {{}}::int, {{}}::timestamptz FROM u
RETURNING id
)
{answer}
"""
# What the statement answers: the id, or the service's row as the update left it (``SERVICE_OUT_COLUMNS``, its
# organisation's name and its sites, as ``views.services_of_records`` reads them), so that the PUT needs no second read.
# The history row is written either way: PostgreSQL runs a data-modifying CTE to its end whether or not it is read.
_ANSWER_ID = "SELECT id FROM h"
_RETURNING_ROW = "".join(f"s.{c}, " for c in SERVICE_COLUMNS)
_ANSWER_ROW = (
    f"SELECT {', '.join(f'u.{c}' for c in SERVICE_COLUMNS)}, o.name, "
    f"(SELECT array_agg(({', '.join(f'si.{c}' for c in SITE_COLUMNS)}) ORDER BY si.id) FROM site si WHERE si.service = u.id) "
    "FROM u JOIN organisation o ON o.id = u.organisation"
)


async def set_figures(
    service_id: int, update: CapacityUpdate, actor: Actor, now: dt.datetime, *, cause: str | None = None, offer_id: int | None = None,
    expected: int | None = None, want_row: bool = True,
) -> Callable[[], ServiceOut] | None:
    """The NGO's update (or confirmation) of available and total places, with its history row.

    ``cause``/``offer_id`` name the answer that implied the figure (a decline for "no free place").
    ``expected``: the free places the change was computed from (a page's −1/+1); if another write
    (an accepted offer) changed them since, :class:`Conflict` and nothing is written.
    Returns the service's answer as the update left it, as ``actor`` may see it, built when called (after the
    caller's commit: no CPU of it in a writer's turn): on PostgreSQL from the one statement that writes it; on
    SQLite (one writer at a time) from a read (``views.SERVICE_SQL``, with its sites) before the counter, the
    update and the history row, in the caller's transaction. ``want_row=False`` (a caller that drops the row):
    ``None``, and only the columns the update needs are read or returned.
    """
    if update.total is not UNSET:
        check_capacity(update.available, update.total)
    if not sqlite():
        where, args = ["id = {}"], [service_id]
        if actor.bound:  # its networks' members only
            member_sql, member_args = in_ids("organisation", sorted(actor.members or ()) or [-1])
            where.append(member_sql)
            args += member_args
        elif not actor.is_staff:
            where.append("organisation = {}")
            args.append(actor.organisation_id if actor.organisation_id is not None else -1)
        if expected is not None:
            where.append("capacity_available = {}")
            args.append(expected)
        if update.total is UNSET and update.available is not None:
            where.append("(capacity_total IS NULL OR capacity_total >= {})")
            args.append(update.available)
        total_sql, total_args = ("old.capacity_total", []) if update.total is UNSET else ("{}::int", [update.total])
        statement = _SET_FIGURES_PG.format(
            where=" AND ".join(where), total=total_sql,
            returning=_RETURNING_ROW if want_row else "s.id, s.capacity_total, ", answer=_ANSWER_ROW if want_row else _ANSWER_ID,
        )  # fmt: skip
        values = [update.available, *total_args, now, actor.token_id, actor.label, update.available, cause, offer_id, now]
        if written := await sql.records(statement, *args, *values):
            return functools.partial(_first_service, written, actor) if want_row else None
    answer = want_row and sqlite()
    rows = await sql.fetch(SERVICE_SQL if answer else _FIGURES, service_id)
    if not rows:
        raise NotFound(f"service {service_id} not found", field="id")
    row, sites = with_sites(rows)[0] if answer else (rows[0], [])
    if not actor.can_manage(row["organisation"]):
        raise Forbidden("an NGO can update only its own organisation's capacity")
    if expected is not None and row["capacity_available"] != expected:
        raise Conflict("the free places changed meanwhile; look at the new figure and try again", field="available")
    total = row["capacity_total"] if update.total is UNSET else update.total
    check_capacity(update.available, total)
    if not sqlite():  # every condition held when read again: the row changed between the two statements
        raise Conflict("the capacity changed meanwhile; try again", field="available")
    stamp = (await sql.fetch(_BUMP))[0]["value"]
    await sql.fetch(
        "UPDATE service SET capacity_available = {}, capacity_total = {}, capacity_unit = {}, capacity_updated_at = {}, "
        "capacity_version = {} WHERE id = {}",
        # updated_at is left alone: it versions the directory's static data for matching.
        update.available, total, row["capacity_unit"] or "places", now, stamp, service_id,
    )  # fmt: skip
    await sql.fetch(_HISTORY, service_id, actor.token_id, actor.label, row["capacity_available"], update.available, row["capacity_total"],
                    total, cause, offer_id, now)  # fmt: skip
    if not answer:
        return None
    after = {**row, "capacity_available": update.available, "capacity_total": total, "capacity_unit": row["capacity_unit"] or "places",
             "capacity_updated_at": read_back(now)}  # fmt: skip
    return functools.partial(service_out, after, sites, actor)


def _first_service(records: list[Any], actor: Actor) -> ServiceOut:
    return services_of_records(records, actor)[0]


_HISTORY = f"{_INTO_HISTORY} VALUES ({', '.join(['{}'] * 10)})"


async def _history(service_id: int, offer_id: int, cause: str, who: str, now: dt.datetime, available: int, step: int, total: int | None) -> None:
    await sql.fetch(_HISTORY, service_id, None, who, available - step, available, total, total, cause, offer_id, now)


FULL = "no free place is left in this service; update its capacity or decline"


def full(service_type: str | None, available: int | None) -> bool:
    """Whether :func:`reserve` would refuse a place of this service (capacity-bound, no free place)."""
    return service_type in CAPACITY_BOUND_TYPES and available is not None and available <= 0


# A place taken for an accepted offer: only from a capacity-bound service with a free place.
_TAKE = (
    "UPDATE service SET capacity_available = capacity_available - 1 "
    f"WHERE id = {{}} AND capacity_available > 0 AND type IN ({', '.join(repr(t) for t in sorted(CAPACITY_BOUND_TYPES))}) "
    "RETURNING capacity_available, capacity_total"
)


def reserve_ctes(after: str | None = None) -> str:
    """PostgreSQL: :func:`reserve`'s decrement (with the service's stamp) and history row as the CTEs ``t`` and ``h`` of a
    caller's statement, taken only if ``after`` (an SQL condition on the caller's earlier CTEs), when given, holds.
    Arguments: service, service, who, offer, now. An accept's offer mark goes in its last statement (:data:`RESERVED_MARK`)."""
    take = _TAKE.replace(" - 1 ", f" - 1, capacity_version = {PG_STAMP} ")
    take = take if after is None else take.replace(" RETURNING ", f" AND {after} RETURNING ")
    return f"""t AS ({take}), h AS (
    {_INTO_HISTORY}
    SELECT {{}}::int, NULL, {{}}::text, capacity_available + 1, capacity_available, capacity_total, capacity_total,
        'offer_accepted', {{}}::int, {{}}::timestamptz FROM t
)"""


# PostgreSQL: the place, its history row and the offer's mark in one round trip (each only if a place was taken).
# Arguments: service, service, who, offer, now, offer.
_TAKE_PG = f"""
WITH {reserve_ctes()}, o AS (UPDATE offer SET reserved = true WHERE id = {{}} AND EXISTS (SELECT 1 FROM t))
SELECT capacity_available, capacity_total FROM t
"""


# PostgreSQL: after reserve_ctes took a place, the offer's mark as a CTE of the transaction's last statement (the
# accept's earlier statement already changes the offer, and a statement changes a row once). Argument: offer.
RESERVED_MARK = "ro AS (UPDATE offer SET reserved = true WHERE id = {})"


async def reserve(service_id: int, offer_id: int, now: dt.datetime, who: str) -> bool:
    """Take one place of a capacity-bound service for an accepted offer (a conditional decrement).

    Returns whether a place was reserved (services without a stated figure reserve nothing); raises
    :class:`Conflict` when the service is full. The caller writes the acceptance events in the same
    transaction; the service's capacity stamp is this change's signal to matching. Fixed statements: the decrement
    first (on PostgreSQL with the stamp, the offer's mark and the history row; on SQLite the stamp at commit), the
    service read only when it took nothing (to tell "full" from "nothing to count").
    """
    pg = not sqlite()
    got = await (sql.fetch(_TAKE_PG, service_id, service_id, who, offer_id, now, offer_id) if pg else sql.fetch(_TAKE, service_id))
    if not got:
        service = await sql.first("SELECT type, capacity_available FROM service WHERE id = {}", service_id)
        assert service is not None  # the offer's service: offers refer to it with ON DELETE RESTRICT
        if service["type"] not in CAPACITY_BOUND_TYPES or service["capacity_available"] is None:
            return False
        raise Conflict(FULL, field="capacity")
    if not pg:
        await sql.fetch("UPDATE offer SET reserved = {} WHERE id = {}", True, offer_id)
        await _history(service_id, offer_id, "offer_accepted", who, now, got[0]["capacity_available"], -1, got[0]["capacity_total"])
        await at_commit(_stamp, [service_id])
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
            await at_commit(_stamp, [service_id])
        await record(referral_id, "place_released", who, now, offer_id=offer_id, service_id=service_id)
