"""Browser tests of the people's pages: sign-in in Romanian, the language switch, sign-out; every request
the browser makes goes to the server itself."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS, Recorder

import uvicorn  # noqa: E402
from playwright.sync_api import Browser, sync_playwright  # noqa: E402

from referralnet import db  # noqa: E402
from referralnet.accounts import people  # noqa: E402
from referralnet.accounts.schemas import SYSTEM  # noqa: E402
from referralnet.app import create_app  # noqa: E402
from referralnet.clock import SystemClock  # noqa: E402
from referralnet.directory.schemas import OrganisationCreate  # noqa: E402
from referralnet.directory.services import create_organisation  # noqa: E402
from referralnet.settings import Settings  # noqa: E402

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "zăpadă pe dealul Feleacului"
OFFICER = "agent.popescu@ipj-cluj.example.ro"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = tmp_path_factory.mktemp("e2e-pages") / "referralnet.sqlite"
    settings = Settings(database_url=f"sqlite:///{path}", data_dir=str(REPO / "data"), scheduler=False, secret_key="e2e-pages")

    async def prepare() -> None:
        engine = db.make_engine(settings.database_url)
        await db.migrate(engine)
        db.bind(engine)
        police = await create_organisation(
            OrganisationCreate(name="IPJ Cluj", slug="ipj-cluj", kind="institution", institution_type="police"), SYSTEM, SystemClock()
        )
        await people.create_person(email=OFFICER, name="Ana Popescu", role="institution", organisation=police.id,
                                   password=PASSWORD, now=SystemClock().now())  # fmt: skip

    asyncio.run(prepare())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    uv.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_sign_in_in_romanian_switch_language_and_sign_out(base: str, browser: Browser) -> None:
    context = browser.new_context(locale="ro-RO", viewport={"width": 360, "height": 740})
    page = context.new_page()
    seen = Recorder(page)
    page.goto(f"{base}/home")
    assert page.url == f"{base}/sign-in?next=/home"
    assert page.locator("html").get_attribute("lang") == "ro"
    assert page.locator("h1").inner_text() == "Autentificare"
    page.get_by_label("Adresa de e-mail").fill(OFFICER)
    page.get_by_label("Parola").fill("nu este parola corectă")
    page.get_by_role("button", name="Autentificare").click()
    error = page.locator("#sign-in-error")
    assert error.inner_text() == "Adresa de e-mail sau parola nu este corectă."
    assert page.locator("#password").get_attribute("aria-describedby") == "sign-in-error"
    assert page.locator("#email").input_value() == OFFICER  # kept; the password is not
    page.get_by_label("Parola").fill(PASSWORD)
    page.get_by_role("button", name="Autentificare").click()
    page.wait_for_url(f"{base}/home")
    assert page.locator("h1").inner_text() == "Autentificat"
    assert page.locator("#person-name").inner_text() == "Ana Popescu"
    assert page.locator("#person-role").inner_text() == "Instituție"

    page.locator("#lang-en").click()
    page.wait_for_url(f"{base}/home")
    assert page.locator("html").get_attribute("lang") == "en" and page.locator("h1").inner_text() == "Signed in"
    page.reload()
    assert page.locator("h1").inner_text() == "Signed in"  # remembered, although the browser prefers Romanian

    page.locator("#sign-out").click()
    page.wait_for_url(f"{base}/sign-in")
    page.goto(f"{base}/home")
    assert page.url.startswith(f"{base}/sign-in")
    seen.assert_local(base)
    context.close()


def test_keyboard_reaches_the_form_with_visible_focus(base: str, browser: Browser) -> None:
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/sign-in")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    assert page.evaluate("document.activeElement.id") == "email"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    context.close()
