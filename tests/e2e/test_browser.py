"""Browser tests: the real app under uvicorn on a temporary SQLite database, driven by Debian's Chromium.

They prove what only a browser shows: the one-click pages work as forms (confirm once, a second
confirm is refused), the coverage map renders its 42 counties and legend, and no page (Swagger UI
included) makes a request that leaves the local host.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser

from referralnet.accounts.schemas import SYSTEM
from referralnet.accounts.services import create_token
from referralnet.clock import SystemClock
from referralnet.directory.schemas import OrganisationCreate
from referralnet.directory.services import create_organisation
from referralnet.notifications import signing
from tests.e2e.support import Recorder, Site, serve, settings_for
from tests.integration.helpers import PROFILE

pytestmark = pytest.mark.e2e

SECRET = "e2e-signing-key"


class Server(Site):
    """The running app: its base URL, tokens by role, and helpers over its API."""

    def shelter(self, name: str) -> int:
        """A new organisation with one shelter of two free places; returns the service id."""
        org = self.api("POST", "/api/v1/organisations", "admin", json={"name": f"Asociația {name}"})
        body = {
            "type": "residential_shelter", "name": name, "eligibility": {"age_min": 18, "genders": ["female"]},
            "sites": [{"county": "RO-IS", "locality": "Iași", "confidential": True}],
            "capacity": {"unit": "beds", "total": 10, "available": 2},
        }  # fmt: skip
        return self.api("POST", f"/api/v1/organisations/{org['id']}/services", "admin", json=body)["id"]  # type: ignore[no-any-return]

    def refer(self, service_id: int) -> dict[str, Any]:
        """A referral to one service; returns its only offer."""
        body = {"profile": PROFILE, "consent": True, "mode": "parallel", "service_ids": [service_id]}
        return self.api("POST", "/api/v1/referrals", "institution", json=body)["offers"][0]  # type: ignore[no-any-return]

    def link(self, offer: dict[str, Any], action: str) -> str:
        deadline = dt.datetime.fromisoformat(offer["deadline"])
        return f"{self.base}/respond/{signing.make_offer_token(SECRET, offer['id'], action, deadline)}"

    def offer(self, offer_id: int, referral_id: int) -> dict[str, Any]:
        referral = self.api("GET", f"/api/v1/referrals/{referral_id}", "institution")
        return next(o for o in referral["offers"] if o["id"] == offer_id)  # type: ignore[no-any-return]

    def available(self, service_id: int) -> int:
        return self.api("GET", f"/api/v1/services/{service_id}", "admin")["capacity"]["available"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    settings = settings_for(tmp_path_factory, "e2e", SECRET)

    async def prepare() -> dict[str, str]:
        police = await create_organisation(
            OrganisationCreate(name="IPJ e2e", slug="ipj-e2e", kind="institution", institution_type="police"), SYSTEM, SystemClock()
        )
        bound = {"institution": police.id}
        return {
            role: (await create_token(role=role, name=f"e2e {role}", organisation=bound.get(role)))[0]
            for role in ("admin", "institution", "secretariat")
        }

    with serve(settings, prepare) as (base, tokens):
        yield Server(base, tokens)


def test_accept_link_confirms_once(server: Server, browser: Browser) -> None:
    service = server.shelter("Casa Acceptă")
    offer = server.refer(service)
    link = server.link(offer, "accept")
    context = browser.new_context()
    page, stale = context.new_page(), context.new_page()
    recorder = Recorder(page)

    first = page.goto(link)
    assert first is not None and first.status == 200
    assert page.locator("h1").inner_text() == "Accept this referral?"
    assert page.locator("#offer-referral").inner_text().startswith(f"#{offer['referral_id']}")
    assert page.locator("#offer-service").inner_text() == "Casa Acceptă"
    assert page.locator("#offer-status").inner_text() == "pending"
    assert "female" in page.locator("#offer-summary").inner_text()
    # site.css applied (served locally and allowed by the page's CSP)
    assert page.locator("header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(32, 64, 106)"
    stale.goto(link)  # a second tab, opened before the answer
    assert server.available(service) == 2  # opening the link changed nothing

    with page.expect_navigation() as nav:
        page.click("#confirm")
    assert nav.value is not None and nav.value.status == 200
    assert page.locator("h1").inner_text() == "Accepted"
    assert "accepted this referral" in page.locator("#message").inner_text()
    assert page.locator("#offer-status").inner_text() == "accepted"
    assert server.available(service) == 1
    assert server.offer(offer["id"], offer["referral_id"])["status"] == "accepted"

    with stale.expect_navigation() as nav:
        stale.click("#confirm")
    assert nav.value is not None and nav.value.status == 409
    assert stale.locator("h1").inner_text() == "Already answered"
    again = page.reload()  # Chromium re-submits the form: a second POST
    assert again is not None and again.status == 409
    assert page.locator("h1").inner_text() == "Already answered"
    assert "already been answered" in page.locator("#message").inner_text()
    reopened = page.goto(link)
    assert reopened is not None and reopened.status == 409
    assert page.locator("h1").inner_text() == "Already answered" and page.locator("#confirm").count() == 0
    assert server.available(service) == 1  # one place, taken once
    recorder.assert_local(server.base)
    context.close()


def test_decline_link_with_reason(server: Server, browser: Browser) -> None:
    service = server.shelter("Casa Refuză")
    offer = server.refer(service)
    context = browser.new_context()
    page = context.new_page()
    recorder = Recorder(page)
    page.goto(server.link(offer, "decline"))
    assert page.locator("h1").inner_text() == "Decline this referral?"

    page.select_option("#reason", "other")
    page.fill("#text", "ask her sister on 0722 123 456")
    with page.expect_navigation() as nav:
        page.click("#confirm")
    assert nav.value is not None and nav.value.status == 422
    assert "text appears to contain a phone number" in page.locator("#message").inner_text()
    assert page.locator("#reason").input_value() == "other" and page.locator("#text").input_value() == ""
    assert server.offer(offer["id"], offer["referral_id"])["status"] == "pending"

    page.select_option("#reason", "not_eligible")
    page.fill("#text", "Our shelter is for minors only")
    with page.expect_navigation() as nav:
        page.click("#confirm")
    assert nav.value is not None and nav.value.status == 200
    assert page.locator("h1").inner_text() == "Declined"
    stored = server.offer(offer["id"], offer["referral_id"])
    assert (stored["status"], stored["decline_reason"], stored["decline_text"]) == ("declined", "not_eligible", "Our shelter is for minors only")
    assert server.available(service) == 2
    recorder.assert_local(server.base)
    context.close()


def test_coverage_map_renders_42_counties_and_legend(server: Server, browser: Browser) -> None:
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {server.tokens['secretariat']}"})
    page = context.new_page()
    recorder = Recorder(page)
    resp = page.goto(f"{server.base}/api/v1/coverage/map.svg?service_type=residential_shelter")
    assert resp is not None and resp.status == 200 and resp.headers["content-type"].startswith("image/svg+xml")
    counties = page.locator("path.county[id^='RO-']")
    assert counties.count() == 42
    boxes = counties.evaluate_all("ps => ps.map(p => { const b = p.getBoundingClientRect(); return [p.id, b.width, b.height]; })")
    assert len({b[0] for b in boxes}) == 42
    assert all(w > 0 and h > 0 for _, w, h in boxes), boxes
    assert all(counties.nth(i).is_visible() for i in range(42))
    legend = page.locator("#legend")
    assert legend.is_visible()
    entries = [t.strip() for t in legend.locator("text").all_text_contents()]
    assert legend.locator("rect").count() == len(entries) - 1  # a swatch per entry, and the legend's title
    assert "0" in entries[1:] and all(legend.locator("rect").nth(i).is_visible() for i in range(len(entries) - 1))
    recorder.assert_local(server.base)
    context.close()


def test_swagger_ui_loads_only_from_the_local_host(server: Server, browser: Browser) -> None:
    context = browser.new_context()
    page = context.new_page()
    recorder = Recorder(page)
    page.goto(f"{server.base}/schema/swagger")
    page.locator(".swagger-ui .info .title").wait_for(state="visible", timeout=30_000)
    assert "referralnet" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-tag", has_text="referrals").first.wait_for(state="visible")
    assert page.locator(".opblock-summary-path", has_text="/api/v1/offers/{offer_id}/accept").count() == 1
    page.wait_for_load_state("networkidle")
    assert any(u.endswith("/static/swagger/swagger-ui-bundle.js") for u in recorder.urls), recorder.urls
    recorder.assert_local(server.base)
    context.close()
