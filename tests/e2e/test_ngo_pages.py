"""Browser test of the NGO's pages at 360 px: a new offer appears in the inbox without a reload, is accepted on
its page (the service's free places drop by one), another is declined with a reason, −1 and +1 agree with the
API, and another NGO's person never sees either offer. Each NGO page passes axe-core (``shoot``)."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from referralnet.accounts import people
from referralnet.accounts.schemas import SYSTEM
from referralnet.accounts.services import create_token
from referralnet.clock import SystemClock
from referralnet.directory.schemas import OrganisationCreate
from referralnet.directory.services import create_organisation
from tests.e2e import support
from tests.e2e.support import PASSWORD, Recorder, serve, settings_for, shoot, sign_in
from tests.integration.helpers import PROFILE, shelter

pytestmark = pytest.mark.e2e
CASEWORKER = "asistenta@casa-alfa.example.org"
OTHER = "asistent@casa-beta.example.org"


class Site(support.Site):
    def refer(self) -> int:
        """A referral to Casa Alfa by the institution (through the API); returns its offer's id."""
        body = {"profile": copy.deepcopy(PROFILE), "consent": True, "mode": "parallel", "service_ids": [self.ids["service"]]}
        return int(self.api("POST", "/api/v1/referrals", "institution", json=body)["offers"][0]["id"])

    def free(self) -> int:
        return int(self.api("GET", f"/api/v1/services/{self.ids['service']}")["capacity"]["available"])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = settings_for(tmp_path_factory, "e2e-ngo", "e2e-ngo")

    async def prepare() -> tuple[dict[str, str], dict[str, int]]:
        now = SystemClock().now()
        police = await create_organisation(
            OrganisationCreate(name="IPJ Iași", slug="ipj-iasi", kind="institution", institution_type="police"), SYSTEM, SystemClock()
        )
        alfa = await create_organisation(OrganisationCreate(name="Asociația Casa Alfa", referral_email="oferte@casa-alfa.example.org"),
                                         SYSTEM, SystemClock())  # fmt: skip
        beta = await create_organisation(OrganisationCreate(name="Asociația Casa Beta"), SYSTEM, SystemClock())
        await people.create_person(email=CASEWORKER, name="Elena Marin", role="ngo", organisation=alfa.id, password=PASSWORD, now=now,
                                   org_admin=True)  # fmt: skip
        await people.create_person(email=OTHER, name="Mihai Stan", role="ngo", organisation=beta.id, password=PASSWORD, now=now)
        tokens = {"admin": (await create_token(role="admin", name="e2e admin"))[0],
                  "institution": (await create_token(role="institution", name="IPJ Iași", organisation=police.id))[0]}  # fmt: skip
        return tokens, {"alfa": alfa.id, "beta": beta.id}

    with serve(settings, prepare) as (base, (tokens, ids)):
        result = Site(base, tokens, ids)
        body = shelter(name="Casa Alfa", capacity={"unit": "beds", "total": 6, "available": 5},
                       sites=[{"county": "RO-IS", "locality": "Iași", "address": "Strada Ascunsă 7", "confidential": True}])  # fmt: skip
        result.ids["service"] = result.api("POST", f"/api/v1/organisations/{ids['alfa']}/services", json=body)["id"]
        yield result


