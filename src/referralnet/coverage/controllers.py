"""HTTP handlers of the coverage review; thin wrappers over :mod:`referralnet.coverage.reports`.

Who sees what:

* the secretariat and admins get raw figures by default and may ask for ``disclosure=safe``;
* institutions and NGOs may call every endpoint but always get the safe version (asking for
  ``disclosure=raw`` is 403); of the activity they see only referrals by county (per-organisation
  answer records and capacity freshness are the secretariat's management information);
* every export (``.csv`` and ``.json``) is safe, whoever asks;
* ``network=CODE`` limits every figure to that network's members; a secretariat bound to networks
  sees its networks' members by default and is refused (403) another network's
  (``directory.networks.scope_for``).

The matrix and the map count providers and capacity, not people, so they read the same either way.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from litestar import Controller, MediaType, Request, get
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter
from litestar.response import Response

from referralnet.accounts.guards import any_role
from referralnet.accounts.schemas import Actor
from referralnet.coverage import export, reports, yearly
from referralnet.coverage.gaps import GapReason
from referralnet.coverage.groups import Ages
from referralnet.coverage.schemas import Activity, CoverageMatrix, Disclosure, GapList, YearlyReport
from referralnet.coverage.services import resolve_counties, resolve_period
from referralnet.directory.networks import scope_for
from referralnet.directory.schemas import NetworkCodeText
from referralnet.errors import Forbidden
from referralnet.params import CurrentActor, CurrentClock, query
from referralnet.vocabulary.codes import CountyCode, ExploitationForm, Gender, LanguageCode, ServiceType

Period = tuple[dt.datetime, dt.datetime]
Distance = Annotated[float, query("Reach: a site within this many km of the county seat (great-circle)", gt=0, le=1000)]
Region = Annotated[str | None, query("Only the counties of this development region, e.g. Nord-Est", max_length=40)]
DisclosureParam = Annotated[Disclosure | None, query("raw (staff only; their default) or safe (<10 for 1-9 people)")]
ActivityTable = Annotated[export.ActivityTable, query("Which table of the activity report")]
CSV = "text/csv"  # Litestar adds "; charset=utf-8" to text types
# ?excel=true: a UTF-8 byte order mark first, so that spreadsheets read the diacritics right.
Excel = Annotated[bool, query("Start with a UTF-8 byte order mark, so that spreadsheets show diacritics")]
BOM = "\ufeff"
Year = Annotated[int, QueryParameter(description="The calendar year (UTC)", ge=2000, le=2100, required=True)]
NetworkParam = Annotated[
    NetworkCodeText | None,
    query("Only this network's members (GET /api/v1/networks); a bound secretariat: its networks by default"),
]


async def provide_members(actor: CurrentActor, network: NetworkParam = None) -> frozenset[int] | None:
    """The member organisations in view (``None``: no limit), from the actor's networks and ``network``."""
    return (await scope_for(actor, network)).organisations


async def provide_filters(
    county: Annotated[CountyCode | None, query("Only this county")] = None,
    region: Region = None,
    service_type: Annotated[ServiceType | None, query("Only this service type")] = None,
    ages: Annotated[Ages, query("Age groups: coarse (minor, adult) or bands (the seven profile age bands)")] = "coarse",
    age_group: Annotated[str | None, query("Only this age group of the grouping", max_length=10)] = None,
    gender: Annotated[Gender | None, query("Only this gender")] = None,
    exploitation_form: Annotated[ExploitationForm | None, query("Groups of people exploited this way")] = None,
    by_form: Annotated[bool, query("One group per form of exploitation (age x gender x form)")] = False,
    language: Annotated[LanguageCode | None, query("Only services speaking this language or interpreting")] = None,
    distance_km: Distance = 50.0,
) -> reports.Filters:
    return reports.Filters(
        county=county, region=region, service_type=service_type, ages=ages, age_group=age_group, gender=gender,
        exploitation_form=exploitation_form, by_form=by_form, language=language, distance_km=distance_km,
    )


async def provide_period(
    clock: CurrentClock,
    start: Annotated[dt.date | None, query("First day of the period (UTC); default 365 days before `to`", name="from")] = None,
    end: Annotated[dt.date | None, query("Last day of the period (UTC), inclusive; default now", name="to")] = None,
) -> Period:
    return resolve_period(clock.now(), start, end)


def _safe(actor: Actor, disclosure: Disclosure | None) -> bool:
    if disclosure == "raw" and not actor.is_staff:
        raise Forbidden("raw figures are for the secretariat; use disclosure=safe", field="disclosure")
    return disclosure == "safe" or not actor.is_staff


def _policy(request: Request[Any, Any, Any]) -> tuple[int, int]:
    settings = request.app.state.settings
    return settings.coverage_disclosure_threshold, settings.capacity_stale_days


