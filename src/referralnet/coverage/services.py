"""The coverage review's database side: reads and aggregates; the figures are made in the pure modules.

Every read is plain SQL through Piccolo's ``raw`` (``{}`` placeholders, both engines); the activity's
reads are in :mod:`referralnet.coverage.activity_reads`, through this module's helpers.
Long reads report to an optional ``progress(fraction, label)`` callback (the CLI's progress bar).

``organisations`` (a network's members, from ``directory.networks.scope_for``; ``None``: no limit)
limits every figure in SQL: the matrix counts members' services only; the activity counts referrals
offered to a member, and members' offers and capacity; the unmet demand counts unplaced referrals
offered to a member, or offered to nobody (no provider could be asked: a gap in every network's view).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec

from referralnet import jsoncol
from referralnet.coverage import gaps as gaps_mod
from referralnet.coverage.matrix import ServiceRecord, ServiceTable, SiteRecord
from referralnet.dialect import lists
from referralnet.directory.schemas import Eligibility
from referralnet.errors import BadParameter
from referralnet.tables import Referral
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import COUNTY_CODES

Progress = Callable[[float, str], None]
BATCH = 50_000


def _noop(fraction: float, label: str) -> None:
    pass


async def _raw(sql: str, *args: Any) -> list[dict[str, Any]]:
    return await Referral.raw(sql, *args)  # type: ignore[no-any-return]


# ---- filters and period ------------------------------------------------------------------------


def resolve_counties(county: str | None = None, region: str | None = None) -> tuple[str, ...]:
    """The counties a county and/or development region filter selects (default: all 42)."""
    seats = geo.counties()
    chosen = list(COUNTY_CODES)
    if region is not None:
        regions = {geo.fold(c.region): c.region for c in seats.values()}
        wanted = geo.fold(region)
        if wanted not in regions:
            raise BadParameter(f"unknown region; one of: {', '.join(sorted(set(regions.values())))}", field="region")
        chosen = [c for c in chosen if geo.fold(seats[c].region) == wanted]
    if county is not None:
        if county not in chosen:
            raise BadParameter("the county is not in the region", field="county")
        chosen = [county]
    return tuple(chosen)


def resolve_period(now: dt.datetime, start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime, dt.datetime]:
    """``[from, to)``: ``from`` at 00:00 UTC, ``to`` inclusive (00:00 UTC the day after); default the last 365 days."""
    utc = dt.timezone.utc
    try:
        stop = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), utc) if end else now.astimezone(utc)
    except OverflowError:
        raise BadParameter("to is beyond the last date this service can count", field="to") from None
    try:
        begin = dt.datetime.combine(start, dt.time(), utc) if start else stop - dt.timedelta(days=365)
    except OverflowError:
        field = "from" if start else "to"  # without from, the period is the 365 days before to
        raise BadParameter("the period starts before the first date this service can count", field=field) from None
    if begin >= stop:
        raise BadParameter("the period is empty: from must be before to", field="from")
    return begin, stop


def _in(column: str, values: tuple[str, ...] | None) -> tuple[str, list[Any]]:
    if values is None or len(values) == len(COUNTY_CODES):
        return "", []
    return f" AND {column} IN ({', '.join('{}' for _ in values)})", list(values)


def _members(column: str, organisations: frozenset[int] | None) -> tuple[str, list[Any]]:
    """`` AND column IN (members)`` for a network's view; nothing when there is no limit."""
    if organisations is None:
        return "", []
    sql, args = lists.in_ids(column, sorted(organisations))
    return f" AND {sql}", args


def _offered_to(organisations: frozenset[int] | None, *, or_to_nobody: bool = False) -> tuple[str, list[Any]]:
    """`` AND`` the referral (``referral.id``) was offered to a member (or, with ``or_to_nobody``, to no one)."""
    if organisations is None:
        return "", []
    sql, args = lists.in_ids("f.organisation", sorted(organisations))
    member = f"EXISTS (SELECT 1 FROM offer f WHERE f.referral = referral.id AND {sql})"
    if or_to_nobody:
        member = f"({member} OR NOT EXISTS (SELECT 1 FROM offer f WHERE f.referral = referral.id))"
    return f" AND {member}", args


# ---- the directory -----------------------------------------------------------------------------


def _decoded(value: Any, type: Any, cache: dict[Any, Any]) -> Any:
    """A JSON column's value as ``type``, decoded once per distinct text."""
    key = value if isinstance(value, (str, bytes)) else jsoncol.dumps(value)
    found = cache.get(key)
    if found is None:
        found = cache[key] = jsoncol.load(key, type)
    return found


