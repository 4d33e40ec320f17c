"""What the browser tests share: the real app under uvicorn on a fresh SQLite file, a ``Site`` that calls its API
with bearer tokens, signing in, the request ``Recorder``, and ``shoot`` (axe-core, 360 px, screenshots)."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from playwright.sync_api import Page, Request

from referralnet import db
from referralnet.accounts import people
from referralnet.accounts.schemas import SYSTEM
from referralnet.accounts.services import create_token
from referralnet.app import create_app
from referralnet.clock import SystemClock
from referralnet.directory.schemas import OrganisationCreate
from referralnet.directory.services import create_organisation
from referralnet.settings import Settings

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "screenshots"
PASSWORD = "zăpadă pe dealul Feleacului"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def settings_for(tmp_path_factory: pytest.TempPathFactory, name: str, secret_key: str) -> Settings:
    """Settings for a fresh SQLite file in a new temporary folder, without the scheduler."""
    path = tmp_path_factory.mktemp(name) / "referralnet.sqlite"
    return Settings(database_url=f"sqlite:///{path}", data_dir=str(REPO / "data"), scheduler=False, secret_key=secret_key)


@contextmanager
def serve(settings: Settings, prepare: Callable[[], Awaitable[T]]) -> Iterator[tuple[str, T]]:
    """Migrates the database, binds it, runs ``prepare`` (the test's data), then serves the app on a free port:
    yields the base URL and what ``prepare`` returned, and stops the server afterwards."""

    async def setup() -> T:
        engine = db.make_engine(settings.database_url)
        await db.migrate(engine)
        db.bind(engine)  # SQLite opens a connection per query, so the server's loop can share the file
        return await prepare()

    prepared = asyncio.run(setup())
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    uv = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}", prepared
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
        sock.close()


async def police_ngo_and_secretary(ngo: OrganisationCreate, email: str, name: str) -> tuple[dict[str, str], dict[str, int]]:
    """IPJ Iași (police), the NGO ``ngo`` and a secretariat person signing in with ``PASSWORD``; returns API tokens
    (admin, the police's "officer", the NGO's "ngo") and the NGO's id as "ngo"."""
    police = await create_organisation(
        OrganisationCreate(name="IPJ Iași", slug="ipj-iasi", kind="institution", institution_type="police"), SYSTEM, SystemClock()
    )
    member = await create_organisation(ngo, SYSTEM, SystemClock())
    await people.create_person(email=email, name=name, role="secretariat", organisation=None, password=PASSWORD, now=SystemClock().now())
    tokens = {
        "admin": (await create_token(role="admin", name="e2e admin"))[0],
        "officer": (await create_token(role="institution", name="IPJ Iași", organisation=police.id))[0],
        "ngo": (await create_token(role="ngo", name="Casa Iașului", organisation=member.id))[0],
    }
    return tokens, {"ngo": member.id}


class Site:
    """The running app: its base URL, API tokens by name, and ids the test's data made."""

    def __init__(self, base: str, tokens: dict[str, str], ids: dict[str, int] | None = None) -> None:
        self.base, self.tokens, self.ids = base, tokens, ids if ids is not None else {}

    def api(self, method: str, path: str, token: str = "admin", **kw: Any) -> Any:
        """Calls the API with the bearer token named ``token``; asserts a success and returns the JSON body."""
        resp = httpx.request(method, self.base + path, headers={"Authorization": f"Bearer {self.tokens[token]}"}, timeout=30, **kw)
        assert resp.status_code < 300, resp.text
        return resp.json()


def serve_site(tmp_path_factory: pytest.TempPathFactory, name: str, secret_key: str,
               prepare: Callable[[], Awaitable[tuple[dict[str, str], dict[str, int]]]]) -> Iterator[Site]:  # fmt: skip
    """For a module fixture: ``serve`` on a fresh SQLite file, yielding a ``Site`` with the tokens and ids ``prepare`` made."""
    with serve(settings_for(tmp_path_factory, name, secret_key), prepare) as (base, (tokens, ids)):
        yield Site(base, tokens, ids)


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/sign-in")
    page.locator("#email").fill(email)
    page.locator("#password").fill(PASSWORD)
    page.locator("#sign-in").click()


class Recorder:
    """Every URL a page requests, to prove nothing leaves the local server."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        page.on("request", self._on)

    def _on(self, request: Request) -> None:
        self.urls.append(request.url)

    def assert_local(self, base: str) -> None:
        assert self.urls, "no request was recorded"
        here = urlsplit(base).netloc
        # data: and blob: URLs are built in the page (Swagger UI's inline icons) and never reach a network.
        away = [u for u in self.urls if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != here]
        assert not away, away


def accessible(page: Page) -> None:
    """axe-core (bundled by axe-playwright-python, evaluated from the test, not fetched) finds no serious or
    critical violation on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    bad = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations if v["impact"] in ("serious", "critical")]
    assert not bad, bad


def fits_360(page: Page) -> None:
    """At 360 px the page does not scroll sideways (wide tables stack their cells or wrap)."""
    size = page.viewport_size
    page.set_viewport_size({"width": 360, "height": 740})
    width = page.evaluate("document.documentElement.scrollWidth")
    if size is not None:
        page.set_viewport_size(size)
    assert width <= 360, f"{page.url} is {width} px wide at 360 px"


def shoot(page: Page, name: str) -> None:
    """The page passes axe and fits 360 px; with REFERRALNET_SCREENSHOTS=1 it is also saved at 1280 and 360 px into docs/screenshots/."""
    accessible(page)
    fits_360(page)
    if os.environ.get("REFERRALNET_SCREENSHOTS") != "1":
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for width, height in ((1280, 900), (360, 740)):
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
    if size is not None:
        page.set_viewport_size(size)
