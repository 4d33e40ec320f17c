"""Browser test of the secretariat's coverage pages at 360 px: a person bound to ProTECT opens coverage, chooses
a county on the map and sees its row, finds the gap made here in the gaps list, downloads the gaps CSV, and a
member of the other network never appears; every request the browser makes goes to the server itself."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
import uvicorn
from playwright.sync_api import Browser, expect

from referralnet import db
from referralnet.accounts import people
from referralnet.accounts.schemas import SYSTEM
from referralnet.accounts.services import create_token
from referralnet.app import create_app
from referralnet.clock import SystemClock
from referralnet.directory.schemas import OrganisationCreate, ServiceCreate
from referralnet.directory.services import create_organisation, create_service
from referralnet.settings import Settings
from referralnet.tables import Offer, Referral, ReferralNeed
from tests.e2e.test_browser import Recorder
from tests.e2e.test_pages import PASSWORD, _sign_in, browser, shoot  # noqa: F401 - browser is a fixture

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
BOUND = "coordonator@protect.example.ro"
SHELTER = "residential_shelter"


def _profile(county: str) -> str:
    return msgspec.json.encode({
        "age_band": "25-39", "gender": "male", "nationality_group": "romanian", "exploitation_forms": ["labour"],
        "needs": [{"service_type": SHELTER, "priority": "required"}], "location": {"county": county},
    }).decode()


async def _unplaced(token_id: int, county: str, organisation: int, service: int, now: dt.datetime) -> None:
    """A referral from ``county`` whose shelter need stayed unplaced after ``organisation`` declined it."""
    created = now - dt.timedelta(days=3)
    rows = await Referral.insert(Referral(
        created_by=token_id, created_by_label="institution:e2e", profile=_profile(county), summary="-", county=county,
        urgency="urgent", mode="parallel", status="unplaced", consent_at=created, created_at=created, updated_at=created,
    )).returning(Referral.id)  # fmt: skip
    rid = rows[0]["id"]
    await ReferralNeed.insert(ReferralNeed(referral=rid, position=0, service_type=SHELTER, priority="required", status="unplaced"))
    await Offer.insert(Offer(referral=rid, service=service, organisation=organisation, position=0, status="declined", sent_at=created,
                             deadline=created + dt.timedelta(hours=24), responded_at=created + dt.timedelta(hours=1),
                             decline_reason="no_capacity"))  # fmt: skip


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server with a ProTECT member in Iași, a 15-NGO member serving Vaslui, and two unplaced referrals of men
    needing a shelter: one from Galați declined by the ProTECT member, one from Constanța declined by the other."""
    path = tmp_path_factory.mktemp("e2e-secretariat") / "referralnet.sqlite"
    settings = Settings(database_url=f"sqlite:///{path}", data_dir=str(REPO / "data"), scheduler=False, secret_key="e2e-sec")

    async def prepare() -> None:
        engine = db.make_engine(settings.database_url)
        await db.migrate(engine)
        db.bind(engine)
        clock = SystemClock()
        now = clock.now()
        casa = await create_organisation(OrganisationCreate(name="Casa Protect Iași", networks=["protect"]), SYSTEM, clock)
        alta = await create_organisation(OrganisationCreate(name="Asociația Altă Rețea", networks=["ngo15"]), SYSTEM, clock)
        shelter = {"type": SHELTER, "eligibility": {"age_min": 18, "genders": ["female"]}, "capacity": {"unit": "beds", "total": 8, "available": 3}}
        mine = await create_service(casa.id, msgspec.convert({**shelter, "name": "Casa Iași", "sites": [{"county": "RO-IS", "locality": "Iași"}]},
                                                             ServiceCreate), SYSTEM, clock)  # fmt: skip
        theirs = await create_service(alta.id, msgspec.convert({**shelter, "name": "Adăpost Vaslui", "service_area": {"counties": ["RO-VS"]}},
                                                               ServiceCreate), SYSTEM, clock)  # fmt: skip
        police = await create_organisation(OrganisationCreate(name="IPJ Galați", kind="institution", institution_type="police"), SYSTEM, clock)
        _, officer = await create_token(role="institution", name="IPJ Galați", organisation=police.id)
        assert officer.token_id is not None
        await _unplaced(officer.token_id, "RO-GL", casa.id, mine.id, now)
        await _unplaced(officer.token_id, "RO-CT", alta.id, theirs.id, now)
        await people.create_person(email=BOUND, name="Ioana Marin", role="secretariat", organisation=None, password=PASSWORD, now=now,
                                   networks=["protect"])  # fmt: skip

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


def test_a_bound_secretariat_reviews_coverage_and_gaps_at_360_px(base: str, browser: Browser) -> None:  # noqa: F811
    context = browser.new_context(locale="en-GB", viewport={"width": 360, "height": 740}, accept_downloads=True)
    page = context.new_page()
    seen = Recorder(page)
    _sign_in(page, base, BOUND)
    page.wait_for_url(f"{base}/secretariat")
    assert page.locator("h1").inner_text() == "Coverage"
    assert "Altă Rețea" not in page.content() and page.locator("#network option[value='ngo15']").count() == 0
    expect(page.locator("#row-RO-VS")).to_contain_text("none")  # the other network's Vaslui shelter is not counted
    shoot(page, "secretariat-coverage")

    page.locator("#map-RO-IS").click()  # a county on the map
    page.wait_for_url("**county=RO-IS**")
    expect(page.locator("#county-title")).to_have_text("Iași (RO-IS)")
    expect(page.locator(f"#county-{SHELTER}")).to_contain_text("8")  # the member's 8 beds, within reach of Iași
    expect(page.locator("#row-RO-IS")).to_have_class("chosen")

    page.locator("#secretariat-nav a[href='/secretariat/gaps']").click()
    page.wait_for_url(f"{base}/secretariat/gaps")
    first = page.locator("#gaps tbody tr").first
    expect(first).to_have_attribute("id", f"gap-RO-GL-{SHELTER}-adult-male")  # the gap made here, worst first
    expect(first).to_contain_text("Galați")
    shoot(page, "secretariat-gaps")

    with page.expect_download() as download:
        page.locator("#gaps-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    galati = next(r for r in rows if (r["county"], r["service_type"], r["age_group"], r["gender"]) == ("RO-GL", SHELTER, "adult", "male"))
    assert (galati["reason"], galati["providers"], galati["referrals_unplaced"]) == ("no_provider", "0", "<10")
    assert rows[0] == galati
    ct = next(r for r in rows if (r["county"], r["service_type"], r["age_group"], r["gender"]) == ("RO-CT", SHELTER, "adult", "male"))
    assert ct["referrals_unplaced"] == "0"
    assert "Altă Rețea" not in text and "Altă Rețea" not in page.content()
    page.locator("#county").select_option("RO-CT")  # the filters, without JavaScript: a plain GET form
    page.locator("#service_type").select_option(SHELTER)
    page.locator("#apply-filters").click()
    page.wait_for_url("**county=RO-CT**")
    constanta = page.locator(f"#gap-RO-CT-{SHELTER}-adult-male")
    expect(constanta.locator("td").last).to_have_text("0")  # its unplaced referral was the other network's
    seen.assert_local(base)
    context.close()
