"""The database side of :mod:`referralnet.coverage.breakdowns`, and the network scope of the activity's reads.

A secretariat's view is limited to member organisations (``organisations``, from
:func:`referralnet.directory.networks.scope_for`): an offer is in view when it went to a member,
a referral when it was offered to a member (the rule of :func:`referralnet.coverage.services.raw_activity`).
Counts are grouped in SQL; medians by
``percentile_cont`` on PostgreSQL and by numpy over durations read in batches on SQLite.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from referralnet.coverage import breakdowns, services
from referralnet.dialect import durations
from referralnet.dialect.calendar import month_of
from referralnet.tables import Referral

REFERRER = "COALESCE((SELECT o.institution_type FROM organisation o WHERE o.id = referral.institution), 'staff')"
OFFER_REFERRER = (
    "COALESCE((SELECT o.institution_type FROM referral r JOIN organisation o ON o.id = r.institution "
    "WHERE r.id = offer.referral), 'staff')"
)
OFFER_COUNTY = "(SELECT r.county FROM referral r WHERE r.id = offer.referral)"
OUTCOME_SQL = (
    "CASE WHEN placed_at IS NOT NULL THEN 'placed' WHEN status IN ('unplaced', 'closed') THEN 'unplaced' "
    "WHEN status = 'cancelled' THEN 'cancelled' ELSE 'open' END"
)


async def _raw(sql: str, *args: Any) -> list[dict[str, Any]]:
    return await Referral.raw(sql, *args)  # type: ignore[no-any-return]


def referral_scope(organisations: frozenset[int] | None) -> tuple[str, list[Any]]:
    """`` AND ...`` for ``FROM referral``: offered to a member (the rule of the activity's other tables)."""
    return services._offered_to(organisations)


def offer_scope(organisations: frozenset[int] | None, column: str = "offer.organisation") -> tuple[str, list[Any]]:
    """`` AND ...`` for ``FROM offer``: sent to a member."""
    return services._members(column, organisations)


def _in(column: str, values: tuple[str, ...] | None) -> tuple[str, list[Any]]:
    if values is None:
        return "", []
    return f" AND {column} IN ({', '.join('{}' for _ in values)})", list(values)


async def _medians(sql: str, args: list[Any], secs: str) -> dict[str, breakdowns.Stats]:
    """Key -> (n, median seconds) of ``SELECT id, <key> AS k, <secs> AS s FROM t WHERE ...``."""
    if durations.percentiles_in_sql():
        rows = await _raw(
            f"SELECT k, count(*) AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS median FROM ({sql}) AS q GROUP BY k", *args
        )
        return {r["k"]: breakdowns.Stats(int(r["n"]), None if r["median"] is None else float(r["median"])) for r in rows}
    groups = await services._durations(sql, args, "k", services._noop, 0.0, 0.0)
    return {k: breakdowns.Stats(len(v), float(np.percentile(v, 50))) for k, v in groups.items() if len(v)}


async def raw_breakdowns(
    period: tuple[dt.datetime, dt.datetime], *, counties: tuple[str, ...] | None = None, organisations: frozenset[int] | None = None
) -> breakdowns.RawBreakdowns:
    """The aggregates of the breakdowns by month, county and institution type for the period."""
    raw = breakdowns.RawBreakdowns()
    ref_where, ref_args = _in("county", counties)
    scope_sql, scope_args = referral_scope(organisations)
    ref_filter = f"created_at >= {{}} AND created_at < {{}}{ref_where}{scope_sql}"
    ref_params = [*period, *ref_args, *scope_args]
    month = month_of("created_at")
    for r in await _raw(f"SELECT {month} AS k, {OUTCOME_SQL} AS outcome, count(*) AS n FROM referral WHERE {ref_filter} GROUP BY 1, 2",
                        *ref_params):
        raw.months[(r["k"], r["outcome"])] = int(r["n"])
    off_where, off_args = _in(OFFER_COUNTY, counties)
    off_scope, off_scope_args = offer_scope(organisations)
    off_filter = f"sent_at >= {{}} AND sent_at < {{}}{off_where}{off_scope}"
    off_params = [*period, *off_args, *off_scope_args]
    ref_keys = {"month": month, "county": "county", "institution_type": REFERRER}
    off_keys = {"month": month_of("sent_at"), "county": OFFER_COUNTY, "institution_type": OFFER_REFERRER}
    placed_secs = durations.seconds_between("placed_at", "created_at")
    answer_secs = durations.seconds_between("responded_at", "sent_at")
    for dim in breakdowns.DIMENSIONS:
        rk, ok = ref_keys[dim], off_keys[dim]
        raw.placement[dim] = await _medians(
            f"SELECT id, {rk} AS k, {placed_secs} AS s FROM referral WHERE {ref_filter} AND placed_at IS NOT NULL", ref_params, placed_secs
        )
        answers: dict[tuple[str, str], int] = {}
        for r in await _raw(f"SELECT {ok} AS k, status, count(*) AS n FROM offer WHERE {off_filter} "
                            "AND status IN ('accepted', 'declined') GROUP BY 1, 2", *off_params):
            answers[(r["k"], r["status"])] = int(r["n"])
        raw.answers[dim] = answers
        raw.response[dim] = await _medians(
            f"SELECT id, {ok} AS k, {answer_secs} AS s FROM offer WHERE {off_filter} "
            "AND status IN ('accepted', 'declined') AND responded_at IS NOT NULL", off_params, answer_secs,
        )  # fmt: skip
        declines: dict[tuple[str, str], int] = {}
        for r in await _raw(f"SELECT {ok} AS k, COALESCE(decline_reason, 'unspecified') AS reason, count(*) AS n FROM offer "
                            f"WHERE {off_filter} AND status = 'declined' GROUP BY 1, 2", *off_params):
            declines[(r["k"], r["reason"])] = int(r["n"])
        raw.declines[dim] = declines
    return raw
