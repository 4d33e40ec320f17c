"""The secretariat's coverage pages: the county map beside the matrix (a county's row on choosing it) and
the gaps with their unmet demand, each with its CSV download, filtered by network, service type and
victim group. A secretariat bound to networks sees its networks' members only (``scope_for``), as in the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Response, Template

from referralnet.accounts.schemas import Actor
from referralnet.coverage import export, overview, reports
from referralnet.coverage.services import resolve_period
from referralnet.directory import networks
from referralnet.errors import DomainError, Forbidden
from referralnet.params import CurrentClock
from referralnet.texts import N_
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import GENDERS, SERVICE_TYPES
from referralnet.web import i18n
from referralnet.web.controllers import SECURITY_HEADERS
from referralnet.web.institution import LIVE_HEADERS, NotYours, _page
from referralnet.web.session import signed_in

DEFAULT_TYPE = "residential_shelter"
GAPS_SHOWN = 50
AGE_GROUPS = {"minor": N_("minors"), "adult": N_("adults")}
GAP_REASONS = {"no_provider": N_("no provider within reach"), "no_free_capacity": N_("no free place")}
MAP_TITLE = N_("Providers within reach: %(type)s")
MAP_SUBTITLE = N_("For: %(who)s. Reach: the service's area, or a site within 50 km of the county seat.")
MAP_LEGEND = N_("Organisations")
MAP_VALUE = N_("providers")
MAP_UNKNOWN = N_("not reported")
ANY_VICTIM = N_("any victim")
OTHER_NETWORK = N_("you review other networks; this one is not yours")
BAD_CHOICE = N_("this choice is not on the list; choose again")


class BadChoice(NotYours):
    """A filter value the page never offers (a typed address): refused with a page naming no detail."""

    status_code = 400


async def secretariat_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Signed in as a person of the secretariat or an administrator; otherwise to /sign-in, or refused.
    The one guard of every secretariat page (web/secretariat_reports.py, review.py, members.py)."""
    await signed_in(connection, _)
    if connection.scope["user"].role not in ("secretariat", "admin"):
        raise NotYours(N_("these pages are for the secretariat"))


def view_or_page(request: Request[Any, Any, Any], name: str, code: int = 200, /, *, address: str, **context: Any) -> Template:
    """The page ``secretariat/<name>.html``, or for htmx (a filter changed) its view alone, ``secretariat/_<name>.html``,
    telling htmx the address to show (``HX-Push-Url``). A history restore asks with htmx too but wants the whole page."""
    headers = {**LIVE_HEADERS, "Vary": "HX-Request, HX-History-Restore-Request"}
    if request.headers.get("hx-request") == "true" and request.headers.get("hx-history-restore-request") != "true":
        return _page(f"secretariat/_{name}.html", code, headers={**headers, "HX-Push-Url": address}, **context)
    return _page(f"secretariat/{name}.html", code, headers=headers, **context)


@dataclass(frozen=True)
class Choice:
    """The page's filters as the address states them; empty means any."""

    network: str | None = None
    service_type: str | None = DEFAULT_TYPE
    age_group: str | None = None
    gender: str | None = None
    county: str | None = None

    @classmethod
    def of(cls, request: Request[Any, Any, Any], *, default_type: str | None = DEFAULT_TYPE) -> Choice:
        q = request.query_params

        def value(name: str) -> str | None:
            return (q.get(name) or "").strip() or None

        given = value("service_type")
        return cls(network=value("network"), service_type=given if "service_type" in q else default_type,
                   age_group=value("age_group"), gender=value("gender"), county=value("county"))  # fmt: skip

    def query(self, **changes: Any) -> str:
        """The address's query for this choice (with ``changes``), empty values left out."""
        values = {k: v for k, v in {**self.__dict__, **changes}.items() if v}
        return urlencode(values)


def _checked(choice: Choice, *, type_required: bool) -> Choice:
    try:
        overview.check_choice(choice.service_type, choice.age_group, choice.gender, choice.county, type_required=type_required)
    except DomainError:
        raise BadChoice(BAD_CHOICE) from None
    return choice


def _labels(request: Request[Any, Any, Any], scope: networks.Scope, choices: list[Any]) -> dict[str, Any]:
    """Code labels for the templates, the networks to choose from as (code, name) and the names of those in view,
    in the page's language."""
    name = "name_ro" if i18n.locale_of(request) == "ro" else "name_en"
    return {"network_names": [n[name] for n in choices if n["code"] in scope.networks], "networks": [(n["code"], n[name]) for n in choices],
            "service_types": {c: (en, ro) for c, (_g, en, ro) in SERVICE_TYPES.items()}, "age_groups": AGE_GROUPS,
            "genders": GENDERS, "counties": {c: s.name for c, s in geo.counties().items()}, "gap_reasons": GAP_REASONS}  # fmt: skip


