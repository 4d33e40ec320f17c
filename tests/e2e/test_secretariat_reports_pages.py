"""Browser test of the secretariat's activity and yearly report pages at 360 px: small counts shown as <10 in
tables and charts, axe-core finds no serious violation, and every request stays on the server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, expect, sync_playwright

from referralnet import db
from referralnet.accounts import people
from referralnet.accounts.schemas import SYSTEM
from referralnet.accounts.services import create_token
from referralnet.app import create_app
from referralnet.clock import SystemClock
from referralnet.directory.schemas import OrganisationCreate
from referralnet.directory.services import create_organisation
from referralnet.settings import Settings
from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, Recorder
from tests.e2e.test_pages import PASSWORD, REPO, Site, _api, _sign_in, shoot

pytestmark = pytest.mark.e2e
COORDINATOR = "coordonator@secretariat.example.org"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("e2e-secretariat") / "referralnet.sqlite"
    settings = Settings(database_url=f"sqlite:///{path}", data_dir=str(REPO / "data"), scheduler=False, secret_key="e2e-secretariat")

    async def prepare() -> dict[str, str]:
        engine = db.make_engine(settings.database_url)
        await db.migrate(engine)
        db.bind(engine)
        police = await create_organisation(
            OrganisationCreate(name="IPJ Iași", slug="ipj-iasi", kind="institution", institution_type="police"), SYSTEM, SystemClock()
        )
        casa = await create_organisation(OrganisationCreate(name="Asociația Casa Iașului", slug="casa-iasului"), SYSTEM, SystemClock())
        await people.create_person(email=COORDINATOR, name="Elena Marin", role="secretariat", organisation=None, password=PASSWORD,
                                   now=SystemClock().now())  # fmt: skip
        return {
            "admin": (await create_token(role="admin", name="e2e admin"))[0],
            "officer": (await create_token(role="institution", name="IPJ Iași", organisation=police.id))[0],
            "ngo": (await create_token(role="ngo", name="Casa Iașului", organisation=casa.id))[0], "casa": str(casa.id),
        }

    tokens = asyncio.run(prepare())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{sock.getsockname()[1]}", tokens)
    uv.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def history(site: Site) -> None:
    """Three shelter referrals placed and one declined: every count of the month is 1-9."""
    body = {"type": "residential_shelter", "name": "Casa Iașului", "eligibility": {"age_min": 18, "genders": ["female"]},
            "sites": [{"county": "RO-IS", "locality": "Iași"}], "capacity": {"unit": "beds", "total": 10, "available": 8}}  # fmt: skip
    service = _api(site, "POST", f"/api/v1/organisations/{site.tokens['casa']}/services", json=body)
    ngo = site.tokens["ngo"]
    profile = {"age_band": "25-39", "gender": "female", "nationality_group": "romanian", "exploitation_forms": ["sexual"],
               "needs": [{"service_type": "residential_shelter", "priority": "required"}],
               "location": {"county": "RO-IS", "locality": "Iași"}, "urgency": "urgent"}  # fmt: skip
    for answer in ("accept", "accept", "accept", "decline"):
        referral = _api(site, "POST", "/api/v1/referrals", site.tokens["officer"],
                        json={"profile": profile, "consent": True, "service_ids": [service["id"]]})  # fmt: skip
        offer = referral["offers"][0]["id"]
        _api(site, "POST", f"/api/v1/offers/{offer}/{answer}", ngo, json={"reason": "safety"} if answer == "decline" else None)


def test_secretariat_opens_activity_and_yearly_report_at_360px(site: Site, browser: Browser) -> None:
    history(site)
    context = browser.new_context(locale="ro-RO", viewport={"width": 360, "height": 740})
    page = context.new_page()
    seen = Recorder(page)
    _sign_in(page, site.base, COORDINATOR)
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
