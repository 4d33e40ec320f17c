"""The secretariat's activity and yearly report as page sections: tables in the page's language and their charts.

Pure presentation of the reports the API serves (:func:`referralnet.coverage.reports.activity_report`,
:func:`referralnet.coverage.yearly.yearly_report`), built with ``safe=True``: every count is as the
exports publish it (``<10`` for 1-9 people, ``x`` for a figure hidden as a complement).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from babel import dates, numbers
from markupsafe import Markup

from referralnet.coverage.schemas import Activity, Breakdown, CountTable, YearlyReport
from referralnet.texts import N_
from referralnet.vocabulary.codes import DECLINE_REASONS, INSTITUTION_TYPES, OUTCOMES, REPORT_GROUPS
from referralnet.web import charts, i18n

ACTIVITY_OUTCOMES = {"open": N_("Open"), "placed": N_("Placed"), "unplaced": N_("Ended unplaced"), "cancelled": N_("Cancelled")}
YEARLY_OUTCOMES = {"cancelled": N_("Cancelled after placement"), "ongoing": N_("Not closed yet")}
OTHER_LABELS = {"unspecified": N_("No reason given"), "staff": N_("Secretariat or admin"), "referrals": N_("Referrals"),
                "any": N_("Any service")}  # fmt: skip
DIMENSION_HEADINGS = {"month": N_("By month"), "county": N_("By county"), "institution_type": N_("By referring institution type")}
DIMENSION_COLUMN = {"month": N_("Month"), "county": N_("County"), "institution_type": N_("Institution type")}
COUNT_CSV = {"month": "months", "county": "counties", "institution_type": "institution_types"}
EMPTY = "—"


@dataclass
class Section:
    """A table with its charts and CSV downloads, as the template shows it."""

    id: str
    heading: str
    columns: list[str]
    rows: list[tuple[str, list[str]]]
    foot: tuple[str, list[str]] | None = None
    charts: list[Markup] = field(default_factory=list)
    csv: list[tuple[str, str]] = field(default_factory=list)  # (table, link text)
    note: str | None = None


class Words:
    """The page's language: catalogue texts, code-list labels, numbers and months."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self.gettext: Callable[[str], str] = i18n.translations(locale).gettext

    def __call__(self, text: str) -> str:
        return self.gettext(text)

    def code(self, key: str, *lists: dict[str, Any]) -> str:
        for found in lists:
            if key in found:
                value = found[key]
                if isinstance(value, str):
                    return self(value)
                return str(value[1] if self.locale == "ro" else value[0])
        return key

    def month(self, key: str) -> str:
        year, month = (int(p) for p in key.split("-"))
        return dates.format_date(dt.date(year, month, 1), "LLL yyyy", locale=self.locale)

    def count(self, value: Any) -> str:
        if value is None:
            return EMPTY
        return str(value) if isinstance(value, str) else numbers.format_decimal(value, locale=self.locale)

    def decimal(self, value: float | None, digits: int = 1) -> str:
        return EMPTY if value is None else numbers.format_decimal(round(value, digits), locale=self.locale)

    def percent(self, value: float | None) -> str:
        return EMPTY if value is None else numbers.format_percent(value, locale=self.locale)


def _row_label(words: Words, dimension: str, key: str, label: str) -> str:
    if dimension == "month":
        return words.month(key)
    if dimension == "institution_type":
        return words.code(key, INSTITUTION_TYPES, OTHER_LABELS)
    return label


def _shown(value: Any) -> bool:
    return value != 0


