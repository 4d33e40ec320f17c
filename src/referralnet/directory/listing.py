"""The services list: filters, order and page done by the database, totals kept per directory version."""

from __future__ import annotations

from typing import Any

from referralnet import counters, db, sql
from referralnet.accounts.schemas import Actor
from referralnet.dialect import sqlite
from referralnet.dialect.lists import in_ids
from referralnet.directory.schemas import ServiceList
from referralnet.directory.views import (
    SERVICE_OUT_COLUMNS,
    SERVICE_RAW_COLUMNS,
    SERVICE_WIDTH,
    SITE_COLUMNS,
    SITE_RAW_SELECT,
    services_of_records,
    services_raw,
)
from referralnet.sqlite_pool import PooledSQLiteEngine


def _list_filter(
    actor: Actor,
    *,
    type: str | None,
    county: str | None,
    exploitation_form: str | None,
    has_capacity: bool | None,
    organisation_id: int | None,
    organisation_active: str = "o.active",
) -> tuple[str, list[Any]]:
    """The WHERE clause (Piccolo ``{}`` placeholders) and its arguments of :func:`list_services`;
    ``organisation_active``: how it names the service's organisation's ``active`` (``o`` joined by default)."""
    where: list[str] = []
    args: list[Any] = []
    if actor.bound:  # its networks' members' inactive ones too
        member_sql, member_args = in_ids("s.organisation", sorted(actor.members or ()) or [-1])
        where.append(f"((s.active AND {organisation_active}) OR {member_sql})")
        args += member_args
    elif not actor.is_staff:
        # Active services of active organisations; an NGO sees its own inactive ones too.
        if actor.role == "ngo" and actor.organisation_id is not None:
            where.append(f"((s.active AND {organisation_active}) OR s.organisation = {{}})")
            args.append(actor.organisation_id)
        else:
            where.append(f"(s.active AND {organisation_active})")
    if type:
        where.append("s.type = {}")
        args.append(type)
    if organisation_id is not None:
        where.append("s.organisation = {}")
        args.append(organisation_id)
    if has_capacity is True:
        where.append("s.capacity_available > 0")
    elif has_capacity is False:
        where.append("(s.capacity_available IS NULL OR s.capacity_available = 0)")
    if county:
        # Its area, a site, or national (lookup.ANY).
        where.append("EXISTS (SELECT 1 FROM service_county c WHERE c.service = s.id AND c.county IN ({}, '*'))")
        args.append(county)
    if exploitation_form:
        # Unknown (not stated) forms are kept: the filter excludes only services stated not to take it.
        where.append("EXISTS (SELECT 1 FROM service_form f WHERE f.service = s.id AND f.form IN ({}, '*'))")
        args.append(exploitation_form)
    return " AND ".join(where) or "1 = 1", args


class ListCounts:
    """Totals of the services list per filter and viewer, kept while the ``directory`` counter stays put.

    Counting reads every matching row, so it is what grows with the directory; a page itself stops
    after its own rows. Filters on capacity (which moves without the counter) are always counted.
    """

    def __init__(self, max_entries: int = 2_000) -> None:
        self.max_entries = max_entries
        self._version: int | None = None
        self._totals: dict[tuple[Any, ...], int] = {}

    def get(self, version: int, key: tuple[Any, ...]) -> int | None:
        if version != self._version:
            self._version, self._totals = version, {}
        return self._totals.get(key)

    def put(self, version: int, key: tuple[Any, ...], total: int) -> None:
        if version == self._version:
            if len(self._totals) >= self.max_entries:
                self._totals.clear()
            self._totals[key] = total


# The columns of the page's rows: what service_out reads.
_PAGE_COLUMNS = SERVICE_OUT_COLUMNS
_VERSION_COLUMN = "COALESCE((SELECT value FROM change_counter WHERE name = 'directory'), 0) AS directory_version"


# PostgreSQL: a page's service's sites as one array of (SITE_COLUMNS) records, beside its other columns.
_SITES_ARRAY = (
    f"(SELECT array_agg(({', '.join(f'si.{c}' for c in SITE_COLUMNS)}) ORDER BY si.id) FROM site si WHERE si.service = page.id) AS sites"
)

_JOIN_ORG = "JOIN organisation o ON o.id = s.organisation"
_ORG_ACTIVE = "(SELECT o.active FROM organisation o WHERE o.id = s.organisation)"


def _page_by_county(actor: Actor, county: str, **filters: Any) -> tuple[str, list[Any]]:
    """The page's ids when a county is asked for: read from ``service_county`` in id order.

    One branch per key (the county, and ``*`` for national services), each in service order from
    the (county, service) index and filtered as it goes; their ordered merge stops at the page's
    end, so the database reads about the page rather than every service before it. The filter is
    :func:`_list_filter`'s, the county condition being the branch's key. SQLite only (see the caller).

    The organisation's state is a look-up per row, not a join: for a join SQLite first builds a Bloom
    filter over every organisation, in each branch (0.4 ms at 100k services, ten times the page's ids).
    """
    where, args = _list_filter(actor, county=None, organisation_active=_ORG_ACTIVE, **filters)
    branch = f"SELECT c.service AS id FROM service_county c JOIN service s ON s.id = c.service WHERE c.county = {{}} AND {where}"
    return f"{branch} UNION {branch} ORDER BY 1 LIMIT {{}} OFFSET {{}}", [county, *args, "*", *args]


