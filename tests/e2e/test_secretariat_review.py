"""Browser test of the secretariat's review, members and people pages at 360 px: a decline made in the test is in
the review and in its downloaded CSV; each page passes axe-core (and is photographed with REFERRALNET_SCREENSHOTS=1);
every request the browser makes goes to the server itself."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from referralnet.directory.schemas import OrganisationCreate
from tests.e2e.support import Recorder, Site, police_ngo_and_secretary, serve_site, shoot, sign_in
from tests.integration.helpers import PROFILE, shelter

pytestmark = pytest.mark.e2e
SECRETARY = "coordonator@protect.example.ro"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ngo = OrganisationCreate(name="Asociația Casa Iașului", referral_email="casa@iasi.example.ro")
    yield from serve_site(tmp_path_factory, "e2e-secretariat", "e2e-secretariat", lambda: police_ngo_and_secretary(ngo, SECRETARY, "Elena Secretariat"))


def test_secretariat_sees_a_new_decline_in_the_review_and_its_csv(site: Site, browser: Browser) -> None:
    base = site.base
    body = shelter(name="Casa Iașului", sites=[{"county": "RO-IS", "locality": "Iași", "address": "Strada Tăcerii 3", "confidential": True}],
                   capacity={"unit": "beds", "total": 10, "available": 2})  # fmt: skip
    service = site.api("POST", f"/api/v1/organisations/{site.ids['ngo']}/services", "admin", json=body)
    referral = site.api("POST", "/api/v1/referrals", "officer", json={"profile": PROFILE, "consent": True, "service_ids": [service["id"]]})
    offer = referral["offers"][0]["id"]
    site.api("POST", f"/api/v1/offers/{offer}/decline", "ngo", json={"reason": "safety", "text": "fără personal de noapte săptămâna aceasta"})

    context = browser.new_context(locale="ro-RO", viewport={"width": 360, "height": 740}, accept_downloads=True)
    page = context.new_page()
    seen = Recorder(page)
    sign_in(page, base, SECRETARY)
    page.wait_for_url(f"{base}/secretariat")  # the secretariat's home: coverage
    page.locator("nav.section-nav a[href='/secretariat/review']").click()
    page.wait_for_url(f"{base}/secretariat/review")
    assert page.locator("h1").inner_text() == "Verificarea rețelei"
    row = page.locator(f"#decline-{offer}")
    expect(row).to_contain_text("Asociația Casa Iașului")
    expect(row).to_contain_text("Siguranță")
    expect(row).to_contain_text("fără personal de noapte")
    shoot(page, "secretariat-review")

    with page.expect_download() as download:
        page.locator("#csv-declines").click()
    text = open(download.value.path(), encoding="utf-8").read()  # noqa: SIM115 - read at once
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [(r["offer_id"], r["organisation"], r["reason"], r["text"]) for r in lines] == [
        (str(offer), "Asociația Casa Iașului", "safety", "fără personal de noapte săptămâna aceasta")]

    page.locator("nav.section-nav a[href='/secretariat/members']").click()
    page.wait_for_url(f"{base}/secretariat/members")
    expect(page.locator(f"#member-{site.ids['ngo']}")).to_contain_text("casa@iasi.example.ro")
    shoot(page, "secretariat-members")
    page.locator(f"#member-{site.ids['ngo']} a").click()
    expect(page.locator(f"#service-{service['id']}")).to_contain_text("Strada Tăcerii 3")  # confidential: shown to the secretariat
    accessible_member = page.locator("h1").inner_text()
    assert accessible_member == "Asociația Casa Iașului"

    page.locator("nav.section-nav a[href='/secretariat/people']").click()
    page.wait_for_url(f"{base}/secretariat/people")
    page.locator("#invite-name").fill("Ion Popa")
    page.locator("#invite-email").fill("ion.popa@casa-iasului.example.ro")
    page.locator("#invite-role").select_option("ngo")
    page.locator("#invite-organisation").select_option(str(site.ids["ngo"]))
    page.locator("#invite").click()
    page.wait_for_url(f"{base}/secretariat/people?done=invited")
    expect(page.locator("#done")).to_contain_text("coada de trimitere")
    expect(page.locator("#people")).to_contain_text("ion.popa@casa-iasului.example.ro")
    shoot(page, "secretariat-people")
    seen.assert_local(base)
    context.close()
