"""The authorisation matrix: every route of the app, every role, and someone else's object, on both engines.

``MATRIX`` is the one table of who may call what. Its keys must be exactly the app's route table
(method and path, as Litestar registers them), so a route added without an entry fails
``test_every_route_has_an_entry`` and names the route to add.

Columns: ``anon`` (no token), ``inst`` and ``ngo`` acting on their own object (the institution that
made the referral; the NGO that owns the organisation, service or offer), ``inst*`` and ``ngo*``
acting on someone else's (another institution, another NGO), ``sec`` (secretariat) and ``admin``.
A route with no object of anyone's has the same figures in the own and other columns.

Pages (the paths the app serves by session, ``PAGE_PATHS``) are called as a signed-in *person* of each
column's role, with the session cookie and, on a POST, a valid CSRF token; ``anon`` has no session.
There ``303s`` is a 303 to the sign-in page, and a plain ``303`` one anywhere else: a person whose
session works is never sent to sign in, and a visitor without one always is.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
from typing import Any, NamedTuple

from litestar import Litestar
from litestar.routes import HTTPRoute

from referralnet.accounts import people, sessions
from referralnet.app import create_app
from referralnet.settings import Settings
from referralnet.tables import Notification, Offer, Referral, Service
from referralnet.web.session import PAGE_PATHS
from tests.conftest import Tokens, in_app
from tests.integration.helpers import PROFILE, make_org, make_service, shelter
from tests.integration.test_institution_pages import FORM
from tests.integration.test_people import PASSWORD

COLUMNS = ("anon", "inst", "inst*", "ngo", "ngo*", "sec", "admin")
# Added by Litestar for every path (CORS preflight and HEAD of static files), answered alike for all.
AUTOMATIC_METHODS = {"OPTIONS", "HEAD"}


class Entry(NamedTuple):
    """Expected statuses in COLUMNS order, and the object the path points at (fresh for each call when it changes state)."""

    statuses: str
    target: str | None = None
    body: Any = None
    query: str = ""


# fmt: off
MATRIX: dict[tuple[str, str], Entry] = {
    #                                                            anon inst inst* ngo ngo* sec admin
    ("GET", "/health"):                                    Entry("200  200  200  200  200  200  200"),
    ("GET", "/static/{file_path:path}"):                   Entry("200  200  200  200  200  200  200"),
    ("GET", "/schema"):                                    Entry("200  200  200  200  200  200  200"),
    ("GET", "/schema/openapi.json"):                       Entry("200  200  200  200  200  200  200"),
    ("GET", "/schema/openapi.yaml"):                       Entry("200  200  200  200  200  200  200"),
    ("GET", "/schema/swagger"):                            Entry("200  200  200  200  200  200  200"),
    ("GET", "/schema/oauth2-redirect.html"):               Entry("200  200  200  200  200  200  200"),
    ("GET", "/schema/{path:str}"):                         Entry("404  404  404  404  404  404  404"),
    # Public vocabulary.
    ("GET", "/api/v1/vocabulary"):                         Entry("200  200  200  200  200  200  200"),
    ("GET", "/api/v1/vocabulary/localities"):              Entry("200  200  200  200  200  200  200", query="county=RO-IS&q=pas"),
    ("GET", "/api/v1/vocabulary/fhir/CodeSystem/{name:str}"): Entry("200  200  200  200  200  200  200"),
    # Directory: everyone with a token reads; an NGO changes only its own organisation.
    ("GET", "/api/v1/organisations"):                      Entry("401  200  200  200  200  200  200"),
    ("POST", "/api/v1/organisations"):                     Entry("401  403  403  403  403  201  201", body="new_org"),
    ("GET", "/api/v1/organisations/{org_id:int}"):         Entry("401  200  200  200  200  200  200", "org"),
    ("PATCH", "/api/v1/organisations/{org_id:int}"):       Entry("401  403  403  200  403  200  200", "org", {"short_name": "Casa A"}),
    ("POST", "/api/v1/organisations/{org_id:int}/services"): Entry("401  403  403  201  403  201  201", "org", "new_service"),
    ("POST", "/api/v1/organisations/{org_id:int}/webhook-secret"): Entry("401  403  403  201  403  201  201", "org"),
    # Networks: the staff list them (a bound secretariat its own); admins add networks and change members.
    ("GET", "/api/v1/networks"):                           Entry("401  403  403  403  403  200  200"),
    ("POST", "/api/v1/networks"):                          Entry("401  403  403  403  403  403  201", body="new_network"),
    ("PUT", "/api/v1/networks/{code:str}/members/{org_id:int}"): Entry("401  403  403  403  403  403  200", "network_member"),
    ("DELETE", "/api/v1/networks/{code:str}/members/{org_id:int}"): Entry("401  403  403  403  403  403  200", "network_member"),
    ("GET", "/api/v1/services"):                           Entry("401  200  200  200  200  200  200"),
    ("GET", "/api/v1/services/{service_id:int}"):          Entry("401  200  200  200  200  200  200", "service"),
    ("PATCH", "/api/v1/services/{service_id:int}"):        Entry("401  403  403  200  403  200  200", "service", {"description": "Shelter"}),
    ("PUT", "/api/v1/services/{service_id:int}/capacity"): Entry("401  403  403  200  403  200  200", "service", {"available": 30}),
    ("GET", "/api/v1/services/{service_id:int}/capacity/history"): Entry("401  403  403  200  403  200  200", "service"),
    # Matching and referrals: institutions refer and see their own referrals; an NGO sees those it was offered.
    ("POST", "/api/v1/matches"):                           Entry("401  200  200  403  403  200  200", body="match"),
    ("GET", "/api/v1/referrals"):                          Entry("401  200  200  200  200  200  200"),
    ("POST", "/api/v1/referrals"):                         Entry("401  201  201  403  403  201  201", body="referral"),
    # A referral someone may not read answers 404, as an unknown id does: its existence is not revealed.
    ("GET", "/api/v1/referrals/{referral_id:int}"):        Entry("401  200  404  200  404  200  200", "referral"),
    ("GET", "/api/v1/referrals/{referral_id:int}/fhir"):   Entry("401  200  404  200  404  200  200", "referral"),
    ("POST", "/api/v1/referrals/{referral_id:int}/cancel"): Entry("401  200  404  403  404  200  200", "fresh_referral", {}),
    # Arrival and outcome: the accepting provider, the referring institution (its officer follows the case) or the secretariat.
    ("POST", "/api/v1/referrals/{referral_id:int}/arrival"): Entry("401  200  404  200  404  200  200", "placed_referral", {}),
    ("POST", "/api/v1/referrals/{referral_id:int}/close"): Entry("401  200  404  200  404  200  200", "placed_referral", {"outcome": "services_started"}),
    # Only the provider the offer was made to answers it (in the API or by its one-click link).
    ("POST", "/api/v1/offers/{offer_id:int}/accept"):      Entry("401  403  403  200  403  403  403", "fresh_offer", {}),
    ("POST", "/api/v1/offers/{offer_id:int}/decline"):     Entry("401  403  403  200  403  403  403", "fresh_offer", {"reason": "not_eligible"}),
    ("POST", "/api/v1/offers/{offer_id:int}/contest"):     Entry("401  403  403  403  403  200  200", "declined_offer", {}),
    ("GET", "/api/v1/declines"):                           Entry("401  403  403  403  403  200  200"),
    # A second round: the referring institution, or the secretariat on its behalf, asks more providers for a need.
    ("POST", "/api/v1/referrals/{referral_id:int}/offers"): Entry("401  200  404  403  403  200  200", "fresh_referral", {"need": "residential_shelter"}),
    # The secretariat's tasks: offers to call a provider about (no working channel, or a failed delivery).
    ("GET", "/api/v1/tasks"):                              Entry("401  403  403  403  403  200  200"),
    # One-click pages: the signed link is the authorisation, whatever the caller's token (a bad link: 400).
    ("GET", "/respond/{token:str}"):                       Entry("400  400  400  400  400  400  400"),
    ("POST", "/respond/{token:str}"):                      Entry("400  400  400  400  400  400  400", body={}),
    ("GET", "/respond/capacity/{token:str}"):              Entry("400  400  400  400  400  400  400"),
    ("POST", "/respond/capacity/{token:str}"):             Entry("400  400  400  400  400  400  400", body={}),
    # Notifications: an NGO reads its own organisation's; the secretariat all.
    ("GET", "/api/v1/notifications"):                      Entry("401  403  403  200  200  200  200"),
    # Coverage review: outside the secretariat, small counts are suppressed (disclosure "safe"), not refused.
    ("GET", "/api/v1/coverage"):                           Entry("401  200  200  200  200  200  200"),
    ("GET", "/api/v1/coverage.csv"):                       Entry("401  200  200  200  200  200  200"),
    ("GET", "/api/v1/coverage.json"):                      Entry("401  200  200  200  200  200  200"),
    ("GET", "/api/v1/coverage/gaps"):                      Entry("401  200  200  200  200  200  200"),
    ("GET", "/api/v1/coverage/gaps.csv"):                  Entry("401  200  200  200  200  200  200"),
    ("GET", "/api/v1/coverage/gaps.json"):                 Entry("401  200  200  200  200  200  200"),
    ("GET", "/api/v1/coverage/map.svg"):                   Entry("401  200  200  200  200  200  200", query="service_type=residential_shelter"),
    ("GET", "/api/v1/coverage/activity"):                  Entry("401  200  200  200  200  200  200"),
    ("GET", "/api/v1/coverage/activity.csv"):              Entry("401  200  200  200  200  200  200"),
    ("GET", "/api/v1/coverage/report"):                    Entry("401  200  200  200  200  200  200", query="year=2025"),
    ("GET", "/api/v1/coverage/report.csv"):                Entry("401  200  200  200  200  200  200", query="year=2025"),
    ("GET", "/api/v1/coverage/activity.json"):             Entry("401  200  200  200  200  200  200"),
    # HSDS read API.
    ("GET", "/hsds/organizations"):                        Entry("401  200  200  200  200  200  200"),
    ("GET", "/hsds/organizations/{organization_id:str}"):  Entry("401  200  200  200  200  200  200", "hsds_org"),
    ("GET", "/hsds/services"):                             Entry("401  200  200  200  200  200  200"),
    ("GET", "/hsds/services/{service_id:str}"):            Entry("401  200  200  200  200  200  200", "hsds_service"),
    ("GET", "/hsds/taxonomies"):                           Entry("401  200  200  200  200  200  200"),
    ("GET", "/hsds/taxonomy_terms"):                       Entry("401  200  200  200  200  200  200"),
    # Access management: admins only.
    ("GET", "/api/v1/tokens"):                             Entry("401  403  403  403  403  403  200"),
    ("DELETE", "/api/v1/tokens/{token_id:int}"):           Entry("401  403  403  403  403  403  200", "fresh_token"),
    # Pages, by session (see the module's docstring). Public: signing in, a password link, the language.
    ("GET", "/sign-in"):                                   Entry("200  200  200  200  200  200  200"),
    ("POST", "/sign-in"):                                  Entry("303  303  303  303  303  303  303", body="sign_in_form"),
    ("POST", "/sign-out"):                                 Entry("303s 303s 303s 303s 303s 303s 303s", "own_session", {}),
    ("GET", "/password/reset"):                            Entry("200  200  200  200  200  200  200"),
    ("POST", "/password/reset"):                           Entry("200  200  200  200  200  200  200", body={"email": "nobody@example.org"}),
    ("GET", "/password/set/{token:str}"):                  Entry("200  200  200  200  200  200  200"),
    ("POST", "/password/set/{token:str}"):                 Entry("400  400  400  400  400  400  400", body="set_password_form"),
    ("GET", "/language/{locale:str}"):                     Entry("303  303  303  303  303  303  303"),
    # Signed in: the role's home page, and the account page.
    ("GET", "/"):                                          Entry("303s 303  303  303  303  303  303"),
    ("GET", "/home"):                                      Entry("303s 200  200  200  200  200  200"),
    # The institution's pages: people of an institution only (others refused with a page); another
    # institution's referral is not found, as through the API.
    ("GET", "/institution"):                               Entry("303s 303  303  403  403  403  403"),
    ("GET", "/institution/localities"):                    Entry("303s 200  200  403  403  403  403", query="county=RO-IS"),
    ("GET", "/institution/referrals"):                     Entry("303s 200  200  403  403  403  403"),
    ("GET", "/institution/referrals/new"):                 Entry("303s 200  200  403  403  403  403"),
    ("POST", "/institution/referrals/new"):                Entry("303s 200  200  403  403  403  403", body="profile_form"),
    ("POST", "/institution/referrals"):                    Entry("303s 303  303  403  403  403  403", body="referral_form"),
    ("GET", "/institution/referrals/{referral_id:int}"):   Entry("303s 200  404  403  403  403  403", "referral"),
    ("GET", "/institution/referrals/{referral_id:int}/live"): Entry("303s 200  404  403  403  403  403", "referral"),
    ("POST", "/institution/referrals/{referral_id:int}/cancel"): Entry("303s 303  404  403  403  403  403", "fresh_referral", {}),
    ("POST", "/institution/referrals/{referral_id:int}/round"): Entry("303s 303  404  403  403  403  403", "fresh_referral", {"need": "residential_shelter"}),
    ("POST", "/institution/referrals/{referral_id:int}/arrival"): Entry("303s 303  404  403  403  403  403", "placed_referral", {"note": "arrived with the officer"}),
    ("POST", "/institution/referrals/{referral_id:int}/close"): Entry("303s 303  404  403  403  403  403", "placed_referral", {"outcome": "services_started"}),
    # The NGO's pages: people of an NGO only; another NGO's service or offer is refused.
    ("GET", "/ngo"):                                       Entry("303s 403  403  200  200  403  403"),
    ("POST", "/ngo/services/{service_id:int}/capacity"):   Entry("303s 403  403  303  403  403  403", "service", {"action": "plus"}),
    ("GET", "/ngo/offers"):                                Entry("303s 403  403  200  200  403  403"),
    ("POST", "/ngo/offers/{offer_id:int}/accept"):         Entry("303s 403  403  303  403  403  403", "fresh_offer", {}),
    ("POST", "/ngo/offers/{offer_id:int}/decline"):        Entry("303s 403  403  303  403  403  403", "fresh_offer", {"reason": "not_eligible"}),
    # The inbox's polling fragment (204 while the open offers are those the page knows; ``known=0`` never is).
    ("GET", "/ngo/offers/live"):                           Entry("303s 403  403  200  200  403  403", query="known=0"),
    # One offer's page, and arrival and outcome once the NGO accepted it: another NGO's offer is an unknown one.
    ("GET", "/ngo/offers/{offer_id:int}"):                 Entry("303s 403  403  200  404  403  403", "fresh_offer"),
    ("POST", "/ngo/offers/{offer_id:int}/arrival"):        Entry("303s 403  403  303  404  403  403", "accepted_offer", {}),
    ("POST", "/ngo/offers/{offer_id:int}/close"):          Entry("303s 403  403  303  404  403  403", "accepted_offer", {"outcome": "services_started"}),
    # The organisation's own profile (no id: each NGO acts on its own), one service, its people.
    ("GET", "/ngo/organisation"):                          Entry("303s 403  403  200  200  403  403"),
    ("POST", "/ngo/organisation"):                         Entry("303s 403  403  303  303  403  403", body={"referral_email": "offers@example.org"}),
    ("POST", "/ngo/organisation/webhook-secret"):          Entry("303s 403  403  200  200  403  403", body={}),
    ("GET", "/ngo/services/{service_id:int}"):             Entry("303s 403  403  200  404  403  403", "service"),
    ("GET", "/ngo/people"):                                Entry("303s 403  403  200  200  403  403"),
    # The NGO people of the matrix are their organisations' administrators (a non-admin's refusal: test_ngo_org_pages).
    ("POST", "/ngo/people"):                               Entry("303s 403  403  303  303  403  403", body="colleague_form"),
    ("POST", "/ngo/people/{person_id:int}/deactivate"):    Entry("303s 403  403  303  404  403  403", "colleague", {}),
    # The secretariat's pages: secretariat and admin people only (a bound person: their networks' members).
    ("GET", "/secretariat"):                               Entry("303s 403  403  403  403  200  200"),
    ("GET", "/secretariat/coverage.csv"):                  Entry("303s 403  403  403  403  200  200"),
    ("GET", "/secretariat/gaps"):                          Entry("303s 403  403  403  403  200  200"),
    ("GET", "/secretariat/gaps.csv"):                      Entry("303s 403  403  403  403  200  200"),
    ("GET", "/secretariat/review"):                        Entry("303s 403  403  403  403  200  200"),
    ("GET", "/secretariat/review/{download:str}"):         Entry("303s 403  403  403  403  200  200"),
    ("POST", "/secretariat/review/services/{service_id:int}/remind"): Entry("303s 403  403  403  403  303  303", "stale_service", {}),
    ("POST", "/secretariat/review/notifications/{notification_id:int}/retry"): Entry("303s 403  403  403  403  303  303", "failed_notification", {}),
    ("POST", "/secretariat/review/declines/{offer_id:int}/contest"): Entry("303s 403  403  403  403  303  303", "declined_offer", {}),
    ("POST", "/secretariat/review/tasks/{offer_id:int}/accept"): Entry("303s 403  403  403  403  303  303", "task_offer", {}),
    ("POST", "/secretariat/review/tasks/{offer_id:int}/decline"): Entry("303s 403  403  403  403  303  303", "task_offer", {"reason": "safety"}),
    ("POST", "/secretariat/review/referrals/{referral_id:int}/round"): Entry("303s 403  403  403  403  303  303", "fresh_referral", {"need": "residential_shelter"}),
    ("GET", "/secretariat/members"):                       Entry("303s 403  403  403  403  200  200"),
    ("GET", "/secretariat/members.csv"):                   Entry("303s 403  403  403  403  200  200"),
    ("GET", "/secretariat/members/new"):                   Entry("303s 403  403  403  403  200  200"),
    ("POST", "/secretariat/members/new"):                  Entry("303s 403  403  403  403  303  303", body="new_org"),
    ("GET", "/secretariat/members/{org_id:int}"):          Entry("303s 403  403  403  403  200  200", "org"),
    ("POST", "/secretariat/members/{org_id:int}"):         Entry("303s 403  403  403  403  303  303", "org", {"name": "Asociația Alfa", "referral_email": "alfa@example.org"}),
    ("POST", "/secretariat/members/{org_id:int}/active"):  Entry("303s 403  403  403  403  303  303", "org", {"active": "true"}),
    ("GET", "/secretariat/people"):                        Entry("303s 403  403  403  403  200  200"),
    ("GET", "/secretariat/people.csv"):                    Entry("303s 403  403  403  403  200  200"),
    ("POST", "/secretariat/people/invite"):                Entry("303s 403  403  403  403  303  303", body="invite_form"),
    ("GET", "/secretariat/people/{person_id:int}"):        Entry("303s 403  403  403  403  200  200", "fresh_person"),
    ("POST", "/secretariat/people/{person_id:int}/role"):  Entry("303s 403  403  403  403  303  303", "fresh_person", "role_form"),
    ("POST", "/secretariat/people/{person_id:int}/deactivate"): Entry("303s 403  403  403  403  303  303", "fresh_person", {}),
    # The secretariat's activity and yearly report pages: secretariat and admin people only.
    ("GET", "/secretariat/activity"):                      Entry("303s 403  403  403  403  200  200"),
    ("GET", "/secretariat/activity.csv"):                  Entry("303s 403  403  403  403  200  200", query="table=by_month"),
    ("GET", "/secretariat/report"):                        Entry("303s 403  403  403  403  200  200", query="year=2026"),
    ("GET", "/secretariat/report.csv"):                    Entry("303s 403  403  403  403  200  200"),
}
# fmt: on

# Path parameters that are not objects of anyone's.
FIXED_PARAMS = {"download": "declines.csv", "file_path": "site.css", "token": "1.accept.1.bogus", "name": "service-type", "path": "no-such-page", "locale": "ro"}


def route_table(app: Litestar) -> set[tuple[str, str]]:
    """(method, path) of every HTTP route handler the app serves, automatic methods left out."""
    return {
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method in route.methods
        if method not in AUTOMATIC_METHODS
    }


def test_every_route_has_an_entry(tmp_path: Any) -> None:
    """A route without an entry (or an entry without a route) fails here, naming what to add to MATRIX."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.sqlite'}", scheduler=False))
    routes = route_table(app)
    missing = sorted(routes - MATRIX.keys())
    stale = sorted(MATRIX.keys() - routes)
    assert not missing, (
        "routes without an entry in the authorisation matrix (tests/integration/test_authorization_matrix.py, MATRIX); "
        "add each with the status every role gets: " + ", ".join(f"{m} {p}" for m, p in missing)
    )
    assert not stale, "MATRIX entries for routes the app no longer has: " + ", ".join(f"{m} {p}" for m, p in stale)
    for key, entry in MATRIX.items():
        assert len(entry.statuses.split()) == len(COLUMNS), f"{key}: one status per column {COLUMNS}"


