"""Network activity from aggregates: tables, percentiles, rates, freshness, and the safe version."""

from __future__ import annotations

import datetime as dt

import pytest

from referralnet.coverage import activity, export
from referralnet.coverage.activity import Freshness, RawActivity, Stats, stats_of

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
PERIOD = (NOW - dt.timedelta(days=365), NOW)
COUNTIES = ["RO-IS", "RO-CJ", "RO-VS"]


def raw() -> RawActivity:
    r = RawActivity()
    r.referrals = {
        ("RO-IS", "urgent", "placed"): 12, ("RO-IS", "urgent", "unplaced"): 5, ("RO-IS", "urgent", "cancelled"): 1,
        ("RO-CJ", "emergency", "placed"): 2, ("RO-VS", "planned", "open"): 1,
    }
    hours = [float(h) for h in range(1, 13)]
    r.placement = {
        "urgent": stats_of([h * 3600 for h in hours]),
        "emergency": stats_of([1800, 5400]),
        "all": stats_of([h * 3600 for h in hours] + [1800, 5400]),
    }
    r.offers = {(1, "accepted"): 12, (1, "declined"): 3, (1, "expired"): 1, (2, "accepted"): 2, (2, "declined"): 1,
                (2, "withdrawn"): 1, (2, "pending"): 1}
    r.response = {1: stats_of([m * 60 for m in (5, 15, 25, *range(10, 130, 10))]), 2: stats_of([3600, 7200, 1800])}
    r.declines = {(1, "no_capacity"): 2, (1, "safety"): 1, (2, "not_eligible"): 1}
    r.names = {1: "Casa Iași", 2: "Asociația Două"}
    # The same referrals by month (all created in February) and the same declines by each dimension.
    r.breakdowns.months = {("2026-02", "placed"): 14, ("2026-02", "unplaced"): 5, ("2026-02", "cancelled"): 1, ("2026-02", "open"): 1}
    r.breakdowns.declines = {
        "month": {("2026-02", "no_capacity"): 2, ("2026-02", "safety"): 1, ("2026-02", "not_eligible"): 1},
        "county": {("RO-IS", "no_capacity"): 2, ("RO-IS", "safety"): 1, ("RO-CJ", "not_eligible"): 1},
        "institution_type": {("staff", "no_capacity"): 2, ("staff", "safety"): 1, ("staff", "not_eligible"): 1},
    }
    r.freshness = [
        Freshness(1, services=1, never_updated=0, stale=1, newest=NOW - dt.timedelta(days=10), oldest=NOW - dt.timedelta(days=10)),
        Freshness(2, services=2, never_updated=0, stale=0, newest=NOW, oldest=NOW - dt.timedelta(days=3, hours=1)),
    ]
    return r


def test_percentiles_interpolate_linearly() -> None:
    assert stats_of([]) == Stats(0, None, None)
    assert stats_of([1, 2, 4, 8, 16]) == Stats(5, 4.0, 12.8)


def test_raw_report_has_exact_figures() -> None:
    a = activity.build(raw(), period=PERIOD, now=NOW, counties=COUNTIES, safe=False)
    t = a.referrals_by_county
    assert t.columns == ["open", "placed", "unplaced", "cancelled"] and t.rows == COUNTIES
    assert t.cells == [[0, 12, 5, 1], [0, 2, 0, 0], [1, 0, 0, 0]]
    assert t.row_totals == [18, 2, 1] and t.column_totals == [1, 14, 5, 1] and t.total == 21
    assert a.referrals_by_urgency is not None and a.referrals_by_urgency.cells[1] == [0, 12, 5, 1]
    placement = {p.urgency: (p.placed, p.median_hours, p.p90_hours) for p in a.placement_time or []}
    assert placement == {"emergency": (2, 1.0, 1.4), "urgent": (12, 6.5, 10.9), "planned": (0, None, None), "all": (14, 5.5, 10.7)}
    orgs = {o.organisation_name: o for o in a.organisations or []}
    casa = orgs["Casa Iași"]
    assert (casa.offers_sent, casa.accepted, casa.declined, casa.expired) == (16, 12, 3, 1)
    assert (casa.acceptance_rate, casa.decline_rate, casa.answer_rate) == (0.8, 0.2, 0.9375)
    assert casa.median_response_minutes == 50.0
    two = orgs["Asociația Două"]
    assert (two.acceptance_rate, two.decline_rate, two.answer_rate, two.median_response_minutes) == (0.6667, 0.3333, 1.0, 60.0)
    assert a.decline_reasons is not None and a.decline_reasons.columns[:4] == ["no_capacity", "not_eligible", "safety", "other"]
    fresh = a.capacity_freshness or []
    assert [(f.organisation_name, f.stale, f.days_since_newest, f.days_since_oldest) for f in fresh] == [
        ("Casa Iași", 1, 10, 10), ("Asociația Două", 0, 0, 3)
    ]


def test_safe_report_hides_small_counts_and_what_they_would_reveal() -> None:
    a = activity.build(raw(), period=PERIOD, now=NOW, counties=COUNTIES, safe=True)
    t = a.referrals_by_county
    # Iași placed 12 is hidden too ("x"): with Cluj's 2 hidden, the "placed" total 14 - 12 would give it back.
    assert t.cells == [[0, "x", "<10", "<10"], [0, "<10", 0, 0], ["<10", 0, 0, 0]]
    assert t.row_totals == ["x", "<10", "<10"] and t.column_totals == ["<10", 14, "<10", "<10"] and t.total == 21
    u = a.referrals_by_urgency
    assert u is not None and u.column_totals == t.column_totals and u.total == t.total
    placement = {p.urgency: (p.placed, p.median_hours) for p in a.placement_time or []}
    assert placement["emergency"] == ("<10", None)  # two people: no median either
    assert placement["urgent"] == ("x", 6.5)  # twelve people: the median is shown
    casa = next(o for o in a.organisations or [] if o.organisation_id == 1)
    assert casa.declined == "<10" and casa.acceptance_rate is None and casa.median_response_minutes == 50.0
    declines = a.decline_reasons
    assert declines is not None
    assert declines.rows == ["2", "1"]  # by organisation name
    assert declines.row_totals[1] == casa.declined == "<10"  # the same figure, hidden in both tables
    for row in declines.cells:
        assert all(v == 0 or v == "<10" for v in row)


def test_non_staff_see_only_referrals_by_county() -> None:
    a = activity.build(raw(), period=PERIOD, now=NOW, counties=COUNTIES, safe=True, full=False)
    assert a.referrals_by_urgency is None and a.organisations is None and a.capacity_freshness is None
    assert export.available_tables(a) == ["counties"]
    with pytest.raises(LookupError):
        export.activity_rows(a, "organisations")


def test_csv_of_a_count_table() -> None:
    a = activity.build(raw(), period=PERIOD, now=NOW, counties=COUNTIES, safe=True)
    text = export.to_csv(export.activity_rows(a, "counties"))
    lines = text.splitlines()
    assert lines[0] == "county,name,open,placed,unplaced,cancelled,total"
    assert lines[1] == "RO-IS,Iași,0,x,<10,<10,x"
    assert lines[2] == "RO-CJ,Cluj,0,<10,0,0,<10"
    assert lines[-1] == "total,,<10,14,<10,<10,21"
    placement = export.to_csv(export.activity_rows(a, "placement")).splitlines()
    assert placement[0] == "urgency,placed,median_hours,p90_hours" and placement[1] == "emergency,<10,,"