def _download(content: Any, filename: str, media_type: str) -> Response[Any]:
    return Response(content, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


class CoverageController(Controller):
    path = "/api/v1"
    tags = ["coverage"]
    guards = [any_role]
    dependencies = {
        "filters": Provide(provide_filters), "period": Provide(provide_period), "members": Provide(provide_members),
    }  # fmt: skip

    async def _gaps(self, request: Request[Any, Any, Any], filters: reports.Filters, period: Period, clock: Any,
                    safe: bool, reason: GapReason | None, limit: int | None, members: frozenset[int] | None) -> GapList:
        threshold, _ = _policy(request)
        return await reports.gaps_report(filters, clock.now(), period, safe=safe, threshold=threshold, reason=reason, limit=limit,
                                         organisations=members)  # fmt: skip

    async def _activity(self, request: Request[Any, Any, Any], actor: Actor, period: Period, clock: Any,
                        county: str | None, region: str | None, safe: bool, members: frozenset[int] | None) -> Activity:
        threshold, stale_days = _policy(request)
        return await reports.activity_report(
            clock.now(), period, counties=resolve_counties(county, region), safe=safe, full=actor.is_staff,
            threshold=threshold, stale_days=stale_days, organisations=members,
        )

    @get("/coverage", operation_id="getCoverageMatrix")
    async def matrix(
        self, actor: CurrentActor, clock: CurrentClock, filters: NamedDependency[reports.Filters],
        members: NamedDependency[frozenset[int] | None], disclosure: DisclosureParam = None,
    ) -> CoverageMatrix:
        """Providers, services and capacity within reach per county x service type x victim group."""
        return await reports.matrix_report(filters, clock.now(), safe=_safe(actor, disclosure), organisations=members)

    @get("/coverage.csv", operation_id="exportCoverageMatrixCsv", media_type=CSV)
    async def matrix_csv(
        self, clock: CurrentClock, filters: NamedDependency[reports.Filters], members: NamedDependency[frozenset[int] | None],
        excel: Excel = False,
    ) -> Response[str]:
        """The coverage matrix as CSV (one row per cell)."""
        report = await reports.matrix_report(filters, clock.now(), safe=True, organisations=members)
        return _download(BOM * excel + export.to_csv(export.matrix_rows(report)), "coverage.csv", CSV)

    @get("/coverage.json", operation_id="exportCoverageMatrixJson")
    async def matrix_json(
        self, clock: CurrentClock, filters: NamedDependency[reports.Filters], members: NamedDependency[frozenset[int] | None]
    ) -> Response[CoverageMatrix]:
        """The coverage matrix as a JSON download (safe figures)."""
        report = await reports.matrix_report(filters, clock.now(), safe=True, organisations=members)
        return _download(report, "coverage.json", MediaType.JSON)

    @get("/coverage/gaps", operation_id="listCoverageGaps")
    async def gaps(
        self, request: Request[Any, Any, Any], actor: CurrentActor, clock: CurrentClock,
        filters: NamedDependency[reports.Filters], period: NamedDependency[Period],
        reason: Annotated[GapReason | None, query("Only gaps of this kind")] = None,
        limit: Annotated[int, query("At most this many gaps (the total is always given)", ge=1, le=100_000)] = 500,
        disclosure: DisclosureParam = None, members: NamedDependency[frozenset[int] | None] = None,
    ) -> GapList:
        """County x need combinations with no provider within reach or no free place, most unplaced referrals first."""
        return await self._gaps(request, filters, period, clock, _safe(actor, disclosure), reason, limit, members)

    @get("/coverage/gaps.csv", operation_id="exportCoverageGapsCsv", media_type=CSV)
    async def gaps_csv(
        self, request: Request[Any, Any, Any], clock: CurrentClock, filters: NamedDependency[reports.Filters],
        period: NamedDependency[Period], reason: Annotated[GapReason | None, query("Only gaps of this kind")] = None,
        excel: Excel = False, members: NamedDependency[frozenset[int] | None] = None,
    ) -> Response[str]:
        """Every gap as CSV (safe figures)."""
        report = await self._gaps(request, filters, period, clock, True, reason, None, members)
        return _download(BOM * excel + export.to_csv(export.gap_rows(report)), "coverage-gaps.csv", CSV)

    @get("/coverage/gaps.json", operation_id="exportCoverageGapsJson")
    async def gaps_json(
        self, request: Request[Any, Any, Any], clock: CurrentClock, filters: NamedDependency[reports.Filters],
        period: NamedDependency[Period], reason: Annotated[GapReason | None, query("Only gaps of this kind")] = None,
        members: NamedDependency[frozenset[int] | None] = None,
    ) -> Response[GapList]:
        """Every gap as a JSON download (safe figures)."""
        report = await self._gaps(request, filters, period, clock, True, reason, None, members)
        return _download(report, "coverage-gaps.json", MediaType.JSON)

    @get("/coverage/activity", operation_id="getNetworkActivity")
    async def activity(
        self, request: Request[Any, Any, Any], actor: CurrentActor, clock: CurrentClock, period: NamedDependency[Period],
        county: Annotated[CountyCode | None, query("Only referrals from this county")] = None,
        region: Region = None,
        disclosure: DisclosureParam = None, members: NamedDependency[frozenset[int] | None] = None,
    ) -> Activity:
        """Referrals by county, urgency and outcome, placement times, answers per organisation, capacity freshness."""
        return await self._activity(request, actor, period, clock, county, region, _safe(actor, disclosure), members)

    @get("/coverage/activity.csv", operation_id="exportNetworkActivityCsv", media_type=CSV)
    async def activity_csv(
        self, request: Request[Any, Any, Any], actor: CurrentActor, clock: CurrentClock, period: NamedDependency[Period],
        table: ActivityTable = "counties",
        county: Annotated[CountyCode | None, query("Only referrals from this county")] = None,
        region: Region = None,
        excel: Excel = False, members: NamedDependency[frozenset[int] | None] = None,
    ) -> Response[str]:
        """One table of the activity report as CSV (safe figures; non-staff: counties only)."""
        report = await self._activity(request, actor, period, clock, county, region, True, members)
        try:
            rows = export.activity_rows(report, table)
        except LookupError:
            raise Forbidden("only the counties table is available to this role", field="table") from None
        return _download(BOM * excel + export.to_csv(rows), f"coverage-activity-{table}.csv", CSV)

    @get("/coverage/activity.json", operation_id="exportNetworkActivityJson")
    async def activity_json(
        self, request: Request[Any, Any, Any], actor: CurrentActor, clock: CurrentClock, period: NamedDependency[Period],
        county: Annotated[CountyCode | None, query("Only referrals from this county")] = None,
        region: Region = None, members: NamedDependency[frozenset[int] | None] = None,
    ) -> Response[Activity]:
        """The activity report as a JSON download (safe figures)."""
        report = await self._activity(request, actor, period, clock, county, region, True, members)
        return _download(report, "coverage-activity.json", MediaType.JSON)

    @get("/coverage/map.svg", operation_id="getCoverageMap", media_type="image/svg+xml")
    async def map_svg(
        self,
        service_type: Annotated[ServiceType, QueryParameter(description="The service type to map", required=True)],
        mode: Annotated[Literal["providers", "free_capacity"], query("Colour by providers or by free capacity")] = "providers",
        age_group: Annotated[str | None, query("minor, adult or a profile age band", max_length=10)] = None,
        gender: Annotated[Gender | None, query("Only providers admitting this gender")] = None,
        exploitation_form: Annotated[ExploitationForm | None, query("Only providers admitting this form")] = None,
        language: Annotated[LanguageCode | None, query("Only services speaking this language or interpreting")] = None,
        distance_km: Distance = 50.0,
        members: NamedDependency[frozenset[int] | None] = None,
    ) -> Response[str]:
        """Romania's counties coloured by providers (or free capacity) within reach, as SVG."""
        svg = await reports.map_svg(
            service_type, mode, age_group=age_group, gender=gender, exploitation_form=exploitation_form,
            language=language, distance_km=distance_km, organisations=members,
        )
        return Response(svg, media_type="image/svg+xml")

    async def _yearly(self, request: Request[Any, Any, Any], actor: Actor, year: int, network: str | None, safe: bool) -> YearlyReport:
        scope = await scope_for(actor, network)
        threshold, _ = _policy(request)
        return await yearly.yearly_report(year, organisations=scope.organisations, networks=list(scope.networks), safe=safe,
                                          threshold=threshold)  # fmt: skip

    @get("/coverage/report", operation_id="getYearlyReport")
    async def yearly_report(
        self, request: Request[Any, Any, Any], actor: CurrentActor, year: Year, network: NetworkParam = None,
        disclosure: DisclosureParam = None,
    ) -> YearlyReport:
        """A network's yearly report: distinct people placed by its members per service group and outcome."""
        return await self._yearly(request, actor, year, network, _safe(actor, disclosure))

    @get("/coverage/report.csv", operation_id="exportYearlyReportCsv", media_type=CSV)
    async def yearly_report_csv(
        self, request: Request[Any, Any, Any], actor: CurrentActor, year: Year, network: NetworkParam = None, excel: Excel = False
    ) -> Response[str]:
        """The yearly report as CSV (safe figures; English labels)."""
        report = await self._yearly(request, actor, year, network, True)
        suffix = "-" + "-".join(report.networks) if report.networks else ""
        return _download(BOM * excel + export.to_csv(yearly.csv_rows(report)), f"report-{year}{suffix}.csv", CSV)
