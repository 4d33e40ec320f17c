"""The secretariat's coverage and gaps pages (both engines): the map beside the matrix, a county's row, the
gaps with unmet demand and the CSV downloads, limited to a bound person's network; other roles refused."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from referralnet.accounts import people
from referralnet.accounts.services import create_token
from referralnet.clock import FixedClock
from tests.conftest import in_app
from tests.integration.test_coverage import SHELTER, build_directory, insert_history
from tests.integration.test_people import PASSWORD, add_person, sign_in


@pytest.fixture
async def world(client: AsyncTestClient[Any], admin: dict[str, str], tokens: Any, clock: FixedClock) -> dict[str, Any]:
    """The coverage test's directory and history; Casa Iași in ProTECT, Asociația Două in the 15 NGOs; a ProTECT person."""
    ids = await build_directory(client, admin)
    for code, org in (("protect", "casa"), ("ngo15", "doua")):
        assert (await client.put(f"/api/v1/networks/{code}/members/{ids[org]}", headers=admin)).status_code == 200
    dgaspc = tokens.institution("DGASPC Iași", "child_protection")
    _, actor = in_app(client, create_token, role="institution", name="DGASPC Iași", organisation=dgaspc)
    in_app(client, insert_history, actor.token_id, ids)
    in_app(client, people.create_person, email="protect@example.org", name="Ioana ProTECT", role="secretariat", organisation=None,
           password=PASSWORD, now=clock.now(), networks=["protect"])  # fmt: skip
    return {**ids, "dgaspc": dgaspc}


async def as_person(client: AsyncTestClient[Any], email: str) -> None:
    client.cookies.clear()
    assert (await sign_in(client, email=email)).status_code == 303


def row_of(html: str, row_id: str) -> str:
    match = re.search(rf'<tr id="{row_id}"[^>]*>(.*?)</tr>', html, re.S)
    assert match, f"no row {row_id}"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


async def test_coverage_page_shows_the_map_the_matrix_and_a_chosen_county(client: AsyncTestClient[Any], world: dict[str, Any]) -> None:
    await as_person(client, "protect@example.org")
    landing = await client.get("/", follow_redirects=False)
    assert landing.headers["location"] == "/secretariat"
    page = await client.get("/secretariat", params={"service_type": SHELTER, "gender": "female"})
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="secretariat-nav"' in html and all(f'href="/secretariat/{p}"' in html for p in ("gaps", "activity", "report", "review", "members", "people"))
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="county-map"' in html and "<?xml" not in html and "<style>" not in html
    link = re.search(r'<a href="([^"]+)" id="map-RO-VS" aria-label="([^"]+)">', html)
    assert link and "county=RO-VS" in link.group(1) and link.group(2) == "Vaslui: providers 0"
    # ProTECT's view: Două (15 NGOs) serves Vaslui's women, and is not counted; the choice offers ProTECT only.
    assert row_of(html, "row-RO-VS") == "Vaslui 0 none 0 0"
    assert '<option value="ngo15"' not in html and "Două" not in html
    # htmx enhances (the filters and county links swap #coverage-view), loaded from this server under a CSP with no inline script
    assert "script-src 'self'" in page.headers["content-security-policy"] and "unsafe-inline" not in page.headers["content-security-policy"]
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/htmx/htmx-2.0.4.min.js" defer>', '<script src="/static/secretariat.js" defer>']
    assert 'hx-get="/secretariat" hx-push-url="true"' in html and 'hx-select="#coverage-view"' in html
    assert (await client.get("/static/secretariat.js")).status_code == 200
    chosen = await client.get(link.group(1).replace("&amp;", "&"))
    assert chosen.status_code == 200 and 'id="county-row"' in chosen.text and 'id="county-title">Vaslui (RO-VS)' in chosen.text
    iasi = await client.get("/secretariat", params={"service_type": SHELTER, "gender": "male", "county": "RO-IS"})
    assert row_of(iasi.text, f"county-{SHELTER}").endswith("1 1 10 2")
    other = await client.get("/secretariat", params={"network": "ngo15"})
    assert other.status_code == 403 and "Două" not in other.text
    unknown = await client.get("/secretariat", params={"service_type": "spaceship"})
    assert unknown.status_code == 400
    printable = await client.get("/secretariat", params={"service_type": SHELTER, "print": "1"})
    assert printable.status_code == 200 and 'id="filters"' not in printable.text and 'id="secretariat-nav"' not in printable.text
    assert 'class="county-map"' in printable.text and "<script" not in printable.text
    download = await client.get("/secretariat/coverage.csv", params={"service_type": SHELTER, "county": "RO-VS", "gender": "female"})
    assert download.status_code == 200 and "attachment" in download.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert rows and all(r["county"] == "RO-VS" and r["providers"] == "0" for r in rows)


async def test_gaps_page_lists_unmet_demand_and_its_csv(client: AsyncTestClient[Any], world: dict[str, Any]) -> None:
    await as_person(client, "protect@example.org")
    page = await client.get("/secretariat/gaps", params={"service_type": SHELTER, "county": "RO-IS"})
    assert page.status_code == 200, page.text
    first = re.search(r'<tbody>\s*<tr id="([^"]+)"', page.text)
    assert first and first.group(1) == f"gap-RO-IS-{SHELTER}-adult-female"
    assert row_of(page.text, first.group(1)).endswith("no provider within reach 0 0 3")
    csv_link = re.search(r'href="(/secretariat/gaps\.csv\?[^"]+)"', page.text)
    assert csv_link
    download = await client.get(csv_link.group(1).replace("&amp;", "&"))
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert (rows[0]["county"], rows[0]["gender"], rows[0]["reason"], rows[0]["referrals_unplaced"]) == ("RO-IS", "female", "no_provider", "<10")
    everything = await client.get("/secretariat/gaps")
    assert everything.status_code == 200 and 'id="gaps-total"' in everything.text


async def test_the_romanian_page(client: AsyncTestClient[Any], world: dict[str, Any]) -> None:
    await as_person(client, "protect@example.org")
    client.cookies.set("rn_lang", "ro")
    page = await client.get("/secretariat", params={"service_type": SHELTER})
    assert page.status_code == 200 and '<html lang="ro">' in page.text
    assert "Acoperire" in page.text and "Furnizori în raza de acțiune" in page.text


@pytest.mark.parametrize("role", ["institution", "ngo"])
async def test_other_roles_never_get_the_pages(client: AsyncTestClient[Any], world: dict[str, Any], clock: FixedClock, role: str) -> None:
    organisation = world["dgaspc"] if role == "institution" else world["casa"]
    add_person(client, clock, email=f"{role}@example.org", role=role, organisation=organisation)
    await as_person(client, f"{role}@example.org")
    for path in ("/secretariat", "/secretariat/gaps", "/secretariat/gaps.csv", "/secretariat/coverage.csv"):
        resp = await client.get(path, follow_redirects=False)
        assert resp.status_code == 403 and "county-map" not in resp.text and "referrals_unplaced" not in resp.text, path
    client.cookies.clear()
    assert (await client.get("/secretariat", follow_redirects=False)).headers["location"] == "/sign-in?next=/secretariat"