async def load_table(progress: Progress = _noop, organisations: frozenset[int] | None = None) -> ServiceTable:
    """Active services of active organisations (of ``organisations`` only, when given), with their sites."""
    progress(0.0, "reading services")
    member, margs = _members("s.organisation", organisations)
    rows = await _raw(
        "SELECT s.id, s.organisation, s.type, s.eligibility, s.area_national, s.area_counties, "
        "s.capacity_total, s.capacity_available FROM service s JOIN organisation o ON o.id = s.organisation "
        f"WHERE s.active AND o.active{member}", *margs
    )
    progress(0.4, "reading sites")
    site_member, sargs = _members("organisation", organisations)
    site_rows = await _raw(
        "SELECT service, county, locality, lat, lon, confidential FROM site"
        + (f" WHERE service IN (SELECT id FROM service WHERE 1 = 1{site_member})" if organisations is not None else ""),
        *sargs,
    )
    progress(0.6, "building the service table")
    elig_cache: dict[Any, Eligibility] = {}
    area_cache: dict[Any, tuple[str, ...]] = {}
    services = []
    for r in rows:
        services.append(ServiceRecord(
            service_id=r["id"], organisation_id=r["organisation"], service_type=r["type"],
            eligibility=_decoded(r["eligibility"], Eligibility, elig_cache),
            national=bool(r["area_national"]), area_counties=_decoded(r["area_counties"], tuple[str, ...], area_cache),
            capacity_total=r["capacity_total"], capacity_available=r["capacity_available"],
        ))
    sites = []
    for s in site_rows:
        lat, lon = geo.shown_point(s["county"], s["locality"], s["lat"], s["lon"], bool(s["confidential"]))
        sites.append(SiteRecord(service_id=s["service"], county=s["county"], lat=lat, lon=lon))
    table = await asyncio.to_thread(ServiceTable.build, services, sites)
    progress(0.8, "computing reach and eligibility")
    return table


# ---- unplaced demand ---------------------------------------------------------------------------


class _Need(msgspec.Struct):
    service_type: str


class _Profile(msgspec.Struct):
    age_band: str = "unknown"
    gender: str = "other"
    exploitation_forms: tuple[str, ...] = ()
    needs: tuple[_Need, ...] = ()
    languages: tuple[str, ...] = ()



async def unplaced_demand(
    period: tuple[dt.datetime, dt.datetime], counties: tuple[str, ...] | None = None, progress: Progress = _noop,
    organisations: frozenset[int] | None = None,
) -> list[gaps_mod.Demand]:
    """The unplaced needs of referrals created in the period (each need counts, not each referral), reduced to
    what the gaps use: a referral with an unplaced need, and only its unplaced needs. With ``organisations``:
    referrals offered to one of them, or to nobody."""
    where, args = _in("county", counties)
    offered, oargs = _offered_to(organisations, or_to_nobody=True)
    where, args = where + offered, args + oargs
    unplaced_need = "EXISTS (SELECT 1 FROM referral_need n WHERE n.referral = referral.id AND n.status = 'unplaced')"
    base = f"FROM referral WHERE created_at >= {{}} AND created_at < {{}} AND {unplaced_need}{where}"
    total = (await _raw(f"SELECT count(*) AS n {base}", *period, *args))[0]["n"] or 1
    out: list[gaps_mod.Demand] = []
    last = 0
    while True:
        rows = await _raw(f"SELECT id, county, profile {base} AND id > {{}} ORDER BY id LIMIT {BATCH}", *period, *args, last)
        needs: dict[int, list[str]] = {}
        if rows:
            found = await _raw(
                "SELECT referral, service_type FROM referral_need WHERE status = 'unplaced' AND referral >= {} AND referral <= {} "
                "ORDER BY referral, position", rows[0]["id"], rows[-1]["id"],
            )  # fmt: skip
            for n in found:
                needs.setdefault(n["referral"], []).append(n["service_type"])
        for r in rows:
            p = jsoncol.load(r["profile"], _Profile)
            out.append(gaps_mod.Demand(
                county=r["county"], age_band=p.age_band, gender=p.gender, forms=p.exploitation_forms,
                needs=tuple(needs.get(r["id"], ())), languages=p.languages,
            ))
        progress(min(1.0, len(out) / total), "reading unplaced needs")
        if len(rows) < BATCH:
            return out
        last = rows[-1]["id"]