async def _scope(actor: Actor, choice: Choice) -> tuple[networks.Scope, list[Any]]:
    """The actor's view of the chosen network, and the networks they may choose from (rows of the network table)."""
    try:
        scope = await networks.scope_for(actor, choice.network)
    except Forbidden:
        raise NotYours(OTHER_NETWORK) from None
    except DomainError:
        raise BadChoice(BAD_CHOICE) from None
    listed = await networks.codes()
    return scope, [listed[c] for c in networks.visible_codes(actor, listed)]


def _map(request: Request[Any, Any, Any], view: overview.Overview, choice: Choice) -> str:
    """The county map in the page's language, each county a link to its row."""
    locale = i18n.locale_of(request)
    t = i18n.translations(locale).gettext
    service_type = choice.service_type or DEFAULT_TYPE
    _group, en, ro = SERVICE_TYPES[service_type]
    who = ", ".join(x for x in (
        t(AGE_GROUPS[choice.age_group]) if choice.age_group else "",
        GENDERS[choice.gender][1 if locale == "ro" else 0].lower() if choice.gender else "",
    ) if x) or t(ANY_VICTIM)  # fmt: skip
    return overview.linked_map(
        view, service_type, href=lambda county: f"/secretariat?{choice.query(county=county)}#county-row",
        title=t(MAP_TITLE) % {"type": ro if locale == "ro" else en}, subtitle=t(MAP_SUBTITLE) % {"who": who},
        legend_title=t(MAP_LEGEND), value_label=t(MAP_VALUE), unknown_label=t(MAP_UNKNOWN),
    )


def csv_response(text: str, filename: str) -> Response[str]:
    """A CSV attachment of the secretariat's pages (their downloads, with the pages' security headers)."""
    return Response(text, media_type="text/csv", headers={**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'})


class SecretariatPages(Controller):
    path = "/secretariat"
    guards = [secretariat_only]
    include_in_schema = False

    @get("/", operation_id="secretariatCoveragePage")
    async def coverage(self, request: Request[Any, Any, Any]) -> Template:
        """Coverage: the county map beside the matrix of one service type and victim group; a county's row."""
        actor, choice = request.scope["user"], Choice.of(request)
        scope, choices = await _scope(actor, _checked(choice, type_required=True))
        view = await overview.overview(age_group=choice.age_group, gender=choice.gender, organisations=scope.organisations)
        return _page("secretariat/coverage.html", headers=LIVE_HEADERS, choice=choice, view=view, scope=scope,
                     printable=request.query_params.get("print") == "1", map_svg=_map(request, view, choice),
                     **_labels(request, scope, choices))  # fmt: skip

    @get("/coverage.csv", operation_id="secretariatCoverageCsv")
    async def coverage_csv(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Response[str]:
        """The coverage matrix export (safe figures) of the page's choice."""
        actor, choice = request.scope["user"], Choice.of(request)
        scope, _ = await _scope(actor, _checked(choice, type_required=True))
        filters = reports.Filters(county=choice.county, service_type=choice.service_type, age_group=choice.age_group,
                                  gender=choice.gender)  # fmt: skip
        report = await reports.matrix_report(filters, clock.now(), safe=True, organisations=scope.organisations)
        return csv_response(export.to_csv(export.matrix_rows(report)), "coverage.csv")

    @get("/gaps", operation_id="secretariatGapsPage")
    async def gaps(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template:
        """Gaps: uncovered county x service x victim-group cells, most unmet demand first."""
        actor, choice = request.scope["user"], Choice.of(request, default_type=None)
        scope, choices = await _scope(actor, _checked(choice, type_required=False))
        report = await self._gaps(request, choice, scope, clock, safe=False, limit=GAPS_SHOWN)
        return _page("secretariat/gaps.html", headers=LIVE_HEADERS, choice=choice, report=report, scope=scope, shown=GAPS_SHOWN,
                     **_labels(request, scope, choices))  # fmt: skip

    @get("/gaps.csv", operation_id="secretariatGapsCsv")
    async def gaps_csv(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Response[str]:
        """The gaps export (safe figures) of the page's choice."""
        actor, choice = request.scope["user"], Choice.of(request, default_type=None)
        scope, _ = await _scope(actor, _checked(choice, type_required=False))
        report = await self._gaps(request, choice, scope, clock, safe=True, limit=None)
        return csv_response(export.to_csv(export.gap_rows(report)), "coverage-gaps.csv")

    async def _gaps(self, request: Request[Any, Any, Any], choice: Choice, scope: networks.Scope, clock: Any, *, safe: bool,
                    limit: int | None) -> Any:  # fmt: skip
        filters = reports.Filters(county=choice.county, service_type=choice.service_type, age_group=choice.age_group,
                                  gender=choice.gender)  # fmt: skip
        now = clock.now()
        return await reports.gaps_report(
            filters, now, resolve_period(now, None, None), safe=safe, limit=limit, organisations=scope.organisations,
            threshold=request.app.state.settings.coverage_disclosure_threshold,
        )
