"""Network activity over a period, from aggregates the database layer computed. Pure.

Definitions (the database layer applies them in SQL on PostgreSQL and in numpy on SQLite):

* the period is ``[from, to)``; referral figures count referrals *created* in it, offer figures
  offers *sent* in it;
* a referral's outcome: ``placed`` when it was ever placed (``placed_at`` set, whatever came
  after), else ``unplaced`` when it ended unplaced (status ``unplaced``, or ``closed`` from
  there), else ``cancelled``, else ``open``;
* placement time = ``placed_at - created_at`` of the placed referrals; median and 90th percentile
  with linear interpolation (PostgreSQL's ``percentile_cont``, numpy's default);
* response time = ``responded_at - sent_at`` of accepted and declined offers;
* rates: see :class:`~referralnet.coverage.schemas.OrganisationActivity`;
* capacity freshness and load: per organisation, its active services that report capacity (a
  unit or a figure); ``stale`` = never updated or updated more than ``stale_days`` ago; ``full`` =
  services reporting 0 free places; the sums of their total and free capacity.

With ``safe``, every count of people goes through :mod:`referralnet.coverage.disclosure` (the
referral tables share their margins, the offer table shares its ``declined`` column with the
decline-reason table, so they are suppressed together); a rate is shown only when every count it
is made of is shown, and a median or percentile only when it summarises ``threshold`` people or
more.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from referralnet.coverage import breakdowns, disclosure
from referralnet.coverage.schemas import (
    Activity,
    CapacityFreshness,
    CountTable,
    OrganisationActivity,
    PlacementTime,
)
from referralnet.vocabulary import codes, geo
from referralnet.vocabulary.codes import INSTITUTION_TYPES, URGENCIES

OUTCOMES = ("open", "placed", "unplaced", "cancelled")
OFFER_STATUSES = ("accepted", "declined", "expired", "withdrawn", "pending")
DECLINE_REASONS = (*codes.DECLINE_REASONS, "unspecified")
URGENCY_CODES = tuple(URGENCIES)
# Rows of the breakdown by referring institution type; "staff": referred by the secretariat or an admin.
REFERRER_TYPES = (*INSTITUTION_TYPES, "staff")


@dataclass(frozen=True)
class Stats:
    n: int
    median: float | None
    p90: float | None


def stats_of(values: np.ndarray | list[float]) -> Stats:
    a = np.asarray(values, dtype=np.float64)
    if not len(a):
        return Stats(0, None, None)
    median, p90 = np.percentile(a, [50, 90])
    return Stats(len(a), float(median), float(p90))


@dataclass(frozen=True)
class Freshness:
    organisation_id: int
    services: int
    never_updated: int
    stale: int
    newest: dt.datetime | None
    oldest: dt.datetime | None
    full: int = 0  # services reporting 0 free
    capacity_total: int = 0
    capacity_free: int = 0


@dataclass
class RawActivity:
    """What the database layer hands over; every key may be missing (count 0)."""

    referrals: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (county, urgency, outcome)
    by_referrer: dict[str, int] = field(default_factory=dict)  # institution type or "staff" -> referrals
    placement: dict[str, Stats] = field(default_factory=dict)  # urgency or "all" -> seconds
    offers: dict[tuple[int, str], int] = field(default_factory=dict)  # (organisation, status)
    response: dict[int, Stats] = field(default_factory=dict)  # organisation -> seconds
    declines: dict[tuple[int, str], int] = field(default_factory=dict)  # (organisation, reason)
    names: dict[int, str] = field(default_factory=dict)
    freshness: list[Freshness] = field(default_factory=list)
    breakdowns: breakdowns.RawBreakdowns = field(default_factory=breakdowns.RawBreakdowns)


def _table(name: str, row_key: str, rows: list[str], labels: list[str], columns: tuple[str, ...],
           safe_table: disclosure.SafeTable, safe: bool, threshold: int) -> CountTable:
    if safe:
        cells, row_totals, column_totals, total = safe_table.shown(threshold)
    else:
        cells = [[int(v) for v in r] for r in safe_table.cells]
        row_totals = [int(v) for v in safe_table.row_totals]
        column_totals = [int(v) for v in safe_table.column_totals]
        total = safe_table.total
    return CountTable(name=name, row_key=row_key, rows=rows, row_labels=labels, columns=list(columns),
                      cells=cells, row_totals=row_totals, column_totals=column_totals, total=total)


def _rate(num: int, den: int, visible: bool) -> float | None:
    return round(num / den, 4) if den and visible else None


def _days(now: dt.datetime, when: dt.datetime | None) -> int | None:
    return None if when is None else int((now - when).total_seconds() // 86400)


def _dimension_keys(counties: list[str], months: list[str]) -> dict[str, tuple[list[str], list[str]]]:
    """Each breakdown dimension's row keys and English labels."""
    seats = geo.counties()
    return {
        "month": (months, months),
        "county": (counties, [seats[c].name for c in counties]),
        "institution_type": (list(REFERRER_TYPES), [INSTITUTION_TYPES[t][0] if t in INSTITUTION_TYPES else "Secretariat or admin"
                                                    for t in REFERRER_TYPES]),
    }  # fmt: skip


