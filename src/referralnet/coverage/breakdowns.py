"""The activity by month, by county and by referring institution type. Pure.

Per dimension: the median time to placement of the referrals created in the row (month of
``created_at``, the referral's county, its institution's type), the acceptance rate and the median
response time of the offers sent in the row (month of ``sent_at``, the referral's county and
institution type), and the decline reasons of those offers as a count table. The referrals created
per month by outcome is a count table too; it shares its outcome totals with the county table of
:mod:`referralnet.coverage.activity`, and the decline tables share their reason totals with the
per-organisation one, so :func:`referralnet.coverage.activity.build` suppresses them all together.

Safe figures: a median is shown when it summarises ``threshold`` people or more; the acceptance
rate when ``threshold`` offers or more were answered and neither the accepted nor the declined
count is small (1 .. threshold - 1), so that no published count gives a small one back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from referralnet.coverage import disclosure
from referralnet.coverage.schemas import Breakdown, BreakdownRow, CountTable

DIMENSIONS = ("month", "county", "institution_type")


@dataclass(frozen=True)
class Stats:
    n: int
    median: float | None


@dataclass
class RawBreakdowns:
    """What the database layer hands over (a missing key counts 0)."""

    months: dict[tuple[str, str], int] = field(default_factory=dict)  # (YYYY-MM, outcome) -> referrals created
    placement: dict[str, dict[str, Stats]] = field(default_factory=dict)  # dimension -> key -> seconds
    answers: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)  # dimension -> (key, accepted|declined)
    response: dict[str, dict[str, Stats]] = field(default_factory=dict)  # dimension -> key -> seconds
    declines: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)  # dimension -> (key, reason)


def months_of(period: tuple[dt.datetime, dt.datetime]) -> list[str]:
    """Every month (``YYYY-MM``, UTC) the period ``[from, to)`` touches, oldest first."""
    start, stop = period[0].astimezone(dt.timezone.utc), (period[1] - dt.timedelta(microseconds=1)).astimezone(dt.timezone.utc)
    y, m = start.year, start.month
    out = []
    while (y, m) <= (stop.year, stop.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_array(raw: RawBreakdowns, months: list[str], outcomes: tuple[str, ...]) -> np.ndarray:
    return np.array([[raw.months.get((k, o), 0) for o in outcomes] for k in months], dtype=np.int64).reshape(len(months), len(outcomes))


def decline_array(raw: RawBreakdowns, dimension: str, keys: list[str], reasons: tuple[str, ...]) -> np.ndarray:
    found = raw.declines.get(dimension, {})
    return np.array([[found.get((k, r), 0) for r in reasons] for k in keys], dtype=np.int64).reshape(len(keys), len(reasons))


def _median(stats: Stats | None, scale: float, safe: bool, threshold: int) -> float | None:
    if stats is None or stats.median is None or (safe and stats.n < threshold):
        return None
    return round(stats.median / scale, 2)


def _rate(accepted: int, declined: int, safe: bool, threshold: int) -> float | None:
    answered = accepted + declined
    if not answered:
        return None
    if safe and (answered < threshold or disclosure.is_small(accepted, threshold) or disclosure.is_small(declined, threshold)):
        return None
    return round(accepted / answered, 4)


def breakdown(raw: RawBreakdowns, dimension: str, keys: list[str], labels: list[str], declines: CountTable,
              *, safe: bool, threshold: int) -> Breakdown:
    """One dimension's rows (times and rates) with its decline table, already suppressed."""
    placement, response = raw.placement.get(dimension, {}), raw.response.get(dimension, {})
    answers = raw.answers.get(dimension, {})
    rows = [
        BreakdownRow(
            key=k, label=label,
            median_placement_hours=_median(placement.get(k), 3600, safe, threshold),
            acceptance_rate=_rate(answers.get((k, "accepted"), 0), answers.get((k, "declined"), 0), safe, threshold),
            median_response_minutes=_median(response.get(k), 60, safe, threshold),
        )
        for k, label in zip(keys, labels)
    ]  # fmt: skip
    return Breakdown(dimension=dimension, rows=rows, decline_reasons=declines)  # type: ignore[arg-type]