async def list_services(
    actor: Actor,
    *,
    type: str | None,
    county: str | None,
    exploitation_form: str | None,
    has_capacity: bool | None,
    organisation_id: int | None,
    limit: int,
    offset: int,
    counts: ListCounts | None = None,
) -> ServiceList:
    """Active services of active organisations, filtered; inactive ones too for their managers.

    Filters, order and page are the database's (``service_county`` / ``service_form`` look-ups per
    row, in id order, so a page stops after its own rows; with a county, from that county's rows); the total is counted once per filter
    and directory version when ``counts`` (the app's) is given.
    """
    where, args = _list_filter(
        actor, type=type, county=county, exploitation_form=exploitation_form, has_capacity=has_capacity, organisation_id=organisation_id
    )
    base = f"FROM service s JOIN organisation o ON o.id = s.organisation WHERE {where}"
    # The directory counter comes with the page (one round trip): it says whether a counted total still holds.
    cached_total = counts is not None and has_capacity is None  # capacity moves without the counter
    version_column = f", {_VERSION_COLUMN}" if cached_total else ""
    if sqlite():  # PostgreSQL's planner unions every row of both keys before the page: it keeps the plain form
        filters: dict[str, Any] = dict(type=type, exploitation_form=exploitation_form, has_capacity=has_capacity, organisation_id=organisation_id)
        if county:
            page, page_args = _page_by_county(actor, county, **filters)
        else:  # the page's ids without the organisation's join (see _page_by_county), then its rows
            ids_where, page_args = _list_filter(actor, county=None, organisation_active=_ORG_ACTIVE, **filters)
            page = f"SELECT s.id AS id FROM service s WHERE {ids_where} ORDER BY s.id LIMIT {{}} OFFSET {{}}"
        page = f"SELECT {SERVICE_RAW_COLUMNS}{version_column} FROM ({page}) k JOIN service s ON s.id = k.id {_JOIN_ORG}"
        # The page and its services' sites in one statement (one round trip), as SQLite's own values.
        joined = await _sqlite_tuples(
            f"WITH page AS ({page}) SELECT page.*, {SITE_RAW_SELECT} FROM page LEFT JOIN site si ON si.service = page.id ORDER BY page.id, si.id",
            *page_args, limit, offset,
        )  # fmt: skip
        items = services_raw(joined, actor)
        page_version = joined[0][SERVICE_WIDTH] if joined and cached_total else None
    else:
        # One row per service, its sites aggregated. The first page's bounds are written in the statement, not passed:
        # not knowing the page is small, PostgreSQL plans every run anew (half the backend's time on this page); knowing
        # it, it keeps one plan per connection. A later page passes its offset, so that paging on does not make a
        # prepared statement per offset (asyncpg keeps 100 per connection).
        bounds, bound_args = (f"LIMIT {limit:d}", []) if offset == 0 else (f"LIMIT {limit:d} OFFSET {{}}", [offset])
        page = f"SELECT {_PAGE_COLUMNS}{version_column} {base} ORDER BY s.id {bounds}"
        rows = await sql.records(f"SELECT page.*, {_SITES_ARRAY} FROM ({page}) page ORDER BY page.id", *args, *bound_args)
        items = services_of_records(rows, actor)
        page_version = rows[0][SERVICE_WIDTH] if rows and cached_total else None
    total: int | None = None
    if not items and offset == 0:
        total = 0
    elif len(items) < limit and (items or offset == 0):
        total = offset + len(items)  # the page ends the list
    key = (where, *args)
    version: int | None = None
    if cached_total and total is None:
        version = int(page_version) if page_version is not None else await counters.read(counters.DIRECTORY)
        total = counts.get(version, key)  # type: ignore[union-attr]
    if total is None:
        total = int((await sql.fetch(f"SELECT count(*) AS n {base}", *args, scan=True))[0]["n"])
        if version is not None:
            counts.put(version, key, total)  # type: ignore[union-attr]
    return ServiceList(items=items, total=total)


async def _sqlite_tuples(statement: str, *args: Any) -> list[tuple[Any, ...]]:
    """Rows of a page's statement (a short read) as plain tuples, on the loop's own reader; inside a transaction,
    on its connection."""
    engine = db.current_engine()
    if isinstance(engine, PooledSQLiteEngine) and engine.current_transaction.get() is None:
        return await engine.read(statement.replace("{}", "?"), args, plain=True, inline=True)
    return [tuple(row.values()) for row in await sql.fetch(statement, *args)]

