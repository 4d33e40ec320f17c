"""A platform's yearly report: distinct referrals placed in a year per service group and outcome.

What a platform publishes each year (the ProTECT brochure: beneficiaries of residential
accommodation, of day-centre services, of reintegration, repatriations). Definitions:

* a referral counts in the year when one of its needs was placed (``referral_need.placed_at``) in
  ``[1 January, 1 January next)`` UTC; with ``organisations``, only needs placed with a member
  organisation (the accepted offer's organisation) count;
* the row of a placed need is the :data:`~referralnet.vocabulary.codes.REPORT_GROUPS` group of its
  service type; a referral counts once per group (two shelters in a year are one beneficiary of
  residential accommodation), and once in the row ``any``;
* its column is the referral's recorded outcome, else ``cancelled`` (cancelled after placement),
  else ``ongoing`` (not closed yet).

Rows are additive (a referral has one outcome); the groups overlap, so there are no column totals.
With ``safe``, each row and its total go through the disclosure rule of
:mod:`referralnet.coverage.disclosure` (``<10`` for 1-9 people, ``x`` for a complement).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from referralnet.coverage import disclosure
from referralnet.coverage.schemas import YearlyReport, YearlyRow
from referralnet.dialect.lists import in_ids
from referralnet.tables import Referral
from referralnet.vocabulary.codes import OUTCOMES, REPORT_GROUPS

COLUMNS: tuple[str, ...] = (*OUTCOMES, "cancelled", "ongoing")
ROWS: tuple[str, ...] = (*REPORT_GROUPS, "any")
ANY_LABEL = ("Any service", "Orice serviciu")

# Constant SQL built from the code lists (no user input).
GROUP_SQL = "CASE " + " ".join(
    f"WHEN n.service_type IN ({', '.join(repr(t) for t in types)}) THEN '{code}'" for code, (_, _, types) in REPORT_GROUPS.items()
) + " ELSE 'other' END"
OUTCOME_SQL = "CASE WHEN r.outcome IS NOT NULL THEN r.outcome WHEN r.status = 'cancelled' THEN 'cancelled' ELSE 'ongoing' END"


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    utc = dt.timezone.utc
    return dt.datetime(year, 1, 1, tzinfo=utc), dt.datetime(year + 1, 1, 1, tzinfo=utc)


def label(group: str, lang: str = "en") -> str:
    en, ro = ANY_LABEL if group == "any" else REPORT_GROUPS[group][:2]
    return ro if lang == "ro" else en


async def raw_counts(year: int, organisations: frozenset[int] | None = None) -> dict[tuple[str, str], int]:
    """(group or "any", outcome) -> distinct referrals placed in the year, counted in SQL."""
    where = "n.placed_at >= {} AND n.placed_at < {}"
    args: list[Any] = list(year_bounds(year))
    if organisations is not None:
        member, extra = in_ids("f.organisation", sorted(organisations))
        where += f" AND EXISTS (SELECT 1 FROM offer f WHERE f.id = n.placed_offer AND {member})"
        args += extra
    base = f"FROM referral_need n JOIN referral r ON r.id = n.referral WHERE {where}"
    out: dict[tuple[str, str], int] = {}
    for row in await Referral.raw(
        f"SELECT {GROUP_SQL} AS grp, {OUTCOME_SQL} AS outcome, count(DISTINCT n.referral) AS n {base} GROUP BY 1, 2", *args
    ):
        out[(row["grp"], row["outcome"])] = int(row["n"])
    for row in await Referral.raw(f"SELECT {OUTCOME_SQL} AS outcome, count(DISTINCT n.referral) AS n {base} GROUP BY 1", *args):
        out[("any", row["outcome"])] = int(row["n"])
    return out


def build(counts: dict[tuple[str, str], int], *, year: int, networks: list[str], safe: bool,
          threshold: int = disclosure.DEFAULT_THRESHOLD) -> YearlyReport:
    """Pure: the report's rows from :func:`raw_counts`, each row suppressed on its own line when ``safe``."""
    rows = []
    for group in ROWS:
        values = [counts.get((group, c), 0) for c in COLUMNS]
        if safe:
            table = disclosure.suppress_table([values], threshold)
            cells, totals, _, _ = table.shown(threshold)
            shown, total = cells[0], totals[0]
        else:
            shown, total = list(values), int(np.sum(values))
        rows.append(YearlyRow(group=group, label=label(group), cells=shown, total=total))
    return YearlyReport(year=year, networks=networks, disclosure="safe" if safe else "raw", threshold=threshold,
                        columns=list(COLUMNS), rows=rows)  # fmt: skip


async def yearly_report(year: int, *, organisations: frozenset[int] | None = None, networks: list[str] | None = None,
                        safe: bool = True, threshold: int = disclosure.DEFAULT_THRESHOLD) -> YearlyReport:
    """The yearly report of the organisations in view (``None``: every organisation)."""
    counts = await raw_counts(year, organisations)
    return build(counts, year=year, networks=networks or [], safe=safe, threshold=threshold)


def csv_rows(report: YearlyReport, lang: str = "en") -> tuple[list[str], list[list[Any]]]:
    """(header, rows) for the CSV download: one row per group, the outcome columns and the total."""
    header = ["group", "label", *report.columns, "total"]
    return header, [[r.group, label(r.group, lang), *r.cells, r.total] for r in report.rows]
