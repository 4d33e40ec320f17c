"""The secretariat's charts and report figures, pure: hidden counts give nothing away, nothing is fetched,
the yearly report suppresses each row, and the breakdowns show a rate or median only when it is safe."""

from __future__ import annotations

import datetime as dt
import re

from referralnet.coverage import breakdowns, yearly
from referralnet.coverage.schemas import CountTable
from referralnet.web.charts import bar_chart

TABLE = CountTable(name="t", row_key="k", rows=[], row_labels=[], columns=[], cells=[], row_totals=[], column_totals=[], total=0)


def bars(svg: str) -> list[tuple[str, str]]:
    return re.findall(r'width="([^"]*)" height="[^"]*" class="(suppressed|rect[^"]*)"', svg)


def test_a_hidden_count_is_a_bar_of_one_length_labelled_with_its_marker() -> None:
    one = str(bar_chart("c", "Referrals", ["a", "b", "c"], [40, "<10", "x"]))
    widths = [w for w, cls in bars(one) if cls == "suppressed"]
    assert len(widths) == 2 and len(set(widths)) == 1
    assert re.findall(r'class="value">([^<]*)<', one)[::-1] == ["40", "&lt;10", "x"]
    assert 'fill="url(#c-hatch)"' in one  # hatched, not told by colour alone


def test_the_chart_fetches_nothing_and_names_itself() -> None:
    svg = str(bar_chart("chart-x", "Acceptance rate", ["Iași", "Cluj"], [0.5, None], fmt=lambda v: f"{v:.0%}"))
    assert "<script" not in svg and "<style" not in svg and "style=" not in svg and "tooltip-overlay" not in svg
    assert re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", svg).count("http") == 0
    assert 'role="img"' in svg and 'aria-labelledby="chart-x-title chart-x-desc"' in svg
    assert '<title id="chart-x-title">Acceptance rate</title>' in svg and "Iași: 50%; Cluj: —" in svg
    assert bar_chart("e", "Empty", ["a"], [None]) == ""  # nothing to draw: the table says it


def test_yearly_rows_are_suppressed_each_on_its_own_line() -> None:
    counts = {("residential", "services_started"): 12, ("day_centre", "completed"): 1, ("any", "services_started"): 12,
              ("any", "completed"): 1}  # fmt: skip
    raw = yearly.build(counts, year=2025, networks=[], safe=False)
    safe = yearly.build(counts, year=2025, networks=[], safe=True)
    rows = {r.group: r for r in safe.rows}
    assert {r.group: r.total for r in raw.rows}["any"] == 13
    assert rows["residential"].cells[0] == 12 and rows["residential"].total == 12
    assert rows["day_centre"].cells[3] == "<10" and rows["day_centre"].total == "<10"
    assert rows["any"].cells[:4] == ["x", 0, 0, "<10"] and rows["any"].total == 13  # 13 - 12 would give the 1 back


def test_breakdown_rates_and_medians_only_when_safe() -> None:
    raw = breakdowns.RawBreakdowns(
        placement={"month": {"2026-01": breakdowns.Stats(12, 7200.0), "2026-02": breakdowns.Stats(3, 3600.0)}},
        answers={"month": {("2026-01", "accepted"): 20, ("2026-01", "declined"): 10, ("2026-02", "accepted"): 30,
                           ("2026-02", "declined"): 2}},
        response={"month": {"2026-01": breakdowns.Stats(30, 600.0)}},
    )  # fmt: skip
    safe = breakdowns.breakdown(raw, "month", ["2026-01", "2026-02"], ["Jan", "Feb"], TABLE, safe=True, threshold=10)
    jan, feb = safe.rows
    assert (jan.median_placement_hours, jan.acceptance_rate, jan.median_response_minutes) == (2.0, 0.6667, 10.0)
    assert (feb.median_placement_hours, feb.acceptance_rate) == (None, None)  # 3 people; 2 declines would show through the rate
    shown = breakdowns.breakdown(raw, "month", ["2026-01", "2026-02"], ["Jan", "Feb"], TABLE, safe=False, threshold=10)
    assert (shown.rows[1].median_placement_hours, shown.rows[1].acceptance_rate) == (1.0, 0.9375)
    utc = dt.timezone.utc
    period = (dt.datetime(2025, 11, 15, tzinfo=utc), dt.datetime(2026, 2, 1, tzinfo=utc))
    assert breakdowns.months_of(period) == ["2025-11", "2025-12", "2026-01"]  # [from, to): February not touched