def test_the_check_names_an_unknown_route(tmp_path: Any) -> None:
    """The completeness check itself: a handler added to the app without an entry is reported by method and path."""
    from litestar import get

    @get("/api/v1/unlisted", operation_id="unlisted", sync_to_thread=False)
    def unlisted() -> None:
        """A route nobody declared."""

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'routes.sqlite'}", scheduler=False))
    app.register(unlisted)
    assert sorted(route_table(app) - MATRIX.keys()) == [("GET", "/api/v1/unlisted")]


class World:
    """Two providers (A with its NGO token, B with another), two institutions, staff, and objects to act on."""

    def __init__(self, client: Any, tokens: Tokens) -> None:
        self.client, self.tokens = client, tokens
        self.counter = itertools.count(1)

    async def build(self) -> World:
        t = self.tokens
        self.admin, self.sec = t.make("admin"), t.make("secretariat")
        self.org_a = await make_org(self.client, self.admin, "Asociația Alfa", referral_email="alfa@example.org")
        self.org_b = await make_org(self.client, self.admin, "Asociația Beta", referral_email="beta@example.org")
        capacity = {"unit": "beds", "total": 500, "available": 400}
        sites = [{"county": "RO-IS", "locality": "Iași"}]
        self.service_a = await make_service(self.client, self.admin, self.org_a["id"], shelter(capacity=capacity, sites=sites))
        await make_service(self.client, self.admin, self.org_b["id"], shelter(capacity=capacity, sites=sites))
        self.ngo_a, self.ngo_b = t.make("ngo", organisation=self.org_a["id"]), t.make("ngo", organisation=self.org_b["id"])
        self.inst_org_1, self.inst_org_2 = t.institution("IPJ Iași"), t.institution("IPJ Vaslui")
        self.inst_1 = t.make("institution", organisation=self.inst_org_1, name="IPJ Iași")
        self.inst_2 = t.make("institution", organisation=self.inst_org_2, name="IPJ Vaslui")
        self.headers = {
            "anon": {}, "inst": self.inst_1, "inst*": self.inst_2, "ngo": self.ngo_a, "ngo*": self.ngo_b, "sec": self.sec, "admin": self.admin,
        }  # fmt: skip
        self.referral = await self.refer()
        orgs = (await self.client.get("/hsds/organizations", headers=self.admin)).json()
        self.hsds_org = next(o["id"] for o in orgs["contents"] if o["name"] == "Asociația Alfa")
        services = (await self.client.get("/hsds/services", headers=self.admin)).json()
        self.hsds_service = next(s["id"] for s in services["contents"] if s["organization_id"] == self.hsds_org)
        return self

    async def sign_people_in(self) -> World:
        """A person per column (of the same organisations as the tokens), each with a live session, and a CSRF token."""
        orgs = {"inst": self.inst_org_1, "inst*": self.inst_org_2, "ngo": self.org_a["id"], "ngo*": self.org_b["id"]}
        roles = {"inst": "institution", "inst*": "institution", "ngo": "ngo", "ngo*": "ngo", "sec": "secretariat", "admin": "admin"}
        self.emails = {column: f"{column.replace('*', '.other')}@example.org" for column in roles}
        for column, role in roles.items():
            in_app(self.client, people.create_person, email=self.emails[column], name=f"Person {column}", role=role,
                   organisation=orgs.get(column), password=PASSWORD, now=self.client.app.state.clock.now(),
                   org_admin=role == "ngo")  # fmt: skip
        self.sessions: dict[str, str | None] = {"anon": None, **{column: self.new_session(column) for column in roles}}
        self.client.cookies.clear()
        page = await self.client.get("/sign-in")
        self.csrf = page.cookies["csrftoken"]
        assert f'name="_csrf_token" value="{self.csrf}"' in page.text
        return self

    def new_session(self, column: str) -> str | None:
        """A fresh session of the column's person (none for ``anon``)."""
        if column == "anon":
            return None
        now = self.client.app.state.clock.now()
        return in_app(self.client, sessions.sign_in, self.emails[column], PASSWORD, "testclient", now).token

    async def page(self, method: str, url: str, session: str | None, form: dict[str, Any] | None = None, csrf: bool = True) -> Any:
        """A page as a browser asks for it: the session cookie, and on a POST the form with the CSRF token."""
        self.client.cookies.clear()
        self.client.cookies.set("csrftoken", self.csrf)
        if session is not None:
            self.client.cookies.set("rn_session", session)
        data = {**(form or {}), **({"_csrf_token": self.csrf} if csrf else {})} if method == "POST" else None
        try:
            return await self.client.request(method, url, data=data, follow_redirects=False)
        finally:
            self.client.cookies.clear()

    async def call(self, method: str, url: str, headers: dict[str, str], body: Any = None) -> Any:
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        return await self.client.request(method, url, **kwargs)

    async def ok(self, method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        resp = await self.call(method, url, headers or self.admin, body)
        assert resp.is_success, f"setting up: {method} {url}: {resp.status_code} {resp.text}"
        return resp.json()  # type: ignore[no-any-return]

    async def refer(self) -> dict[str, Any]:
        body = {"profile": copy.deepcopy(PROFILE), "consent": True, "mode": "parallel", "service_ids": [self.service_a["id"]]}
        return await self.ok("POST", "/api/v1/referrals", body, self.inst_1)

    def body(self, spec: Any) -> Any:
        n = next(self.counter)
        if spec == "new_org":
            return {"name": f"Asociația Nouă {n}"}
        if spec == "new_network":
            return {"code": f"net{n}", "name_en": f"Network {n}", "name_ro": f"Rețeaua {n}"}
        if spec == "new_service":
            return shelter(name=f"Casa {n}")
        if spec == "match":
            return {"profile": copy.deepcopy(PROFILE)}
        if spec == "referral":
            return {"profile": copy.deepcopy(PROFILE), "consent": True, "service_ids": [self.service_a["id"]]}
        if spec == "profile_form":
            return {**FORM, "county": "RO-IS", "locality": "Iași"}
        if spec == "referral_form":
            return {"profile": json.dumps(PROFILE), "service_ids": str(self.service_a["id"]), "consent": "yes", "mode": "parallel"}
        if spec == "colleague_form":
            return {"name": f"Colleague {n}", "email": f"colleague{n}@example.org"}
        if spec == "sign_in_form":
            return {"email": self.emails["sec"], "password": PASSWORD, "next": "/"}
        if spec == "invite_form":
            return {"name": f"Ion Pop {n}", "email": f"ion.{n}@alfa.example.org", "role": "ngo", "organisation": str(self.org_a["id"])}
        if spec == "role_form":
            return {"role": "ngo", "organisation": str(self.org_b["id"])}
        if spec == "set_password_form":
            return {"password": "a long unguessed passphrase", "confirm": "a long unguessed passphrase"}
        return spec

    async def params(self, target: str | None) -> dict[str, Any]:
        """Path parameters for the target object; a changing call gets an object of its own, in the state it needs."""
        if target is None:
            return {}
        if target == "org":
            return {"org_id": self.org_a["id"]}
        if target == "network_member":
            return {"code": "protect", "org_id": self.org_a["id"]}
        if target == "service":
            return {"service_id": self.service_a["id"]}
        if target == "referral":
            return {"referral_id": self.referral["id"]}
        if target == "hsds_org":
            return {"organization_id": self.hsds_org}
        if target == "hsds_service":
            return {"service_id": self.hsds_service}
        if target == "fresh_token":
            from referralnet.accounts.services import list_tokens

            self.tokens.make("institution", name=f"to revoke {next(self.counter)}")
            listed = in_app(self.client, list_tokens, include_revoked=False)
            return {"token_id": max(t.id for t in listed.items)}
        if target == "colleague":
            row = in_app(self.client, people.create_person, email=f"colleague.a{next(self.counter)}@example.org", name="Colleague",
                         role="ngo", organisation=self.org_a["id"], password=None, now=self.client.app.state.clock.now())  # fmt: skip
            return {"person_id": row["id"]}
        if target in ("stale_service", "failed_notification", "fresh_person"):
            return await self.secretariat_target(target)
        referral = await self.refer()
        offer = referral["offers"][0]["id"]
        if target == "fresh_referral":
            return {"referral_id": referral["id"]}
        if target == "fresh_offer":
            return {"offer_id": offer}
        if target == "declined_offer":
            await self.ok("POST", f"/api/v1/offers/{offer}/decline", {"reason": "not_eligible"}, self.ngo_a)
            return {"offer_id": offer}
        if target == "accepted_offer":
            await self.ok("POST", f"/api/v1/offers/{offer}/accept", {}, self.ngo_a)
            return {"offer_id": offer}
        if target == "task_offer":  # a provider reachable by phone only: the secretariat answers for it
            in_app(self.client, lambda: Offer.update({Offer.delivery: "phone"}).where(Offer.id == offer))
            return {"offer_id": offer}
        if target == "placed_referral":
            await self.ok("POST", f"/api/v1/offers/{offer}/accept", {}, self.ngo_a)
            return {"referral_id": referral["id"]}
        raise AssertionError(f"unknown target {target!r}")


    async def secretariat_target(self, target: str) -> dict[str, Any]:
        """A service stale for weeks, a failed notification, or a person of NGO A: each fresh, for one call."""
        n, now = next(self.counter), self.client.app.state.clock.now()
        if target == "stale_service":
            body = shelter(name=f"Casa veche {n}", capacity={"unit": "beds", "total": 5, "available": 1})
            made = await self.ok("POST", f"/api/v1/organisations/{self.org_a['id']}/services", body)
            old = now - dt.timedelta(days=60)
            in_app(self.client, lambda: Service.update({Service.capacity_updated_at: old}).where(Service.id == made["id"]))
            return {"service_id": made["id"]}
        if target == "failed_notification":
            referral = await self.refer()
            failed = Notification.update({Notification.status: "failed"}).where(
                Notification.referral == referral["id"], Notification.kind == "offer_new").returning(Notification.id)  # fmt: skip
            return {"notification_id": in_app(self.client, lambda: failed)[0]["id"]}
        made = in_app(self.client, people.create_person, email=f"person.{n}@alfa.example.org", name=f"Ana {n}", role="ngo",
                      organisation=self.org_a["id"], password=None, now=now)  # fmt: skip
        return {"person_id": made["id"]}


def fill(path: str, params: dict[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return str(params[name] if name in params else FIXED_PARAMS[name])

    return re.sub(r"\{(\w+):\w+\}", value, path)


def is_page(path: str) -> bool:
    """Served by session (the bearer-token middleware skips it), so called as a signed-in person."""
    return any(re.match(pattern, path) for pattern in PAGE_PATHS)


async def test_every_route_answers_every_role_as_declared(client: Any, tokens: Tokens) -> None:
    """Call each route as each role (on its own and on someone else's object) and compare with MATRIX."""
    world = await World(client, tokens).build()
    wrong: list[str] = []
    for (method, path), entry in MATRIX.items():
        if is_page(path):
            continue
        changes = method != "GET"
        shared = await world.params(entry.target) if not changes else None
        for column, expected in zip(COLUMNS, entry.statuses.split()):
            params = shared if shared is not None else await world.params(entry.target)
            url = fill(path, params) + (f"?{entry.query}" if entry.query else "")
            resp = await world.call(method, url, world.headers[column], world.body(entry.body))
            if resp.status_code != int(expected):
                wrong.append(f"{method} {path} as {column}: expected {expected}, got {resp.status_code} {resp.text[:160]}")
    assert not wrong, "authorisation matrix mismatches:\n" + "\n".join(wrong)


async def test_someone_elses_referral_is_refused_without_revealing_it(client: Any, tokens: Tokens) -> None:
    """Another institution's referral answers as an unknown id does, so a guessed id tells nothing."""
    world = await World(client, tokens).build()
    rid = world.referral["id"]
    other = await world.call("GET", f"/api/v1/referrals/{rid}", world.inst_2)
    missing = await world.call("GET", f"/api/v1/referrals/{rid + 1000}", world.inst_2)
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"] == f"referral {rid} not found" and missing.json()["detail"] == f"referral {rid + 1000} not found"
    assert world.referral["summary"] not in other.text


async def test_every_page_answers_every_person_as_declared(client: Any, tokens: Tokens) -> None:
    """Call each page as a signed-in person of each role (a valid CSRF token on POSTs) and compare with MATRIX."""
    world = await (await World(client, tokens).build()).sign_people_in()
    wrong: list[str] = []
    pages = [(key, entry) for key, entry in MATRIX.items() if is_page(key[1])]
    assert len(pages) >= 19
    for (method, path), entry in pages:
        changes = method != "GET"
        own_session = entry.target == "own_session"  # signing out ends the session: each person signs out of a fresh one
        target = None if own_session else entry.target
        shared = await world.params(target) if not changes else None
        for column, expected in zip(COLUMNS, entry.statuses.split()):
            params = shared if shared is not None else await world.params(target)
            url = fill(path, params) + (f"?{entry.query}" if entry.query else "")
            session = world.new_session(column) if own_session else world.sessions[column]
            resp = await world.page(method, url, session, world.body(entry.body))
            to_sign_in = resp.headers.get("location", "").split("?")[0] == "/sign-in"
            got = f"{resp.status_code}{'s' if resp.status_code == 303 and to_sign_in else ''}"
            if got != expected:
                wrong.append(f"{method} {path} as {column}: expected {expected}, got {got} {resp.headers.get('location', '')} {resp.text[:160]}")
    assert not wrong, "authorisation matrix mismatches (pages):\n" + "\n".join(wrong)


async def test_a_page_post_without_the_csrf_token_is_refused(client: Any, tokens: Tokens) -> None:
    """A signed-in officer's cancel without the form's CSRF token (or with another) is refused and changes nothing."""
    world = await (await World(client, tokens).build()).sign_people_in()
    rid = world.referral["id"]
    url = f"/institution/referrals/{rid}/cancel"

    def status() -> str:
        return in_app(client, lambda: Referral.select(Referral.status).where(Referral.id == rid).first())["status"]  # type: ignore[no-any-return]

    missing = await world.page("POST", url, world.sessions["inst"], csrf=False)
    forged = await world.page("POST", url, world.sessions["inst"], {"_csrf_token": world.csrf[::-1]}, csrf=False)
    assert missing.status_code == forged.status_code == 403
    assert status() == "open"
    done = await world.page("POST", url, world.sessions["inst"])
    assert done.status_code == 303 and done.headers["location"] == f"/institution/referrals/{rid}"
    assert status() == "cancelled"


async def test_someone_elses_referral_page_reveals_nothing(client: Any, tokens: Tokens) -> None:
    """Another institution's officer gets the page an unknown id gets: no summary, no offer, no provider."""
    world = await (await World(client, tokens).build()).sign_people_in()
    rid = world.referral["id"]
    mine = await world.page("GET", f"/institution/referrals/{rid}", world.sessions["inst"])
    assert mine.status_code == 200 and "Asociația Alfa" in mine.text
    for suffix in ("", "/live"):
        other = await world.page("GET", f"/institution/referrals/{rid}{suffix}", world.sessions["inst*"])
        unknown = await world.page("GET", f"/institution/referrals/{rid + 1000}{suffix}", world.sessions["inst*"])
        assert other.status_code == unknown.status_code == 404
        # Identical but for the page's own address (in the language links).
        assert other.text.replace(f"/referrals/{rid}{suffix}", "/referrals/N") == unknown.text.replace(f"/referrals/{rid + 1000}{suffix}", "/referrals/N")
        assert "Asociația Alfa" not in other.text and world.referral["summary"] not in other.text


async def test_a_bearer_token_does_not_open_a_page(client: Any, tokens: Tokens) -> None:
    """Pages know sessions only: an API token, even an admin's, is a visitor without one."""
    world = await World(client, tokens).build()
    for headers, path in (
        (world.admin, "/home"),
        (world.inst_1, "/institution/referrals"),
        (world.inst_1, f"/institution/referrals/{world.referral['id']}"),
    ):
        resp = await client.get(path, headers=headers, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == f"/sign-in?next={path}"
