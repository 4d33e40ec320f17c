"""The capacity reminder's page in Chromium: it shows the figures, sets the free places once, loads nothing from outside."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from playwright.sync_api import Browser

from referralnet.notifications import signing
from tests.e2e.support import Recorder
from tests.e2e.test_browser import SECRET, Server, server  # noqa: F401 - server is test_browser's fixture, run again for this module

pytestmark = pytest.mark.e2e


def test_capacity_page_sets_free_places_once(server: Server, browser: Browser) -> None:  # noqa: F811
    service = server.shelter("Casa Numără")
    time.sleep(1.1)  # the reminder comes after the last figure (the link holds whole seconds)
    issued = dt.datetime.now(dt.timezone.utc)
    link = f"{server.base}/respond/capacity/{signing.make_capacity_token(SECRET, service, issued, issued + dt.timedelta(days=14))}"
    context = browser.new_context()
    page = context.new_page()
    recorder = Recorder(page)

    shown = page.goto(link)
    assert shown is not None and shown.status == 200
    assert page.locator("#capacity-service").inner_text() == "Casa Numără"
    assert page.locator("#capacity-available").inner_text() == "2"
    assert page.locator("#still-correct").inner_text() == "Still correct: 2 free beds"
    assert server.available(service) == 2  # opening the page changed nothing

    page.fill("#available", "5")
    with page.expect_navigation() as nav:
        page.click("#set-free")
    assert nav.value is not None and nav.value.status == 200
    assert page.locator("h1").inner_text() == "Capacity recorded"
    assert "5 free beds recorded" in page.locator("#message").inner_text()
    assert server.available(service) == 5

    again = page.reload()  # Chromium re-submits the form: a second POST
    assert again is not None and again.status == 409
    assert page.locator("h1").inner_text() == "Not saved" and page.locator("#set-free").count() == 0
    reopened = page.goto(link)
    assert reopened is not None and reopened.status == 409 and page.locator("h1").inner_text() == "Already up to date"
    assert server.available(service) == 5
    recorder.assert_local(server.base)
    context.close()
