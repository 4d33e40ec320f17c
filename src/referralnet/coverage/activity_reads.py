"""The coverage review's activity reads: referrals, offers, answer times and capacity freshness for a period.

On PostgreSQL the activity is aggregated in SQL (``GROUP BY``, ``percentile_cont``); on SQLite the
counts are grouped in SQL and the percentiles computed with numpy over durations read in batches.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from referralnet.clock import utc
from referralnet.coverage import activity as activity_mod
from referralnet.coverage import breakdown_reads
from referralnet.coverage.services import BATCH, Progress, _in, _members, _noop, _offered_to, _raw
from referralnet.dialect import durations
from referralnet.vocabulary.codes import COUNTY_CODES

# "Ended unplaced": never placed (``placed_at``: every required need placed, also after the person arrived at one), and
# unplaced, or closed before its required needs were all placed (the person may have reached a service for another).
UNPLACED = "placed_at IS NULL AND status IN ('unplaced', 'closed')"
OUTCOME_SQL = (
    "CASE WHEN placed_at IS NOT NULL THEN 'placed' WHEN status IN ('unplaced', 'closed') THEN 'unplaced' "
    "WHEN status = 'cancelled' THEN 'cancelled' ELSE 'open' END"
)


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
    filtered = counties if counties is not None and len(counties) != len(COUNTY_CODES) else None
    raw.breakdowns = await breakdown_reads.raw_breakdowns(period, counties=filtered, organisations=organisations)
    progress(1.0, "done")
    return raw
