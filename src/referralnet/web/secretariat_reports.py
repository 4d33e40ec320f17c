"""The secretariat's activity and yearly report pages, with their CSV downloads and printable views.

Secretariat and admin people only. The figures are the API's (``GET /api/v1/coverage/activity``, the
yearly report of :mod:`referralnet.coverage.yearly`), always with small counts suppressed as in the
exports, for the networks the person may see (:func:`referralnet.directory.networks.scope_for`).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.response import Response, Template

from referralnet.coverage import export, reports, yearly
from referralnet.coverage.services import resolve_counties, resolve_period
from referralnet.directory import networks
from referralnet.errors import DomainError, Forbidden
from referralnet.params import CurrentClock
from referralnet.texts import N_
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import COUNTY_CODES
from referralnet.web import i18n, report_views
from referralnet.web.controllers import SECURITY_HEADERS
from referralnet.web.secretariat import csv_response, secretariat_only, view_or_page

MONTH = re.compile(r"^(\d{4})-(\d{2})$")
BAD_MONTH = N_("give a month as year and month, e.g. 2026-03")
BAD_ORDER = N_("the first month must not be after the last")
TOO_LONG = N_("choose at most 120 months")
BAD_COUNTY = N_("choose a county from the list")
BAD_YEAR = N_("give a year between 2000 and next year")
BAD_NETWORK = N_("there is no such network; choose one from the list")
OTHER_NETWORK = N_("you review other networks than this one")
CSV = "text/csv"


@dataclass
class Choice:
    """What the person asked for, as typed, and what was wrong with it (catalogue texts by field)."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def _month(text: str) -> tuple[int, int] | None:
    found = MONTH.match(text)
    if not found or not 1 <= int(found[2]) <= 12 or not 2000 <= int(found[1]) <= 2100:
        return None
    return int(found[1]), int(found[2])


def _months_before(now: dt.datetime, back: int) -> str:
    index = now.year * 12 + now.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def read_period(query: Any, now: dt.datetime, choice: Choice) -> tuple[dt.datetime, dt.datetime] | None:
    """The months ``from`` .. ``to`` (inclusive; default the last 12 months) as the activity's ``[from, to)``."""
    start_text = query.get("from") or _months_before(now, 11)
    end_text = query.get("to") or _months_before(now, 0)
    choice.values.update({"from": start_text, "to": end_text})
    start, end = _month(start_text), _month(end_text)
    if start is None:
        choice.errors["from"] = BAD_MONTH
    if end is None:
        choice.errors["to"] = BAD_MONTH
    if start is None or end is None:
        return None
    if start > end:
        choice.errors["from"] = BAD_ORDER
        return None
    if (end[0] - start[0]) * 12 + end[1] - start[1] >= 120:
        choice.errors["from"] = TOO_LONG
        return None
    last = dt.date(end[0], end[1], calendar.monthrange(*end)[1])
    return resolve_period(now, dt.date(start[0], start[1], 1), last)


async def read_scope(actor: Any, query: Any, choice: Choice) -> networks.Scope | None:
    """The networks in view: the one chosen (if the person may see it), else the person's own."""
    code = (query.get("network") or "").strip() or None
    choice.values["network"] = code or ""
    if code is not None and code not in await networks.codes():
        choice.errors["network"] = BAD_NETWORK
        return None
    try:
        return await networks.scope_for(actor, code)
    except Forbidden:
        choice.errors["network"] = OTHER_NETWORK
    except DomainError:
        choice.errors["network"] = BAD_NETWORK
    return None


async def network_options(actor: Any, locale: str) -> list[tuple[str, str]]:
    """(code, name) of the networks the person may choose, in the page's language."""
    known = await networks.codes()
    return [(c, known[c]["name_ro" if locale == "ro" else "name_en"]) for c in networks.visible_codes(actor, known)]


@dataclass
class ActivityQuery:
    choice: Choice
    period: tuple[dt.datetime, dt.datetime] | None
    scope: networks.Scope | None
    county: str | None


async def read_activity_query(request: Request[Any, Any, Any], now: dt.datetime) -> ActivityQuery:
    query = request.query_params
    choice = Choice(values={})
    period = read_period(query, now, choice)
    scope = await read_scope(request.scope["user"], query, choice)
    county = (query.get("county") or "").strip() or None
    choice.values["county"] = county or ""
    if county is not None and county not in COUNTY_CODES:
        choice.errors["county"] = BAD_COUNTY
    return ActivityQuery(choice=choice, period=period, scope=scope, county=county)


