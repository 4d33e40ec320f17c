"""Browser test of the secretariat's activity and yearly report pages at 360 px: small counts shown as <10 in
tables and charts, axe-core finds no serious violation, and every request stays on the server."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

from referralnet.directory.schemas import OrganisationCreate
from tests.e2e.support import Recorder, Site, police_ngo_and_secretary, serve_site, shoot, sign_in

pytestmark = pytest.mark.e2e
COORDINATOR = "coordonator@secretariat.example.org"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    ngo = OrganisationCreate(name="Asociația Casa Iașului", slug="casa-iasului")
    yield from serve_site(tmp_path_factory, "e2e-secretariat", "e2e-secretariat", lambda: police_ngo_and_secretary(ngo, COORDINATOR, "Elena Marin"))


def history(site: Site) -> None:
    """Three shelter referrals placed and one declined: every count of the month is 1-9."""
    body = {"type": "residential_shelter", "name": "Casa Iașului", "eligibility": {"age_min": 18, "genders": ["female"]},
            "sites": [{"county": "RO-IS", "locality": "Iași"}], "capacity": {"unit": "beds", "total": 10, "available": 8}}  # fmt: skip
    service = site.api("POST", f"/api/v1/organisations/{site.ids['ngo']}/services", json=body)
    profile = {"age_band": "25-39", "gender": "female", "nationality_group": "romanian", "exploitation_forms": ["sexual"],
               "needs": [{"service_type": "residential_shelter", "priority": "required"}],
               "location": {"county": "RO-IS", "locality": "Iași"}, "urgency": "urgent"}  # fmt: skip
    for answer in ("accept", "accept", "accept", "decline"):
        referral = site.api("POST", "/api/v1/referrals", "officer",
                            json={"profile": profile, "consent": True, "service_ids": [service["id"]]})  # fmt: skip
        offer = referral["offers"][0]["id"]
        site.api("POST", f"/api/v1/offers/{offer}/{answer}", "ngo", json={"reason": "safety"} if answer == "decline" else None)


def test_secretariat_opens_activity_and_yearly_report_at_360px(site: Site, browser: Browser) -> None:
    history(site)
    context = browser.new_context(locale="ro-RO", viewport={"width": 360, "height": 740})
    page = context.new_page()
    seen = Recorder(page)
    sign_in(page, site.base, COORDINATOR)
    page.wait_for_load_state()
    page.goto(f"{site.base}/secretariat/activity")
    expect(page.locator("h1")).to_have_text("Activitatea rețelei")
    month = page.locator("#table-month tbody tr").last  # the current month
    expect(month.locator("td").nth(1)).to_have_text("<10")  # 3 placed
    expect(month.locator("td").nth(4)).to_have_text("<10")  # 4 referrals
    chart = page.locator("#chart-month-referrals")
    assert chart.get_attribute("role") == "img" and "<10" in (chart.locator("desc").first.text_content() or "")
    assert page.locator("#chart-month-referrals rect.suppressed").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1, "the page scrolls sideways at 360 px"
    shoot(page, "secretariat-activity")
    # Choosing a county swaps the figures in place (htmx): the page is not loaded again, the address follows,
    # and going back asks the server for the whole page of the address before.
    page.evaluate("window.notReloaded = true")
    page.locator("#county").select_option("RO-CJ")
    expect(page).to_have_url(re.compile(r"/secretariat/activity\?from=\d{4}-\d{2}&to=\d{4}-\d{2}&county=RO-CJ$"))
    expect(month.locator("td").nth(4)).to_have_text("0")  # no referral from Cluj
    assert page.evaluate("window.notReloaded === true"), "the page was loaded again"
    expect(page.locator("#county")).to_have_value("RO-CJ")
    expect(page.locator("#secretariat-nav")).to_have_count(1)
    page.go_back()
    expect(page).to_have_url(f"{site.base}/secretariat/activity")
    expect(month.locator("td").nth(4)).to_have_text("<10")
    expect(page.locator("#county")).to_have_value("")
    expect(page.locator("#secretariat-nav")).to_have_count(1)
    page.locator("#print-link").click()
    expect(page.locator("#filters")).to_have_count(0)

    page.goto(f"{site.base}/secretariat/report")
    expect(page.locator("#table-yearly")).to_contain_text("Cazare rezidențială")
    residential = page.locator("#table-yearly tbody tr").first
    expect(residential.locator("td").last).to_have_text("<10")
    shoot(page, "secretariat-report")
    with page.expect_download() as download:
        page.locator("#csv-report").click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.splitlines()[1].startswith("residential,Cazare rezidențială,") and text.splitlines()[1].endswith(",<10")
    seen.assert_local(site.base)
    context.close()
