"""The coverage review's database side: reads and aggregates; the figures are made in the pure modules.

Every read is plain SQL through Piccolo's ``raw`` (``{}`` placeholders, both engines). On
PostgreSQL the activity is aggregated in SQL (``GROUP BY``, ``percentile_cont``); on SQLite the
counts are grouped in SQL and the percentiles computed with numpy over durations read in batches.
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
import numpy as np

from referralnet import jsoncol
from referralnet.clock import utc
from referralnet.coverage import activity as activity_mod
from referralnet.coverage import gaps as gaps_mod
from referralnet.coverage.matrix import ServiceRecord, ServiceTable, SiteRecord
from referralnet.dialect import durations, lists
from referralnet.directory.schemas import Eligibility
from referralnet.errors import BadParameter
from referralnet.tables import Referral
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import COUNTY_CODES

Progress = Callable[[float, str], None]
BATCH = 50_000
# "Ended unplaced": never placed, and unplaced (or closed from unplaced; a referral closes only once placed or unplaced).
UNPLACED = "placed_at IS NULL AND status IN ('unplaced', 'closed')"
OUTCOME_SQL = (
    "CASE WHEN placed_at IS NOT NULL THEN 'placed' WHEN status IN ('unplaced', 'closed') THEN 'unplaced' "
    "WHEN status = 'cancelled' THEN 'cancelled' ELSE 'open' END"
)


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


# ---- activity ----------------------------------------------------------------------------------


async def _durations(sql: str, args: list[Any], key: str, progress: Progress, at: float, share: float) -> dict[Any, np.ndarray]:
    """SQLite: ``(key, seconds)`` rows read in id batches, grouped into arrays per key."""
    keys: list[Any] = []
    seconds: list[float] = []
    last = 0
    total = (await _raw(f"SELECT count(*) AS n FROM ({sql}) AS q", *args))[0]["n"] or 1
    while True:
        rows = await _raw(f"{sql} AND id > {{}} ORDER BY id LIMIT {BATCH}", *args, last)
        keys += [r[key] for r in rows]
        seconds += [r["s"] for r in rows]
        progress(at + share * min(1.0, len(keys) / total), "reading durations")
        if len(rows) < BATCH:
            break
        last = rows[-1]["id"]
    out: dict[Any, np.ndarray] = {}
    if keys:
        codes, inverse = np.unique(np.array(keys), return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        s = np.round(np.array(seconds, dtype=np.float64)[order], 3)  # julianday arithmetic: keep milliseconds
        bounds = np.searchsorted(inverse[order], np.arange(len(codes) + 1))
        for i, code in enumerate(codes):
            out[code.item()] = s[bounds[i] : bounds[i + 1]]
    return out


def _stats(row: dict[str, Any]) -> activity_mod.Stats:
    def number(v: Any) -> float | None:
        return None if v is None else float(v)

    return activity_mod.Stats(int(row["n"]), number(row["median"]), number(row["p90"]))


async def raw_activity(
    period: tuple[dt.datetime, dt.datetime],
    now: dt.datetime,
    *,
    counties: tuple[str, ...] | None = None,
    stale_days: int = 7,
    full: bool = True,
    progress: Progress = _noop,
    organisations: frozenset[int] | None = None,
) -> activity_mod.RawActivity:
    """The aggregates of :mod:`referralnet.coverage.activity` for the period; with ``organisations``, the
    referrals offered to one of them and their own offers and capacity only."""
    raw = activity_mod.RawActivity()
    sqlite = not durations.percentiles_in_sql()
    where, cargs = _in("county", counties)
    offered, oargs = _offered_to(organisations)
    where, cargs = where + offered, cargs + oargs
    member, margs = _members("organisation", organisations)
    period_sql = "created_at >= {} AND created_at < {}"
    progress(0.0, "counting referrals")
    for r in await _raw(
        f"SELECT county, urgency, {OUTCOME_SQL} AS outcome, count(*) AS n FROM referral "
        f"WHERE {period_sql}{where} GROUP BY county, urgency, {OUTCOME_SQL}", *period, *cargs
    ):
        raw.referrals[(r["county"], r["urgency"], r["outcome"])] = int(r["n"])
    if not full:
        progress(1.0, "done")
        return raw
    referrer = "COALESCE((SELECT o.institution_type FROM organisation o WHERE o.id = referral.institution), 'staff')"
    for r in await _raw(
        f"SELECT {referrer} AS itype, count(*) AS n FROM referral WHERE {period_sql}{where} GROUP BY 1", *period, *cargs
    ):
        raw.by_referrer[r["itype"]] = int(r["n"])
    progress(0.2, "placement times")
    if sqlite:
        secs = durations.seconds_between("placed_at", "created_at")
        groups = await _durations(
            f"SELECT id, urgency, {secs} AS s FROM referral WHERE {period_sql} AND placed_at IS NOT NULL{where}",
            [*period, *cargs], "urgency", progress, 0.2, 0.3,
        )
        raw.placement = {u: activity_mod.stats_of(v) for u, v in groups.items()}
        raw.placement["all"] = activity_mod.stats_of(np.concatenate(list(groups.values())) if groups else [])
    else:
        secs = durations.seconds_between("placed_at", "created_at")
        for r in await _raw(
            f"SELECT urgency, count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY {secs}) AS median, "
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {secs}) AS p90 FROM referral "
            f"WHERE {period_sql} AND placed_at IS NOT NULL{where} GROUP BY ROLLUP (urgency)", *period, *cargs
        ):
            raw.placement[r["urgency"] or "all"] = _stats(r)
    sent = "sent_at >= {} AND sent_at < {}" + member
    offer_args = (*period, *margs)  # the offers' period, then their members
    progress(0.5, "counting offers")
    for r in await _raw(f"SELECT organisation, status, count(*) AS n FROM offer WHERE {sent} GROUP BY organisation, status", *offer_args):
        raw.offers[(r["organisation"], r["status"])] = int(r["n"])
    progress(0.6, "response times")
    answered = f"{sent} AND status IN ('accepted', 'declined') AND responded_at IS NOT NULL"
    if sqlite:
        secs = durations.seconds_between("responded_at", "sent_at")
        groups = await _durations(f"SELECT id, organisation, {secs} AS s FROM offer WHERE {answered}",
                                  list(offer_args), "organisation", progress, 0.6, 0.25)
        raw.response = {o: activity_mod.stats_of(v) for o, v in groups.items()}
    else:
        secs = durations.seconds_between("responded_at", "sent_at")
        for r in await _raw(
            f"SELECT organisation, count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY {secs}) AS median, "
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {secs}) AS p90 FROM offer WHERE {answered} "
            "GROUP BY organisation", *offer_args
        ):
            raw.response[r["organisation"]] = _stats(r)
    progress(0.85, "decline reasons")
    for r in await _raw(
        f"SELECT organisation, COALESCE(decline_reason, 'unspecified') AS reason, count(*) AS n FROM offer "
        f"WHERE {sent} AND status = 'declined' GROUP BY organisation, COALESCE(decline_reason, 'unspecified')", *offer_args
    ):
        raw.declines[(r["organisation"], r["reason"])] = int(r["n"])
    progress(0.9, "capacity freshness")
    cutoff = now - dt.timedelta(days=stale_days)
    service_member, smargs = _members("s.organisation", organisations)
    for r in await _raw(
        "SELECT s.organisation, count(*) AS n, "
        "sum(CASE WHEN s.capacity_updated_at IS NULL THEN 1 ELSE 0 END) AS never, "
        "sum(CASE WHEN s.capacity_updated_at IS NULL OR s.capacity_updated_at < {} THEN 1 ELSE 0 END) AS stale, "
        "max(s.capacity_updated_at) AS newest, min(s.capacity_updated_at) AS oldest, "
        "sum(CASE WHEN s.capacity_available = 0 THEN 1 ELSE 0 END) AS full_services, "
        "sum(s.capacity_total) AS total, sum(s.capacity_available) AS free "
        "FROM service s JOIN organisation o ON o.id = s.organisation "
        "WHERE s.active AND o.active AND (s.capacity_unit IS NOT NULL OR s.capacity_available IS NOT NULL)"
        f"{service_member} GROUP BY s.organisation", cutoff, *smargs
    ):
        raw.freshness.append(activity_mod.Freshness(
            organisation_id=r["organisation"], services=int(r["n"]), never_updated=int(r["never"]),
            stale=int(r["stale"]), newest=utc(r["newest"]), oldest=utc(r["oldest"]),
            full=int(r["full_services"]), capacity_total=int(r["total"] or 0), capacity_free=int(r["free"] or 0),
        ))
    wanted = {o for o, _ in raw.offers} | {f.organisation_id for f in raw.freshness}
    for r in await _raw("SELECT id, name FROM organisation"):
        if r["id"] in wanted:
            raw.names[r["id"]] = r["name"]
    progress(0.95, "by month, county and institution type")
    from referralnet.coverage import breakdown_reads  # it reads through this module's helpers

    filtered = counties if counties is not None and len(counties) != len(COUNTY_CODES) else None
    raw.breakdowns = await breakdown_reads.raw_breakdowns(period, counties=filtered, organisations=organisations)
    progress(1.0, "done")
    return raw