def build(
    raw: RawActivity,
    *,
    period: tuple[dt.datetime, dt.datetime],
    now: dt.datetime,
    counties: list[str],
    safe: bool,
    full: bool = True,
    threshold: int = disclosure.DEFAULT_THRESHOLD,
    stale_days: int = 7,
) -> Activity:
    """The activity report; ``full=False`` keeps only referrals by county (what non-staff see)."""
    by_county = np.array(
        [[sum(raw.referrals.get((c, u, o), 0) for u in URGENCY_CODES) for o in OUTCOMES] for c in counties], dtype=np.int64
    ).reshape(len(counties), len(OUTCOMES))
    by_urgency = np.array([[sum(raw.referrals.get((c, u, o), 0) for c in counties) for o in OUTCOMES] for u in URGENCY_CODES], dtype=np.int64)
    orgs = sorted({o for o, _ in raw.offers} | {o for o, _ in raw.declines}, key=lambda o: (raw.names.get(o, ""), o))
    offers = np.array([[raw.offers.get((o, s), 0) for s in OFFER_STATUSES] for o in orgs], dtype=np.int64).reshape(len(orgs), len(OFFER_STATUSES))
    declines = np.array([[raw.declines.get((o, r), 0) for r in DECLINE_REASONS] for o in orgs], dtype=np.int64).reshape(
        len(orgs), len(DECLINE_REASONS)
    )
    # One column (referrals), so it shares only the grand total with the county table and cannot undo its suppression.
    by_referrer = np.array([[raw.by_referrer.get(t, 0)] for t in REFERRER_TYPES], dtype=np.int64)
    rc, ru, ro, nc, rt = len(counties), len(URGENCY_CODES), len(orgs), len(OUTCOMES), len(REFERRER_TYPES)
    declined = OFFER_STATUSES.index("declined")
    links = [((0, (rc, j)), (1, (ru, j))) for j in range(nc + 1)]  # outcome totals and grand total
    links += [((0, (rc, nc)), (4, (rt, 1)))]  # the grand total, published in both
    links += [((2, (i, declined)), (3, (i, len(DECLINE_REASONS)))) for i in range(ro + 1)]
    # The breakdowns: referrals by month (outcome totals shared with the county table) and one decline table per
    # dimension (reason totals shared with the per-organisation one).
    months = breakdowns.months_of(period)
    keys = _dimension_keys(counties, months)
    extra = [breakdowns.month_array(raw.breakdowns, months, OUTCOMES)]
    extra += [breakdowns.decline_array(raw.breakdowns, d, keys[d][0], DECLINE_REASONS) for d in breakdowns.DIMENSIONS]
    links += [((0, (rc, j)), (5, (len(months), j))) for j in range(nc + 1)]
    links += [((3, (ro, j)), (6 + d, (len(keys[dim][0]), j)))
              for d, dim in enumerate(breakdowns.DIMENSIONS) for j in range(len(DECLINE_REASONS) + 1)]
    county_t, urgency_t, offer_t, decline_t, referrer_t, *extra_t = disclosure.suppress_linked(
        [by_county, by_urgency, offers, declines, by_referrer, *extra], links, threshold
    ) if full else [disclosure.suppress_table(by_county, threshold)] + [None] * 8  # type: ignore[list-item]
    assert county_t is not None
    seats = geo.counties()
    report = Activity(
        generated_at=now,
        period_from=period[0],
        period_to=period[1],
        disclosure="safe" if safe else "raw",
        threshold=threshold,
        stale_days=stale_days,
        referrals_by_county=_table("referrals_by_county", "county", counties, [seats[c].name for c in counties],
                                   OUTCOMES, county_t, safe, threshold),
    )
    if not full:
        return report
    assert urgency_t is not None and offer_t is not None and decline_t is not None and referrer_t is not None
    report.referrals_by_urgency = _table("referrals_by_urgency", "urgency", list(URGENCY_CODES),
                                         [URGENCIES[u][0] for u in URGENCY_CODES], OUTCOMES, urgency_t, safe, threshold)
    report.referrals_by_institution_type = _table(
        "referrals_by_institution_type", "institution_type", list(REFERRER_TYPES),
        [INSTITUTION_TYPES[t][0] if t in INSTITUTION_TYPES else "Secretariat or admin" for t in REFERRER_TYPES],
        ("referrals",), referrer_t, safe, threshold,
    )  # fmt: skip
    placed = OUTCOMES.index("placed")
    report.placement_time = []
    for i, u in enumerate((*URGENCY_CODES, "all")):
        stats = raw.placement.get(u, Stats(0, None, None))
        hidden = bool(urgency_t.column_totals_hidden[placed] if u == "all" else urgency_t.cells_hidden[i, placed])
        show = not safe or stats.n >= threshold
        report.placement_time.append(PlacementTime(
            urgency=u,
            placed=disclosure.show(stats.n, safe and hidden, threshold),
            median_hours=round(stats.median / 3600, 2) if show and stats.median is not None else None,
            p90_hours=round(stats.p90 / 3600, 2) if show and stats.p90 is not None else None,
        ))
    report.offers = _table("offers", "organisation", [str(o) for o in orgs], [raw.names.get(o, "") for o in orgs],
                           OFFER_STATUSES, offer_t, safe, threshold)
    report.decline_reasons = _table("decline_reasons", "organisation", [str(o) for o in orgs],
                                    [raw.names.get(o, "") for o in orgs], DECLINE_REASONS, decline_t, safe, threshold)
    report.organisations = []
    for i, o in enumerate(orgs):
        n = dict(zip(OFFER_STATUSES, (int(v) for v in offers[i])))
        hide = dict(zip(OFFER_STATUSES, (bool(h) and safe for h in offer_t.cells_hidden[i])))
        answered = n["accepted"] + n["declined"]
        both = not (hide["accepted"] or hide["declined"])
        response = raw.response.get(o, Stats(0, None, None))
        report.organisations.append(OrganisationActivity(
            organisation_id=o,
            organisation_name=raw.names.get(o, ""),
            offers_sent=disclosure.show(int(offer_t.row_totals[i]), safe and bool(offer_t.row_totals_hidden[i]), threshold),
            **{s: disclosure.show(n[s], hide[s], threshold) for s in OFFER_STATUSES},
            acceptance_rate=_rate(n["accepted"], answered, both),
            decline_rate=_rate(n["declined"], answered, both),
            answer_rate=_rate(answered, answered + n["expired"], both and not hide["expired"]),
            median_response_minutes=(
                round(response.median / 60, 2)
                if response.median is not None and (not safe or response.n >= threshold) else None
            ),
        ))
    assert all(t is not None for t in extra_t)
    extra_safe: list[disclosure.SafeTable] = [t for t in extra_t if t is not None]
    report.referrals_by_month = _table("referrals_by_month", "month", months, months, OUTCOMES, extra_safe[0], safe, threshold)
    report.breakdowns = [
        breakdowns.breakdown(raw.breakdowns, dim, keys[dim][0], keys[dim][1],
                             _table(f"decline_reasons_by_{dim}", dim, keys[dim][0], keys[dim][1], DECLINE_REASONS, t, safe, threshold),
                             safe=safe, threshold=threshold)
        for dim, t in zip(breakdowns.DIMENSIONS, extra_safe[1:])
    ]  # fmt: skip
    report.capacity_freshness = [
        CapacityFreshness(
            organisation_id=f.organisation_id,
            organisation_name=raw.names.get(f.organisation_id, ""),
            services=f.services,
            never_updated=f.never_updated,
            stale=f.stale,
            newest_update=f.newest,
            oldest_update=f.oldest,
            days_since_newest=_days(now, f.newest),
            days_since_oldest=_days(now, f.oldest),
            full=f.full,
            capacity_total=f.capacity_total,
            capacity_free=f.capacity_free,
        )
        for f in sorted(raw.freshness, key=lambda f: (f.newest is not None, f.newest or now, f.organisation_id))
    ]
    return report