def dimension_section(words: Words, table: CountTable, b: Breakdown, threshold: int) -> Section:
    """Referrals by outcome with the times and rates of each row, and four charts of the same figures."""
    dim = b.dimension
    keep = [i for i, total in enumerate(table.row_totals) if dim != "county" or _shown(total)]  # counties without referrals left out
    labels = [_row_label(words, dim, table.rows[i], table.row_labels[i]) for i in keep]
    outcome_columns = [words.code(c, ACTIVITY_OUTCOMES, OTHER_LABELS) for c in table.columns]
    multi = len(table.columns) > 1
    columns = [words(DIMENSION_COLUMN[dim]), *(outcome_columns if multi else []), words(N_("Referrals")),
               words(N_("Median time to placement (hours)")), words(N_("Acceptance rate")), words(N_("Median response time (minutes)"))]  # fmt: skip
    rows = []
    for label, i in zip(labels, keep):
        r = b.rows[i]
        cells = [words.count(v) for v in table.cells[i]] if multi else []
        rows.append((label, [*cells, words.count(table.row_totals[i]), words.decimal(r.median_placement_hours),
                             words.percent(r.acceptance_rate), words.decimal(r.median_response_minutes)]))  # fmt: skip
    foot = (words(N_("Total")), [*([words.count(v) for v in table.column_totals] if multi else []), words.count(table.total), "", "", ""])
    picked = [b.rows[i] for i in keep]
    base = f"chart-{dim.replace('_', '-')}"
    made = [
        charts.bar_chart(f"{base}-referrals", words(N_("Referrals")), labels, [table.row_totals[i] for i in keep], threshold=threshold),
        charts.bar_chart(f"{base}-placement", words(N_("Median time to placement (hours)")), labels,
                         [r.median_placement_hours for r in picked], fmt=lambda v: words.decimal(v)),
        charts.bar_chart(f"{base}-acceptance", words(N_("Acceptance rate")), labels,
                         [None if r.acceptance_rate is None else r.acceptance_rate * 100 for r in picked],
                         fmt=lambda v: words.percent(v / 100)),
        charts.bar_chart(f"{base}-response", words(N_("Median response time (minutes)")), labels,
                         [r.median_response_minutes for r in picked], fmt=lambda v: words.decimal(v)),
    ]  # fmt: skip
    csv = [(COUNT_CSV[dim], words(N_("Referrals by outcome (CSV)"))), (f"by_{dim}", words(N_("Times and rates (CSV)")))]
    return Section(id=dim.replace("_", "-"), heading=words(DIMENSION_HEADINGS[dim]), columns=columns, rows=rows, foot=foot,
                   charts=made, csv=csv)  # fmt: skip


def declines_section(words: Words, b: Breakdown, threshold: int) -> Section:
    """Decline reasons per row of one dimension; the chart shows the reasons' totals (the same in every dimension)."""
    t, dim = b.decline_reasons, b.dimension
    keep = [i for i, total in enumerate(t.row_totals) if _shown(total)]
    reasons = [words.code(c, DECLINE_REASONS, OTHER_LABELS) for c in t.columns]
    rows = [(_row_label(words, dim, t.rows[i], t.row_labels[i]), [*(words.count(v) for v in t.cells[i]), words.count(t.row_totals[i])])
            for i in keep]  # fmt: skip
    foot = (words(N_("Total")), [*(words.count(v) for v in t.column_totals), words.count(t.total)])
    made = [charts.bar_chart(f"chart-declines-{dim.replace('_', '-')}", words(N_("Declines by reason")), reasons, t.column_totals,
                             threshold=threshold)] if dim == "month" else []  # fmt: skip
    return Section(id=f"declines-{dim.replace('_', '-')}", heading=words(DIMENSION_HEADINGS[dim]),
                   columns=[words(DIMENSION_COLUMN[dim]), *reasons, words(N_("Total"))], rows=rows, foot=foot, charts=made,
                   csv=[(f"declines_by_{dim}", words(N_("Decline reasons (CSV)")))],
                   note=None if rows else words(N_("No offer was declined in the period.")))  # fmt: skip


def activity_sections(a: Activity, locale: str) -> tuple[list[Section], list[Section]]:
    """(the sections by month, county and institution type; the decline reasons by the same)."""
    words = Words(locale)
    tables = {"month": a.referrals_by_month, "county": a.referrals_by_county, "institution_type": a.referrals_by_institution_type}
    by_dimension, declines = [], []
    for b in a.breakdowns or []:
        table = tables[b.dimension]
        assert table is not None
        by_dimension.append(dimension_section(words, table, b, a.threshold))
        declines.append(declines_section(words, b, a.threshold))
    return by_dimension, declines


def yearly_section(r: YearlyReport, locale: str) -> Section:
    """The yearly report's table and a chart of each group's total."""
    words = Words(locale)
    columns = [words(N_("Service group")), *(words.code(c, OUTCOMES, YEARLY_OUTCOMES) for c in r.columns), words(N_("Total"))]
    labels = [words.code(row.group, REPORT_GROUPS, OTHER_LABELS) for row in r.rows]
    rows = [(label, [*(words.count(v) for v in row.cells), words.count(row.total)]) for label, row in zip(labels, r.rows)]
    chart = charts.bar_chart("chart-yearly", words(N_("People placed, by service group")), labels, [row.total for row in r.rows],
                             threshold=r.threshold)  # fmt: skip
    return Section(id="yearly", heading=words(N_("People placed, by service group and outcome")), columns=columns, rows=rows,
                   charts=[chart], csv=[("report", words(N_("Download the table (CSV)")))])  # fmt: skip

