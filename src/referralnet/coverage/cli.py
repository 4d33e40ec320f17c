"""``referralnet coverage``: the coverage reports from the command line.

    referralnet coverage [--what matrix|gaps|activity|map] [--format csv|json|table]
        [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--distance-km 50] [filters ...] [--output FILE]

Prints the same figures as the API's exports: safe (``<10``) unless ``--disclosure raw`` is given
by someone entitled to the raw figures. A plain-text progress bar goes to stderr while it reads
and computes (``--quiet`` turns it off). ``--what map`` writes the SVG map of ``--service-type``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import msgspec

from referralnet import db
from referralnet.coverage import export, reports
from referralnet.coverage.disclosure import DEFAULT_THRESHOLD
from referralnet.coverage.groups import AGE_GROUPINGS, all_age_groups
from referralnet.coverage.services import resolve_counties, resolve_period
from referralnet.vocabulary.codes import COUNTY_CODES, EXPLOITATION_FORMS, GENDERS, LANGUAGES, SERVICE_TYPES


class ProgressBar:
    """``\\r[#####.....]  52% label`` on a stream; redrawn only when the figure or label changes."""

    def __init__(self, stream: IO[str] | None = None, width: int = 30, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.width, self.enabled = width, enabled
        self._last: tuple[int, str] | None = None

    def __call__(self, fraction: float, label: str) -> None:
        if not self.enabled:
            return
        fraction = min(1.0, max(0.0, fraction))
        key = (int(fraction * 100), label)
        if key == self._last:
            return
        self._last = key
        filled = int(round(fraction * self.width))
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {key[0]:3d}% {label:<36.36}")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self._last is not None:
            self.stream.write("\n")
            self.stream.flush()


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "coverage", help="coverage review: matrix, gaps, network activity or the county map",
        description="Coverage review of the network. Figures about people are shown as <10 for 1-9 (safe) by default.",
    )
    p.add_argument("--what", choices=["matrix", "gaps", "activity", "map"], default="matrix")
    p.add_argument("--format", choices=["csv", "json", "table"], default="table", help="output format (map: always SVG)")
    p.add_argument("--from", dest="start", type=_date, help="first day of the period (UTC); default 365 days before --to")
    p.add_argument("--to", dest="end", type=_date, help="last day of the period (UTC), inclusive; default now")
    p.add_argument("--distance-km", type=float, default=50.0, help="reach: a site within this distance of the county seat")
    p.add_argument("--network", metavar="CODE", help="only this network's members (a code of GET /api/v1/networks)")
    p.add_argument("--county", choices=COUNTY_CODES, metavar="RO-XX")
    p.add_argument("--region", help="a development region, e.g. Nord-Est")
    p.add_argument("--service-type", choices=list(SERVICE_TYPES), metavar="TYPE")
    p.add_argument("--ages", choices=list(AGE_GROUPINGS), default="coarse")
    p.add_argument("--age-group", choices=list(all_age_groups()))
    p.add_argument("--gender", choices=list(GENDERS))
    p.add_argument("--exploitation-form", choices=list(EXPLOITATION_FORMS), metavar="FORM")
    p.add_argument("--by-form", action="store_true", help="one group per form of exploitation")
    p.add_argument("--language", choices=list(LANGUAGES), metavar="CODE")
    p.add_argument("--reason", choices=["no_provider", "no_free_capacity"], help="gaps: only this kind")
    p.add_argument("--table", choices=[*export.ACTIVITY_TABLES, "all"], default="all", help="activity: which table")
    p.add_argument("--mode", choices=["providers", "free_capacity"], default="providers", help="map: what colours the counties")
    p.add_argument("--disclosure", choices=["safe", "raw"], default="safe", help="raw: exact small counts (secretariat only)")
    p.add_argument("--output", "-o", help="write to this file instead of standard output")
    p.add_argument("--bom", action="store_true", help="csv: start with a UTF-8 byte order mark, so that spreadsheets show diacritics")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
    return p


def _filters(args: argparse.Namespace) -> reports.Filters:
    return reports.Filters(
        county=args.county, region=args.region, service_type=args.service_type, ages=args.ages,
        age_group=args.age_group, gender=args.gender, exploitation_form=args.exploitation_form,
        by_form=args.by_form, language=args.language, distance_km=args.distance_km,
    )


def render(report: Any, what: str, fmt: str, table: str = "all") -> str:
    """The text the command prints for a report (pure)."""
    if what == "map":
        return str(report)
    if fmt == "json":
        return msgspec.json.format(msgspec.json.encode(report)).decode() + "\n"
    out = export.to_csv if fmt == "csv" else export.to_text
    if what == "matrix":
        return out(export.matrix_rows(report))
    if what == "gaps":
        return out(export.gap_rows(report))
    names = export.available_tables(report) if table == "all" else [table]
    if len(names) == 1:
        return out(export.activity_rows(report, names[0]))
    return "\n".join(f"# {name}\n{out(export.activity_rows(report, name))}" for name in names)


async def compute(args: argparse.Namespace, now: dt.datetime, progress: Callable[[float, str], None],
                  threshold: int = DEFAULT_THRESHOLD, stale_days: int = 7) -> Any:
    """The report ``args`` ask for, read from the bound database."""
    from referralnet.accounts.schemas import SYSTEM
    from referralnet.directory.networks import scope_for

    safe = args.disclosure == "safe"
    filters = _filters(args)
    members = (await scope_for(SYSTEM, getattr(args, "network", None))).organisations
    if args.what == "map":
        if not args.service_type:
            print("coverage: --what map needs --service-type", file=sys.stderr)
            raise SystemExit(2)  # a usage error, as argparse's
        return await reports.map_svg(
            args.service_type, args.mode, age_group=args.age_group, gender=args.gender,
            exploitation_form=args.exploitation_form, language=args.language, distance_km=args.distance_km,
            organisations=members,
        )
    if args.what == "matrix":
        return await reports.matrix_report(filters, now, safe=safe, progress=progress, organisations=members)
    period = resolve_period(now, args.start, args.end)
    if args.what == "gaps":
        return await reports.gaps_report(filters, now, period, safe=safe, threshold=threshold, reason=args.reason, progress=progress,
                                         organisations=members)  # fmt: skip
    return await reports.activity_report(
        now, period, counties=resolve_counties(args.county, args.region), safe=safe, threshold=threshold,
        stale_days=stale_days, progress=progress, organisations=members,
    )


def run(args: argparse.Namespace) -> int:
    """Entry point of ``referralnet coverage``; returns the exit status."""
    from referralnet.clock import SystemClock
    from referralnet.errors import DomainError
    from referralnet.settings import Settings

    settings = Settings.from_env(database_url=getattr(args, "database_url", None))
    threshold = settings.coverage_disclosure_threshold
    bar = ProgressBar(enabled=not args.quiet)
    now = SystemClock().now()
    try:
        report = asyncio.run(
            db.run_with(settings.database_url, lambda: compute(args, now, bar, threshold, settings.capacity_stale_days))
        )
    except DomainError as exc:
        bar.close()
        print(f"coverage: {exc.field}: {exc.detail}" if exc.field else f"coverage: {exc.detail}", file=sys.stderr)
        return 2
    bar.close()
    text = render(report, args.what, args.format, args.table)
    if args.bom and args.format == "csv" and args.what != "map":
        text = "\ufeff" + text
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