def test_ngo_answers_offers_and_keeps_places_current_on_a_phone(site: Site, browser: Browser) -> None:
    base, sid = site.base, site.ids["service"]
    context = browser.new_context(locale="ro-RO", viewport={"width": 360, "height": 740})
    page = context.new_page()
    seen = Recorder(page)
    sign_in(page, base, CASEWORKER)
    page.wait_for_url(f"{base}/ngo")
    expect(page.locator(f"#free-{sid}")).to_have_text("5")
    shoot(page, "ngo-home")

    page.goto(f"{base}/ngo/offers")
    expect(page.locator("#no-offers")).to_be_visible()
    first = site.refer()  # after the page loaded: it must appear by itself
    offer = page.locator(f"#offer-{first}")
    expect(offer).to_be_visible(timeout=25_000)
    assert page.url == f"{base}/ngo/offers"  # no reload, no navigation
    expect(page.locator("#inbox-news")).to_contain_text("Oferte noi: Casa Alfa")
    assert page.locator("#inbox-news").get_attribute("aria-live") == "polite"
    expect(offer.locator(".countdown")).to_contain_text("au mai rămas")
    expect(offer.locator(".countdown")).to_have_attribute("data-seen", re.compile(r"^\d+$"))  # countdown.js runs (CSP allows it)
    second = site.refer()
    expect(page.locator(f"#offer-{second}")).to_be_visible(timeout=25_000)
    shoot(page, "ngo-offers")

    # The first offer, accepted on its own page: one place fewer, on the page and in the API.
    page.locator(f"#offer-{first} h2 a").click()
    page.wait_for_url(f"{base}/ngo/offers/{first}")
    expect(page.locator("#summary")).to_contain_text("25-39")
    expect(page.locator(f"#left-{first}")).to_contain_text("au mai rămas")
    shoot(page, "ngo-offer")
    page.locator("#instructions").fill("Intrarea din curte; sunați la sosire.")
    page.locator("#accept").click()
    page.wait_for_url(f"{base}/ngo/offers/{first}?done=accepted")
    expect(page.locator("#offer-status")).to_have_text("acceptată")
    expect(page.locator("#record-arrival")).to_be_visible()
    page.goto(f"{base}/ngo")
    expect(page.locator(f"#free-{sid}")).to_have_text("4")
    assert site.free() == 4

    # The second, declined from the inbox with a reason.
    page.goto(f"{base}/ngo/offers")
    page.locator(f"#reason-{second}").select_option("not_eligible")
    page.locator(f"#text-{second}").fill("în afara criteriilor de vârstă")
    page.locator(f"#decline-{second}").click()
    page.wait_for_url(f"{base}/ngo/offers?done=declined")
    expect(page.locator(f"#offer-{second}")).to_have_count(0)
    offers = site.api("GET", "/api/v1/referrals", "institution")["items"]
    declined = next(o for r in offers for o in r["offers"] if o["id"] == second)
    assert declined["status"] == "declined" and declined["decline_reason"] == "not_eligible"

    # −1 and +1: the page and the API agree each time.
    page.goto(f"{base}/ngo")
    page.locator(f"#service-{sid} button[value=minus]").click()
    page.wait_for_url(f"{base}/ngo#service-{sid}")
    expect(page.locator(f"#free-{sid}")).to_have_text("3")
    assert site.free() == 3
    page.locator(f"#service-{sid} button[value=plus]").click()
    expect(page.locator(f"#free-{sid}")).to_have_text("4")
    assert site.free() == 4

    page.goto(f"{base}/ngo/organisation")
    expect(page.locator(f"#service-{sid}")).to_contain_text("Strada Ascunsă 7")  # the confidential address, to its own NGO
    shoot(page, "ngo-organisation")
    page.goto(f"{base}/ngo/people")
    page.locator("#name").fill("Ioana Dinu")
    page.locator("#email").fill("ioana@casa-alfa.example.org")
    page.locator("#invite").click()
    page.wait_for_url(f"{base}/ngo/people?done=invited")
    expect(page.locator("#people")).to_contain_text("invitat, încă fără parolă")
    shoot(page, "ngo-people")
    seen.assert_local(base)
    context.close()

    # Another NGO's person never sees either offer.
    other = browser.new_context(locale="ro-RO", viewport={"width": 360, "height": 740})
    opage = other.new_page()
    sign_in(opage, base, OTHER)
    opage.wait_for_url(f"{base}/ngo")
    opage.goto(f"{base}/ngo/offers")
    expect(opage.locator("#no-offers")).to_be_visible()
    for offer_id in (first, second):
        response = opage.goto(f"{base}/ngo/offers/{offer_id}")
        assert response is not None and response.status == 404
        assert "25-39" not in opage.content()
    response = opage.goto(f"{base}/ngo/services/{sid}")
    assert response is not None and response.status == 404 and "Strada Ascunsă 7" not in opage.content()
    other.close()