async def _activity(request: Request[Any, Any, Any], q: ActivityQuery, now: dt.datetime) -> Any:
    settings = request.app.state.settings
    assert q.period is not None and q.scope is not None
    return await reports.activity_report(
        now, q.period, counties=resolve_counties(q.county), safe=True, full=True, threshold=settings.coverage_disclosure_threshold,
        stale_days=settings.capacity_stale_days, organisations=q.scope.organisations,
    )  # fmt: skip


def _query_string(values: dict[str, str], **extra: str) -> str:
    return urlencode({k: v for k, v in {**values, **extra}.items() if v})


def _address(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


class SecretariatReportPages(Controller):
    path = "/secretariat"
    include_in_schema = False
    guards = [secretariat_only]

    @get("/activity", operation_id="secretariatActivityPage", include_in_schema=False)
    async def activity(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template:
        """Referrals, placement and response times, acceptance and decline reasons by month, county and institution type."""
        now = clock.now()
        locale = i18n.locale_of(request)
        q = await read_activity_query(request, now)
        context: dict[str, Any] = {
            "choice": q.choice, "networks": await network_options(request.scope["user"], locale),
            "counties": [(code, c.name) for code, c in geo.counties().items()], "printable": request.query_params.get("print") == "1",
            "query": _query_string(q.choice.values), "report": None, "sections": [], "declines": [],
        }  # fmt: skip
        address = _address("/secretariat/activity", context["query"])
        if q.choice.errors:
            return view_or_page(request, "activity", 422, address=address, **context)
        report = await _activity(request, q, now)
        sections, declines = report_views.activity_sections(report, locale)
        words = report_views.Words(locale)
        context["months"] = (words.month(q.choice.values["from"]), words.month(q.choice.values["to"]))
        return view_or_page(request, "activity", address=address, report=report, sections=sections, declines=declines,
                            **{k: v for k, v in context.items() if k not in ("report", "sections", "declines")})  # fmt: skip

    @get("/activity.csv", operation_id="secretariatActivityCsv", include_in_schema=False, media_type=CSV)
    async def activity_csv(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Response[str]:
        """One table of the activity page as CSV (the API's export, same filters)."""
        now = clock.now()
        table = request.query_params.get("table") or "months"
        q = await read_activity_query(request, now)
        if q.choice.errors or table not in export.ACTIVITY_TABLES:
            return Response("the filters or the table are not valid\r\n", media_type=CSV, status_code=400, headers=SECURITY_HEADERS)
        report = await _activity(request, q, now)
        return csv_response(export.to_csv(export.activity_rows(report, table)), f"activity-{table}.csv")

    async def _yearly(self, request: Request[Any, Any, Any], now: dt.datetime) -> tuple[Choice, Any]:
        query = request.query_params
        choice = Choice(values={})
        text = (query.get("year") or str(now.year)).strip()
        choice.values["year"] = text
        if not text.isdigit() or not 2000 <= int(text) <= now.year + 1:
            choice.errors["year"] = BAD_YEAR
        scope = await read_scope(request.scope["user"], query, choice)
        if choice.errors or scope is None:
            return choice, None
        report = await yearly.yearly_report(int(text), organisations=scope.organisations, networks=list(scope.networks),
                                            safe=True, threshold=request.app.state.settings.coverage_disclosure_threshold)  # fmt: skip
        return choice, report

    @get("/report", operation_id="secretariatYearlyReportPage", include_in_schema=False)
    async def report(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template:
        """The yearly report of a network: people placed per service group and outcome, suppressed, printable."""
        locale = i18n.locale_of(request)
        choice, report = await self._yearly(request, clock.now())
        context: dict[str, Any] = {"choice": choice, "networks": await network_options(request.scope["user"], locale),
                   "printable": request.query_params.get("print") == "1", "query": _query_string(choice.values)}  # fmt: skip
        address = _address("/secretariat/report", context["query"])
        if report is None:
            return view_or_page(request, "report", 422, address=address, report=None, section=None, **context)
        return view_or_page(request, "report", address=address, report=report, section=report_views.yearly_section(report, locale),
                            **context)  # fmt: skip

    @get("/report.csv", operation_id="secretariatYearlyReportCsv", include_in_schema=False, media_type=CSV)
    async def report_csv(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Response[str]:
        """The yearly report's table as CSV (suppressed figures, labels in the page's language)."""
        choice, report = await self._yearly(request, clock.now())
        if report is None:
            return Response("the year or the network is not valid\r\n", media_type=CSV, status_code=400, headers=SECURITY_HEADERS)
        rows = yearly.csv_rows(report, i18n.locale_of(request))
        return csv_response(export.to_csv(rows), f"report-{report.year}{'-' + '-'.join(report.networks) if report.networks else ''}.csv")
