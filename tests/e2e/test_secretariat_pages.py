"""Browser test of the secretariat's story at 360 px: a person bound to ProTECT opens coverage, chooses a county on
the map and sees its row (swapped in place by htmx), finds the gap made here in the gaps list, sees their member's
decline in the review and contests it in place, downloads the gaps CSV, and a member of the other network (with
its own decline and service) never appears; every request the browser makes goes to the server itself. Without
JavaScript the same links and forms load whole pages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from playwright.sync_api import Browser, Page, expect

from referralnet.accounts import people
from referralnet.accounts.schemas import SYSTEM
from referralnet.accounts.services import create_token
from referralnet.clock import SystemClock
from referralnet.directory.schemas import OrganisationCreate, ServiceCreate
from referralnet.directory.services import create_organisation, create_service
from referralnet.tables import Offer, Referral, ReferralNeed
from tests.e2e.support import PASSWORD, Recorder, serve, settings_for, shoot, sign_in

pytestmark = pytest.mark.e2e
BOUND = "coordonator@protect.example.ro"
SHELTER = "residential_shelter"


def _profile(county: str) -> str:
    return msgspec.json.encode({
        "age_band": "25-39", "gender": "male", "nationality_group": "romanian", "exploitation_forms": ["labour"],
        "needs": [{"service_type": SHELTER, "priority": "required"}], "location": {"county": county},
    }).decode()


async def _unplaced(token_id: int, county: str, organisation: int, service: int, now: dt.datetime) -> int:
    """A referral from ``county`` whose shelter need stayed unplaced after ``organisation`` declined it."""
    created = now - dt.timedelta(days=3)
    rows = await Referral.insert(Referral(
        created_by=token_id, created_by_label="institution:e2e", profile=_profile(county), summary="-", county=county,
        urgency="urgent", mode="parallel", status="unplaced", consent_at=created, created_at=created, updated_at=created,
    )).returning(Referral.id)  # fmt: skip
    rid = rows[0]["id"]
    await ReferralNeed.insert(ReferralNeed(referral=rid, position=0, service_type=SHELTER, priority="required", status="unplaced"))
    offer = await Offer.insert(Offer(referral=rid, service=service, organisation=organisation, position=0, status="declined",
                                     sent_at=created, deadline=created + dt.timedelta(hours=24), responded_at=created + dt.timedelta(hours=1),
                                     decline_reason="no_capacity")).returning(Offer.id)  # fmt: skip
    return int(offer[0]["id"])


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, int]]]:
    """A server with a ProTECT member in Iași, a 15-NGO member serving Vaslui, and two unplaced referrals of men
    needing a shelter: one from Galați declined by the ProTECT member, one from Constanța declined by the other."""
    settings = settings_for(tmp_path_factory, "e2e-secretariat", "e2e-sec")

    async def prepare() -> dict[str, int]:
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
        ours = await _unplaced(officer.token_id, "RO-GL", casa.id, mine.id, now)
        other = await _unplaced(officer.token_id, "RO-CT", alta.id, theirs.id, now)
        await people.create_person(email=BOUND, name="Ioana Marin", role="secretariat", organisation=None, password=PASSWORD, now=now,
                                   networks=["protect"])  # fmt: skip
        return {"our_decline": ours, "their_decline": other}

    with serve(settings, prepare) as (url, ids):
        yield url, ids


OTHERS = ("Altă Rețea", "Adăpost Vaslui")  # the other network's member and its service


def _stays(page: Page) -> None:
    """Marks the loaded document: the mark survives an htmx swap, and a full page load loses it."""
    page.evaluate("window.__stays = true")


def _stayed(page: Page) -> bool:
    return bool(page.evaluate("window.__stays === true"))


def _no_others(page: Page) -> None:
    text = page.content()
    assert not [name for name in OTHERS if name in text], page.url


def test_a_bound_secretariat_reviews_their_network_at_360_px(base: tuple[str, dict[str, int]], browser: Browser) -> None:
    url, ids = base
    context = browser.new_context(locale="en-GB", viewport={"width": 360, "height": 740}, accept_downloads=True)
    page = context.new_page()
    seen = Recorder(page)
    sign_in(page, url, BOUND)
    page.wait_for_url(f"{url}/secretariat")
    assert page.locator("h1").inner_text() == "Coverage"
    _no_others(page)
    assert page.locator("#network option[value='ngo15']").count() == 0
    expect(page.locator("#row-RO-VS")).to_contain_text("none")  # the other network's Vaslui shelter is not counted
    shoot(page, "secretariat-coverage")

    # A county on the map: its row is swapped in place (htmx), and the address names it.
    _stays(page)
    page.locator("#map-RO-IS").click()
    page.wait_for_url("**county=RO-IS**")
    expect(page.locator("#county-title")).to_have_text("Iași (RO-IS)")
    expect(page.locator(f"#county-{SHELTER}")).to_contain_text("8")  # the member's 8 beds, within reach of Iași
    expect(page.locator("#row-RO-IS")).to_have_class("chosen")
    assert _stayed(page), "the county's row was not swapped in place"
    expect(page.locator("#coverage-csv")).to_have_attribute("href", re.compile(r"county=RO-IS"))  # the download follows
    page.go_back()  # the pushed address: back to all counties, asked again from the server (htmx keeps no copy)
    page.wait_for_url(f"{url}/secretariat")
    expect(page.locator("#county-row")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('htmx-history-cache')") is None

    page.locator("#secretariat-nav a[href='/secretariat/gaps']").click()
    page.wait_for_url(f"{url}/secretariat/gaps")
    first = page.locator("#gaps tbody tr").first
    expect(first).to_have_attribute("id", f"gap-RO-GL-{SHELTER}-adult-male")  # the gap made here, worst first
    expect(first).to_contain_text("Galați")
    _no_others(page)
    shoot(page, "secretariat-gaps")

    with page.expect_download() as download:
        page.locator("#gaps-csv").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    galati = next(r for r in rows if (r["county"], r["service_type"], r["age_group"], r["gender"]) == ("RO-GL", SHELTER, "adult", "male"))
    assert (galati["reason"], galati["providers"], galati["referrals_unplaced"]) == ("no_provider", "0", "<10")
    assert rows[0] == galati
    ct = next(r for r in rows if (r["county"], r["service_type"], r["age_group"], r["gender"]) == ("RO-CT", SHELTER, "adult", "male"))
    assert ct["referrals_unplaced"] == "0"  # the Constanța referral was declined by the other network only
    assert not [name for name in OTHERS if name in text]

    _stays(page)
    page.locator("#county").select_option("RO-CT")  # the filters swap the list in place
    page.locator("#service_type").select_option(SHELTER)
    page.locator("#apply-filters").click()
    page.wait_for_url("**county=RO-CT**")
    constanta = page.locator(f"#gap-RO-CT-{SHELTER}-adult-male")
    expect(constanta.locator("td").last).to_have_text("0")  # its unplaced referral was the other network's
    assert _stayed(page)
    assert all(i.startswith("gap-RO-CT-") for i in page.locator("#gaps tbody tr").evaluate_all("rs => rs.map(r => r.id)"))

    page.locator("#secretariat-nav a[href='/secretariat/review']").click()
    page.wait_for_url(f"{url}/secretariat/review")
    ours = page.locator(f"#decline-{ids['our_decline']}")
    expect(ours).to_contain_text("Casa Protect Iași")
    expect(ours).to_contain_text("No free place")
    expect(page.locator(f"#decline-{ids['their_decline']}")).to_have_count(0)
    _no_others(page)
    _stays(page)
    ours.get_by_role("button", name="Contest").click()  # answered in place
    expect(page.locator("#done")).to_contain_text("marked as contested")
    expect(ours).to_contain_text("contested")
    expect(page.locator("#contested-table")).to_contain_text("Casa Protect Iași")
    assert _stayed(page) and page.url == f"{url}/secretariat/review"

    for path in ("/secretariat/members", "/secretariat/people", "/secretariat/activity", "/secretariat/report"):
        page.goto(url + path)
        _no_others(page)
    seen.assert_local(url)
    context.close()


def test_without_javascript_the_map_and_filters_load_pages(base: tuple[str, dict[str, int]], browser: Browser) -> None:
    url, _ids = base
    context = browser.new_context(locale="en-GB", viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, url, BOUND)
    page.wait_for_url(f"{url}/secretariat")
    page.locator("#map-RO-IS").click()
    page.wait_for_url("**county=RO-IS#county-row")
    expect(page.locator("#county-title")).to_have_text("Iași (RO-IS)")
    page.goto(f"{url}/secretariat/gaps")
    page.locator("#county").select_option("RO-GL")
    page.locator("#apply-filters").click()
    page.wait_for_url("**county=RO-GL**")
    expect(page.locator("#gaps tbody tr").first).to_have_attribute("id", f"gap-RO-GL-{SHELTER}-adult-male")
    context.close()
