"""The application factory."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from litestar import Litestar, MediaType, Request, Router, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.response import Redirect, Response
from litestar.static_files import create_static_files_router

from referralnet import __version__, db, openapi, params
from referralnet.accounts.cache import TokenCache
from referralnet.accounts.controllers import TokenController
from referralnet.accounts.guards import BearerTokenMiddleware, guard_without_copies
from referralnet.clock import Clock, SystemClock
from referralnet.coverage.controllers import CoverageController
from referralnet.directory.controllers import NetworkController, OrganisationController, ServiceController
from referralnet.directory.listing import ListCounts
from referralnet.directory.search import OrganisationIndex
from referralnet.errors import exception_handlers
from referralnet.interop.controllers import FhirReferralController, FhirVocabularyController, HsdsController
from referralnet.matching.cache import DirectoryCache
from referralnet.matching.controllers import MatchController
from referralnet.notifications import signing
from referralnet.notifications.controllers import NotificationController, WebhookSecretController
from referralnet.referrals.controllers import DeclineController, OfferController, ReferralController, TaskController
from referralnet.scheduler import build_scheduler
from referralnet.settings import Settings
from referralnet.strict import query_names, strict_request
from referralnet.vocabulary import geo
from referralnet.vocabulary.controllers import VocabularyController
from referralnet.web.auth import AccountPages
from referralnet.web.capacity import CapacityLinkController
from referralnet.web.controllers import RespondController, template_config
from referralnet.web.institution import InstitutionPages, NotYours, forbidden_page
from referralnet.web.members import MembersPages, PeoplePages
from referralnet.web.ngo import NgoPages
from referralnet.web.ngo_offer import NgoOfferPages
from referralnet.web.ngo_org import NgoOrganisationPages
from referralnet.web.review import ReviewPages
from referralnet.web.secretariat import SecretariatPages
from referralnet.web.secretariat_reports import SecretariatReportPages
from referralnet.web.session import PAGE_PATHS, SessionMiddleware, SignInRequired, safe_next, sign_in_url

log = logging.getLogger("referralnet")

# Operations that need no token (documented as such in OpenAPI).
PUBLIC_OPERATIONS = ("/health", "/api/v1/vocabulary", "/respond/")
# Paths served without a token: health, the OpenAPI document, static files, the public vocabulary, one-click pages.
PUBLIC_PATHS = [r"^/health$", r"^/schema", r"^/static/", r"^/api/v1/vocabulary", r"^/respond/"]
STATIC_DIR = Path(__file__).parent / "web" / "static"
# Bearer-token calls carry no cookie credentials, so the API needs no CSRF token; the one-click pages'
# POSTs are authorised by the unguessable signed token in their own URL, which a forger cannot know.
CSRF_EXEMPT = [r"^/api/", r"^/hsds", r"^/health$", r"^/schema", r"^/respond/"]
# Page handlers: authenticated by the session cookie (web/session.py). issue-16 appends its controllers.
PAGE_HANDLERS: list[Any] = [
    AccountPages, InstitutionPages, NgoPages, NgoOfferPages, NgoOrganisationPages, SecretariatPages, SecretariatReportPages, ReviewPages,
    MembersPages, PeoplePages,
]


def _to_sign_in(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    if request.headers.get("hx-request") == "true":  # a page's background refresh: the whole page goes to sign-in
        page = safe_next(urlsplit(request.headers.get("hx-current-url", "")).path or "/")
        return Response(b"", status_code=204, headers={"HX-Redirect": sign_in_url(page)})
    return Redirect(sign_in_url(exc.next_path), status_code=303)


@get("/health", operation_id="health", tags=["ops"], media_type=MediaType.JSON)
async def health(state: State) -> Response[dict[str, Any]]:
    """200 when the database answers, 503 otherwise."""
    ok = await db.ping(state.engine)
    return Response(
        {"status": "ok" if ok else "unavailable", "database": "ok" if ok else "unreachable", "version": __version__},
        status_code=200 if ok else 503,
    )


def _freeze_startup_heap() -> None:
    """Once a process: move what startup built (modules, routes, schemas, geography) out of the cycle collector's sight.

    Every full collection walked all of it (about 150k objects, 60-70 ms here), stalling each request in flight;
    under load these stalls were the p99 of a capacity update and of a match.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()


