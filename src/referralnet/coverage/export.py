"""CSV and plain-text renderings of the coverage reports. Pure.

The figures are taken as they are in the report Structs: a report built with ``safe=True`` (as
every export is) already shows small counts of people as ``<10``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from referralnet.coverage.schemas import Activity, CountTable, CoverageMatrix, GapList
from referralnet.vocabulary import geo

ActivityTable = Literal[
    "counties", "urgency", "institution_types", "placement", "organisations", "declines", "freshness", "months",
    "by_month", "by_county", "by_institution_type", "declines_by_month", "declines_by_county", "declines_by_institution_type",
]  # fmt: skip
ACTIVITY_TABLES: tuple[str, ...] = ActivityTable.__args__  # type: ignore[attr-defined]
BREAKDOWN_COLUMNS = ("median_placement_hours", "acceptance_rate", "median_response_minutes")

MATRIX_COLUMNS = (
    "county", "county_name", "service_type", "age_group", "gender", "exploitation_form", "providers",
    "providers_stated", "services", "services_stated", "capacity_total", "capacity_free", "capacity_unknown",
)
GAP_COLUMNS = (
    "county", "county_name", "service_type", "age_group", "gender", "exploitation_form", "reason", "providers",
    "services", "capacity_total", "referrals_unplaced",
)


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def matrix_rows(m: CoverageMatrix) -> tuple[Sequence[str], list[list[Any]]]:
    names = {code: c.name for code, c in geo.counties().items()}
    rows = [
        [c.county, names[c.county], c.service_type, c.age_group, c.gender, c.exploitation_form, c.providers,
         c.providers_stated, c.services, c.services_stated, c.capacity_total, c.capacity_free, c.capacity_unknown]
        for c in m.cells
    ]
    return MATRIX_COLUMNS, rows


def gap_rows(g: GapList) -> tuple[Sequence[str], list[list[Any]]]:
    rows = [
        [x.county, x.county_name, x.service_type, x.age_group, x.gender, x.exploitation_form, x.reason, x.providers,
         x.services, x.capacity_total, x.referrals_unplaced]
        for x in g.items
    ]
    return GAP_COLUMNS, rows


def count_table_rows(t: CountTable) -> tuple[Sequence[str], list[list[Any]]]:
    header = [t.row_key, "name", *t.columns, "total"]
    rows = [[key, label, *cells, total] for key, label, cells, total in zip(t.rows, t.row_labels, t.cells, t.row_totals)]
    rows.append(["total", "", *t.column_totals, t.total])
    return header, rows


def activity_rows(a: Activity, table: str) -> tuple[Sequence[str], list[list[Any]]]:
    """One table of the activity report as (header, rows); non-staff reports hold only "counties"."""
    if table == "counties":
        return count_table_rows(a.referrals_by_county)
    if table == "urgency" and a.referrals_by_urgency is not None:
        return count_table_rows(a.referrals_by_urgency)
    if table == "institution_types" and a.referrals_by_institution_type is not None:
        return count_table_rows(a.referrals_by_institution_type)
    if table == "declines" and a.decline_reasons is not None:
        return count_table_rows(a.decline_reasons)
    if table == "placement" and a.placement_time is not None:
        return ("urgency", "placed", "median_hours", "p90_hours"), [
            [p.urgency, p.placed, p.median_hours, p.p90_hours] for p in a.placement_time
        ]
    if table == "organisations" and a.organisations is not None:
        header = ("organisation_id", "organisation_name", "offers_sent", "accepted", "declined", "expired", "withdrawn",
                  "pending", "acceptance_rate", "decline_rate", "answer_rate", "median_response_minutes")
        return header, [[getattr(o, h) for h in header] for o in a.organisations]
    if table == "months" and a.referrals_by_month is not None:
        return count_table_rows(a.referrals_by_month)
    for b in a.breakdowns or []:
        if table == f"by_{b.dimension}":
            return (b.dimension, "name", *BREAKDOWN_COLUMNS), [[r.key, r.label, *(getattr(r, c) for c in BREAKDOWN_COLUMNS)] for r in b.rows]
        if table == f"declines_by_{b.dimension}":
            return count_table_rows(b.decline_reasons)
    if table == "freshness" and a.capacity_freshness is not None:
        header = ("organisation_id", "organisation_name", "services", "never_updated", "stale", "newest_update",
                  "oldest_update", "days_since_newest", "days_since_oldest", "full", "capacity_total", "capacity_free")
        return header, [[_plain(getattr(f, h)) for h in header] for f in a.capacity_freshness]
    raise LookupError(table)


def available_tables(a: Activity) -> list[str]:
    out = []
    for name in ACTIVITY_TABLES:
        try:
            activity_rows(a, name)
        except LookupError:
            continue
        out.append(name)
    return out


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def to_csv(header_rows: tuple[Sequence[str], list[list[Any]]]) -> str:
    return _csv(*header_rows)


def to_text(header_rows: tuple[Sequence[str], list[list[Any]]], max_rows: int | None = None) -> str:
    """An aligned plain-text table (numbers right-aligned)."""
    header, rows = header_rows
    shown = rows if max_rows is None else rows[:max_rows]
    cells = [list(header)] + [["-" if v is None else str(v) for v in r] for r in shown]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [all(_numberish(r[i]) for r in cells[1:]) and len(cells) > 1 for i in range(len(header))]

    def line(r: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric)).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)] + [line(r) for r in cells[1:]]
    if max_rows is not None and len(rows) > max_rows:
        out.append(f"... {len(rows) - max_rows} more rows")
    return "\n".join(out) + "\n"


def _numberish(text: str) -> bool:
    return text in ("-", "") or text.startswith("<") or text.replace(".", "", 1).replace("-", "", 1).isdigit()
