"""Browser test of the secretariat's review, members and people pages at 360 px: a decline made in the test is in
the review and in its downloaded CSV; each page passes axe-core (and is photographed with REFERRALNET_SCREENSHOTS=1);
every request the browser makes goes to the server itself."""

from __future__ import annotations

import asyncio
import csv
import io
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
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
from tests.e2e.test_pages import PASSWORD, REPO, _sign_in, shoot
from tests.integration.helpers import PROFILE, shelter

pytestmark = pytest.mark.e2e
SECRETARY = "coordonator@protect.example.ro"


class Site:
    def __init__(self, base: str, tokens: dict[str, str], ids: dict[str, int]) -> None:
        self.base, self.tokens, self.ids = base, tokens, ids

    def api(self, method: str, path: str, token: str, **kw: Any) -> Any:
        resp = httpx.request(method, self.base + path, headers={"Authorization": f"Bearer {self.tokens[token]}"}, timeout=30, **kw)
        assert resp.status_code < 300, resp.text
        return resp.json()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("e2e-secretariat") / "referralnet.sqlite"
    settings = Settings(database_url=f"sqlite:///{path}", data_dir=str(REPO / "data"), scheduler=False, secret_key="e2e-secretariat")

    async def prepare() -> tuple[dict[str, str], dict[str, int]]:
        engine = db.make_engine(settings.database_url)
        await db.migrate(engine)
        db.bind(engine)
        police = await create_organisation(
            OrganisationCreate(name="IPJ Iași", slug="ipj-iasi", kind="institution", institution_type="police"), SYSTEM, SystemClock()
        )
        ngo = await create_organisation(OrganisationCreate(name="Asociația Casa Iașului", referral_email="casa@iasi.example.ro"),
                                        SYSTEM, SystemClock())  # fmt: skip
        await people.create_person(email=SECRETARY, name="Elena Secretariat", role="secretariat", organisation=None, password=PASSWORD,
                                   now=SystemClock().now())  # fmt: skip
        tokens = {
            "admin": (await create_token(role="admin", name="e2e admin"))[0],
            "police": (await create_token(role="institution", name="IPJ Iași", organisation=police.id))[0],
            "ngo": (await create_token(role="ngo", name="Casa Iașului", organisation=ngo.id))[0],
        }
        return tokens, {"ngo": ngo.id}

    tokens, ids = asyncio.run(prepare())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{sock.getsockname()[1]}", tokens, ids)
    uv.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_secretariat_sees_a_new_decline_in_the_review_and_its_csv(site: Site, browser: Browser) -> None:
    base = site.base
    body = shelter(name="Casa Iașului", sites=[{"county": "RO-IS", "locality": "Iași", "address": "Strada Tăcerii 3", "confidential": True}],
                   capacity={"unit": "beds", "total": 10, "available": 2})  # fmt: skip
    service = site.api("POST", f"/api/v1/organisations/{site.ids['ngo']}/services", "admin", json=body)
    referral = site.api("POST", "/api/v1/referrals", "police", json={"profile": PROFILE, "consent": True, "service_ids": [service["id"]]})
    offer = referral["offers"][0]["id"]
    site.api("POST", f"/api/v1/offers/{offer}/decline", "ngo", json={"reason": "safety", "text": "fără personal de noapte săptămâna aceasta"})

    context = browser.new_context(locale="ro-RO", viewport={"width": 360, "height": 740}, accept_downloads=True)
    page = context.new_page()
    seen = Recorder(page)
    _sign_in(page, base, SECRETARY)
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