async def _csrf_secret(settings: Settings) -> str:
    import hashlib
    import hmac

    key = await signing.instance_key(settings.secret_key)
    return hmac.new(key.encode(), b"referralnet csrf", hashlib.sha256).hexdigest()


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Litestar:
    """Build the app for ``settings`` (default: from the environment). Tests inject a clock."""
    settings = settings or Settings.from_env()
    engine = db.make_engine(settings.database_url)

    app_clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        db.bind(engine)
        await db.start(engine, pool_min=settings.db_pool_min, pool_max=settings.db_pool_max)
        geo.preload()  # before serving: built inside a request, it held up every other one
        # One CSRF key for every instance: derived from the instance key kept in the database.
        csrf.secret = await _csrf_secret(settings)
        scheduler = build_scheduler(settings, app_clock) if settings.scheduler else None
        if scheduler is not None:
            scheduler.start()  # on the serving loop: APScheduler 3's AsyncIOScheduler binds to it here
        _freeze_startup_heap()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            await db.stop(engine)

    # The token reaches forms through the page, never through scripts: the cookie can be HttpOnly.
    csrf = CSRFConfig(secret="set-at-startup", cookie_secure=settings.cookie_secure, cookie_httponly=True, exclude=CSRF_EXEMPT)
    pages = Router(path="/", route_handlers=PAGE_HANDLERS, middleware=[DefineMiddleware(SessionMiddleware)],
                   exception_handlers={SignInRequired: _to_sign_in, NotYours: forbidden_page}, include_in_schema=False)  # fmt: skip
    app = Litestar(
        csrf_config=csrf,
        route_handlers=[
            pages,
            create_static_files_router(path="/static", directories=[STATIC_DIR], include_in_schema=False),
            health,
            VocabularyController,
            OrganisationController,
            ServiceController,
            NetworkController,
            MatchController,
            ReferralController,
            OfferController,
            DeclineController,
            TaskController,
            CoverageController,
            NotificationController,
            WebhookSecretController,
            RespondController,
            CapacityLinkController,
            TokenController,
            HsdsController,
            FhirReferralController,
            FhirVocabularyController,
        ],
        # OPTIONS too: Litestar skips it by default (for CORS preflight, which this API does not serve).
        middleware=[DefineMiddleware(BearerTokenMiddleware, exclude=PUBLIC_PATHS + PAGE_PATHS, exclude_http_methods=[])],
        dependencies=params.dependencies(app_clock),
        exception_handlers=exception_handlers,
        before_request=strict_request,
        template_config=template_config(),
        lifespan=[lifespan],
        state=State(
            {
                "settings": settings,
                "engine": engine,
                "clock": app_clock,
                "matching_cache": DirectoryCache(),
                "token_cache": TokenCache(),
                "organisation_index": OrganisationIndex(),
                "list_counts": ListCounts(),
            }
        ),
        openapi_config=OpenAPIConfig(
            title="referralnet",
            version=__version__,
            description="Directory, matching and referrals for anti-trafficking NGO networks (MNIR, Romania).",
            path="/schema",
            render_plugins=[
                JsonRenderPlugin(path=["/", "/openapi.json"]),
                YamlRenderPlugin(path="/openapi.yaml"),
                # Swagger UI from our own static files: Litestar's defaults would load it from a CDN.
                SwaggerRenderPlugin(
                    path="/swagger",
                    js_url="/static/swagger/swagger-ui-bundle.js",
                    css_url="/static/swagger/swagger-ui.css",
                    standalone_preset_js_url="/static/swagger/swagger-ui-standalone-preset.js",
                    favicon="",
                ),
            ],
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer", description="referralnet API token")}
            ),
            security=[{"BearerToken": []}],
        ),
        debug=settings.debug,
    )
    openapi.install(app, PUBLIC_OPERATIONS)
    guard_without_copies(app)
    app.state.query_names = query_names(app)
    return app
