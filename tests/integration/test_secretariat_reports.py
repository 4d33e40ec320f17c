"""The secretariat's activity and yearly report pages on both engines: a referral history built through the API
across two years, figures compared cell by cell, small counts shown as <10 in tables and charts, CSV downloads equal
to the API's, and people of other roles refused."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from referralnet.accounts import people
from referralnet.app import create_app
from referralnet.clock import FixedClock
from referralnet.coverage import yearly
from referralnet.settings import Settings
from tests.conftest import Tokens, in_app
from tests.integration.helpers import PROFILE, make_org, make_service, shelter
from tests.integration.test_people import PASSWORD, add_person, sign_in

SITES = [{"county": "RO-IS", "locality": "Iași"}]
BEDS = {"unit": "beds", "total": 40, "available": 40}
START_2025 = dt.datetime(2025, 6, 2, 9, 0, tzinfo=dt.timezone.utc)
SECRETARIAT = "ana@secretariat.example.org"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START_2025)


@pytest.fixture
async def client(settings: Settings, clock: FixedClock) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as c:
        yield c


class History:
    """Referrals made, answered and closed through the API."""

    def __init__(self, client: AsyncTestClient[Any], officer: dict[str, str], ngo: dict[str, str], services: dict[str, int]) -> None:
        self.client, self.officer, self.ngo, self.services = client, officer, ngo, services

    async def refer(self, *types: str) -> dict[str, Any]:
        profile = copy.deepcopy(PROFILE)
        profile["needs"] = [{"service_type": t, "priority": "required"} for t in types]
        body = {"profile": profile, "consent": True, "mode": "parallel", "service_ids": [self.services[t] for t in types]}
        resp = await self.client.post("/api/v1/referrals", json=body, headers=self.officer)
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def accept_all(self, referral: dict[str, Any]) -> None:
        for offer in referral["offers"]:
            resp = await self.client.post(f"/api/v1/offers/{offer['id']}/accept", headers=self.ngo)
            assert resp.status_code == 200, resp.text

    async def decline_all(self, referral: dict[str, Any], reason: str = "no_capacity") -> None:
        for offer in referral["offers"]:
            resp = await self.client.post(f"/api/v1/offers/{offer['id']}/decline", json={"reason": reason}, headers=self.ngo)
            assert resp.status_code == 200, resp.text

    async def close(self, referral: dict[str, Any], outcome: str) -> None:
        resp = await self.client.post(f"/api/v1/referrals/{referral['id']}/close", json={"outcome": outcome}, headers=self.officer)
        assert resp.status_code == 200, resp.text

    async def cancel(self, referral: dict[str, Any]) -> None:
        resp = await self.client.post(f"/api/v1/referrals/{referral['id']}/cancel", json={}, headers=self.officer)
        assert resp.status_code == 200, resp.text


async def directory(client: AsyncTestClient[Any], tokens: Tokens, admin: dict[str, str]) -> History:
    org = await make_org(client, admin, "Asociația Alfa")
    services = {"residential_shelter": (await make_service(client, admin, org["id"], shelter(name="Casa Alfa", capacity=BEDS, sites=SITES)))["id"]}
    for t in ("day_centre", "family_reintegration", "repatriation"):
        services[t] = (await make_service(client, admin, org["id"], shelter(type=t, name=f"Alfa {t}", capacity=None, sites=SITES)))["id"]
    institution = tokens.institution("IPJ Iași")
    officer = tokens.make("institution", organisation=institution, name="IPJ Iași")
    return History(client, officer, tokens.make("ngo", organisation=org["id"]), services)


async def secretariat_person(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock, email=SECRETARIAT, role="secretariat")
    client.cookies.clear()
    assert (await sign_in(client, email=SECRETARIAT)).status_code == 303


def table_of(html: str, table_id: str) -> dict[str, list[str]]:
    """A figures table of the page as row label -> its cells (text)."""
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    rows: dict[str, list[str]] = {}
    for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
        head = re.search(r'<th scope="row">(.*?)</th>', row, flags=re.S)
        if head:
            rows[head.group(1).strip()] = [c.strip() for c in re.findall(r"<td>(.*?)</td>", row, flags=re.S)]
    return rows


def chart_values(html: str, chart_id: str) -> tuple[list[str], list[str]]:
    """The value labels written on a chart's bars and the widths of its bars (hidden ones marked), top bar first."""
    svg = html.split(f'id="{chart_id}"', 1)[1].split("</svg>", 1)[0]
    labels = [re.sub("&lt;", "<", v) for v in re.findall(r'class="value">([^<]*)<', svg)]
    bars = re.findall(r'<rect x="[^"]*" y="[^"]*" rx="0" ry="0" width="([^"]*)" height="[^"]*" class="(suppressed|rect[^"]*)"', svg)
    return labels[::-1], [f"{w}:{c.split()[0]}" for w, c in bars][::-1]  # pygal draws the first row at the bottom


async def test_yearly_report_equals_the_hand_computed_history(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens,
                                                              admin: dict[str, str]) -> None:
    h = await directory(client, tokens, admin)
    # 2025: twelve shelters whose services started; a day centre with a reintegration, completed; a repatriation
    # still open; a reintegration cancelled after placement; a shelter declined (never placed).
    for _ in range(12):
        r = await h.refer("residential_shelter")
        await h.accept_all(r)
        await h.close(r, "services_started")
        clock.advance(hours=5)
    both = await h.refer("day_centre", "family_reintegration")
    await h.accept_all(both)
    await h.close(both, "completed")
    await h.accept_all(await h.refer("repatriation"))
    cancelled = await h.refer("family_reintegration")
    await h.accept_all(cancelled)
    await h.cancel(cancelled)
    await h.decline_all(await h.refer("residential_shelter"), reason="not_eligible")
    # Referred on 31 December 2025, placed on 1 January 2026: a 2026 figure.
    clock.set(dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.timezone.utc))
    late = await h.refer("residential_shelter")
    clock.set(dt.datetime(2026, 1, 1, 0, 15, tzinfo=dt.timezone.utc))
    await h.accept_all(late)
    left = await h.refer("residential_shelter")
    await h.accept_all(left)
    await h.close(left, "person_left")

    columns = ["services_started", "person_left", "transferred", "completed", "other", "cancelled", "ongoing"]
    expected = {
        2025: {"residential": {"services_started": 12}, "day_centre": {"completed": 1},
               "reintegration": {"completed": 1, "cancelled": 1}, "repatriation": {"ongoing": 1},
               "any": {"services_started": 12, "completed": 1, "cancelled": 1, "ongoing": 1}},
        2026: {"residential": {"person_left": 1, "ongoing": 1}, "any": {"person_left": 1, "ongoing": 1}},
        2024: {},
    }  # fmt: skip
    for year, groups in expected.items():
        report = in_app(client, yearly.yearly_report, year, safe=False)
        assert report.columns == columns
        got = {row.group: row for row in report.rows}
        assert list(got) == [*yearly.REPORT_GROUPS, "any"]
        for group, row in got.items():
            want = [groups.get(group, {}).get(c, 0) for c in columns]
            assert row.cells == want, (year, group)
            assert row.total == sum(want), (year, group)

    await secretariat_person(client, clock)
    page = await client.get("/secretariat/report", params={"year": "2025"})
    assert page.status_code == 200 and "<h1>Yearly report 2025</h1>" in page.text
    shown = table_of(page.text, "table-yearly")
    assert shown["Residential accommodation"] == ["12", "0", "0", "0", "0", "0", "0", "12"]
    assert shown["Day-centre services"] == ["0", "0", "0", "&lt;10", "0", "0", "0", "&lt;10"]
    assert shown["Reintegration"] == ["0", "0", "0", "&lt;10", "0", "&lt;10", "0", "&lt;10"]
    assert shown["Repatriation"] == ["0", "0", "0", "0", "0", "0", "&lt;10", "&lt;10"]
    # 15 people, 12 of them one outcome: the three <10 would add up to 3, so the 12 is hidden too ("x").
    assert shown["Any service"] == ["x", "0", "0", "&lt;10", "0", "&lt;10", "&lt;10", "15"]
    labels, bars = chart_values(page.text, "chart-yearly")
    assert "1" not in labels and "2" not in labels and labels.count("<10") == 3
    hidden = {b for b in bars if b.endswith(":suppressed")}
    assert len(hidden) == 1, "every hidden count is a bar of the same length"  # Day centre 1, Reintegration 2, Repatriation 1
    csv_text = (await client.get("/secretariat/report.csv", params={"year": "2025"})).text
    rows = {r["group"]: r for r in csv.DictReader(io.StringIO(csv_text))}
    assert rows["residential"]["services_started"] == "12" and rows["reintegration"]["total"] == "<10"
    assert (await client.get("/secretariat/report", params={"year": "2026", "print": "1"})).text.count('id="filters"') == 0
    # The API serves the same figures (raw to the secretariat unless asked for safe ones; the CSV always safe).
    api = (await client.get("/api/v1/coverage/report", params={"year": 2025, "disclosure": "safe"}, headers=admin)).json()
    assert {r["group"]: [*r["cells"], r["total"]] for r in api["rows"]}["any"] == ["x", 0, 0, "<10", 0, "<10", "<10", 15]
    raw = (await client.get("/api/v1/coverage/report", params={"year": 2025}, headers=admin)).json()
    assert {r["group"]: r["total"] for r in raw["rows"]}["reintegration"] == 2
    assert (await client.get("/api/v1/coverage/report.csv", params={"year": 2025}, headers=admin)).text == csv_text
    refused = await client.get("/api/v1/coverage/report", params={"year": 2025, "disclosure": "raw"}, headers=h.officer)
    assert refused.status_code == 403
    await client.get("/language/ro?next=/secretariat/report")
    in_romanian = await client.get("/secretariat/report", params={"year": "2026"})
    assert "Cazare rezidențială" in in_romanian.text and "Raport anual" in in_romanian.text
    bad = await client.get("/secretariat/report", params={"year": "20x5"})
    assert bad.status_code == 422 and 'id="error-year"' in bad.text


async def test_activity_page_suppresses_small_counts_and_agrees_with_the_api(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    h = await directory(client, tokens, admin)
    for _ in range(3):
        r = await h.refer("residential_shelter")
        clock.advance(hours=2)
        await h.accept_all(r)
    await h.decline_all(await h.refer("residential_shelter"), reason="safety")
    clock.set(dt.datetime(2025, 7, 10, 9, 0, tzinfo=dt.timezone.utc))
    for _ in range(11):
        await h.refer("day_centre")

    await secretariat_person(client, clock)
    params = {"from": "2025-06", "to": "2025-07"}
    page = await client.get("/secretariat/activity", params=params)
    assert page.status_code == 200, page.text
    months = table_of(page.text, "table-month")
    # June: 3 placed, 1 unplaced (its one offer declined); July: 11 open. Columns: open, placed, unplaced, cancelled, total, ...
    assert months["Jun 2025"][:5] == ["0", "&lt;10", "&lt;10", "0", "&lt;10"]
    assert months["Jul 2025"][:5] == ["11", "0", "0", "0", "11"]
    assert not any(c in ("1", "3", "4") for c in months["Jun 2025"][:5])
    labels, bars = chart_values(page.text, "chart-month-referrals")
    assert labels == ["<10", "11"] and bars[0].endswith(":suppressed")
    declines = table_of(page.text, "table-declines-month")
    assert declines["Jun 2025"][2] == "&lt;10" and "Safety" in page.text
    reasons, _ = chart_values(page.text, "chart-declines-month")
    assert reasons.count("<10") == 1 and "1" not in reasons
    # Times and rates by each dimension, raw, as the API gives them to the secretariat: placed after 2 hours each,
    # 3 accepted (after 2 hours) and 1 declined at once.
    raw = (await client.get("/api/v1/coverage/activity", params={"from": "2025-06-01", "to": "2025-07-31", "disclosure": "raw"},
                            headers=admin)).json()  # fmt: skip
    rows = {(b["dimension"], r["key"]): r for b in raw["breakdowns"] for r in b["rows"]}
    for key in (("month", "2025-06"), ("county", "RO-IS"), ("institution_type", "police")):
        assert (rows[key]["median_placement_hours"], rows[key]["acceptance_rate"], rows[key]["median_response_minutes"]) == (2.0, 0.75, 120.0)
    assert rows[("month", "2025-07")]["median_placement_hours"] is None and rows[("county", "RO-CJ")]["acceptance_rate"] is None
    declined = {(b["dimension"], k): c for b in raw["breakdowns"] for k, c in zip(b["decline_reasons"]["rows"], b["decline_reasons"]["cells"])}
    assert declined[("institution_type", "police")] == [0, 0, 1, 0, 0] and declined[("month", "2025-07")] == [0, 0, 0, 0, 0]
    # The page's CSV is the API's export of the same period.
    api = await client.get("/api/v1/coverage/activity.csv", params={"from": "2025-06-01", "to": "2025-07-31", "table": "months"},
                           headers=tokens.make("secretariat"))
    mine = await client.get("/secretariat/activity.csv", params={**params, "table": "months"})
    assert mine.status_code == 200 and mine.text == api.text and "2025-06,2025-06,0,<10,<10,0,<10" in mine.text
    assert 'attachment; filename="activity-months.csv"' == mine.headers["content-disposition"]
    printable = await client.get("/secretariat/activity", params={**params, "print": "1"})
    assert printable.status_code == 200 and 'id="filters"' not in printable.text and 'id="table-month"' in printable.text
    assert "<script" not in page.text.split('id="section-month"')[1] and "http://" not in re.sub(r'xmlns="[^"]*"', "", page.text)
    wrong = await client.get("/secretariat/activity", params={"from": "2025-13", "county": "RO-XX", "network": "nope"})
    assert wrong.status_code == 422 and all(f'id="error-{f}"' in wrong.text for f in ("from", "county", "network"))
    one_county = await client.get("/secretariat/activity", params={**params, "county": "RO-CJ"})
    assert table_of(one_county.text, "table-month")["Jul 2025"][:5] == ["0", "0", "0", "0", "0"]


@pytest.mark.parametrize("role", ["institution", "ngo"])
async def test_institution_and_ngo_people_cannot_open_the_pages(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens,
                                                                admin: dict[str, str], role: str) -> None:
    org = tokens.institution("IPJ Cluj") if role == "institution" else (await make_org(client, admin, "Asociația Beta"))["id"]
    add_person(client, clock, email="ion@example.org", role=role, organisation=org)
    assert (await client.get("/secretariat/activity", follow_redirects=False)).headers["location"].startswith("/sign-in")
    assert (await sign_in(client, email="ion@example.org")).status_code == 303
    for path in ("/secretariat/activity", "/secretariat/activity.csv", "/secretariat/report", "/secretariat/report.csv"):
        refused = await client.get(path, params={"year": "2025"})
        assert refused.status_code == 403, path
        assert "table-" not in refused.text and "secretariat" in refused.text


async def test_a_bound_secretariat_sees_only_its_networks_figures(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens,
                                                                  admin: dict[str, str]) -> None:
    alfa = await directory(client, tokens, admin)  # Asociația Alfa: ProTECT
    beta_org = await make_org(client, admin, "Asociația Beta")  # the 15 NGOs' network
    beta_shelter = (await make_service(client, admin, beta_org["id"], shelter(name="Casa Beta", capacity=BEDS, sites=SITES)))["id"]
    beta = History(client, alfa.officer, tokens.make("ngo", organisation=beta_org["id"]), {"residential_shelter": beta_shelter})
    alfa_id = int((await client.get(f"/api/v1/services/{alfa.services['residential_shelter']}", headers=admin)).json()["organisation_id"])
    for code, org in (("protect", alfa_id), ("ngo15", beta_org["id"])):
        assert (await client.put(f"/api/v1/networks/{code}/members/{org}", headers=admin)).status_code == 200
    for _ in range(12):  # twelve people placed by Beta, one by Alfa
        await beta.accept_all(await beta.refer("residential_shelter"))
    await alfa.accept_all(await alfa.refer("residential_shelter"))

    everyone = in_app(client, yearly.yearly_report, 2025, safe=False)
    assert next(r for r in everyone.rows if r.group == "residential").total == 13
    protect = in_app(client, people_networks_report, 2025, "protect")
    assert next(r for r in protect.rows if r.group == "residential").cells == [0, 0, 0, 0, 0, 0, 1]

    in_app(client, people.create_person, email=SECRETARIAT, name="Ana Pop", role="secretariat", organisation=None,
           password=PASSWORD, now=clock.now(), networks=["protect"])  # fmt: skip
    client.cookies.clear()
    assert (await sign_in(client, email=SECRETARIAT)).status_code == 303
    report = await client.get("/secretariat/report", params={"year": "2025"})
    assert report.status_code == 200 and "ProTECT" in report.text
    assert table_of(report.text, "table-yearly")["Residential accommodation"][-2:] == ["&lt;10", "&lt;10"]  # Alfa's 1, not 13
    activity = await client.get("/secretariat/activity", params={"from": "2025-06", "to": "2025-06"})
    assert table_of(activity.text, "table-month")["Jun 2025"][:5] == ["0", "&lt;10", "0", "0", "&lt;10"]  # not 13
    for path in ("/secretariat/report", "/secretariat/activity"):
        other = await client.get(path, params={"network": "ngo15", "year": "2025"})
        assert other.status_code == 422 and 'id="error-network"' in other.text and "table-" not in other.text
    csv_text = (await client.get("/secretariat/activity.csv", params={"from": "2025-06", "to": "2025-06", "table": "months"})).text
    assert "2025-06,2025-06,0,<10,0,0,<10" in csv_text


async def people_networks_report(year: int, code: str) -> Any:
    """The yearly report of one network's members, as the domain computes it (raw figures)."""
    from referralnet.directory.networks import members_of

    return await yearly.yearly_report(year, organisations=await members_of([code]), networks=[code], safe=False)


async def test_filters_swap_the_view_in_place_with_htmx(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens,
                                                        admin: dict[str, str]) -> None:
    h = await directory(client, tokens, admin)
    await h.accept_all(await h.refer("residential_shelter"))
    await secretariat_person(client, clock)
    htmx = {"HX-Request": "true"}
    params = {"from": "2025-06", "to": "2025-07", "network": "", "county": "RO-IS"}

    page = await client.get("/secretariat/activity", params=params)
    assert page.status_code == 200 and page.text.lstrip().lower().startswith("<!doctype html>") and 'id="secretariat-nav"' in page.text
    assert '<script src="/static/htmx/htmx-2.0.4.min.js" defer></script>' in page.text and "script-src 'self'" in page.headers["content-security-policy"]
    view = page.text.split('<div id="activity-view"', 1)[1]
    assert 'hx-target="#activity-view"' in view and 'hx-get="/secretariat/activity" hx-push-url="true"' in view
    assert 'id="county" name="county" hx-get="/secretariat/activity" hx-trigger="change" hx-include="closest form"' in view
    assert "hx-push-url" not in page.headers and "HX-Request" in page.headers["vary"]

    part = await client.get("/secretariat/activity", params=params, headers=htmx)
    assert part.status_code == 200 and part.text.lstrip().startswith('<div id="activity-view"')
    assert all(chrome not in part.text for chrome in ("<html", "<head", 'id="secretariat-nav"', "sign-out", "<script"))
    # The address shown is the page's own, empty filters left out, so a reload or a bookmark gives the same view.
    assert part.headers["hx-push-url"] == "/secretariat/activity?from=2025-06&to=2025-07&county=RO-IS"
    assert table_of(part.text, "table-month") == table_of(page.text, "table-month") and table_of(part.text, "table-month")["Jun 2025"][4] == "&lt;10"
    assert '<option value="RO-IS" selected>' in part.text

    # Going back with htmx asks again for the whole page (its history keeps no copies): it gets the whole page.
    restored = await client.get("/secretariat/activity", params=params, headers={**htmx, "HX-History-Restore-Request": "true"})
    assert 'id="secretariat-nav"' in restored.text and "hx-push-url" not in restored.headers

    wrong = await client.get("/secretariat/activity", params={**params, "from": "2025-13"}, headers=htmx)
    assert wrong.status_code == 422 and wrong.text.lstrip().startswith('<div id="activity-view"') and 'id="error-from"' in wrong.text
    assert "<html" not in wrong.text and wrong.headers["hx-push-url"] == "/secretariat/activity?from=2025-13&to=2025-07&county=RO-IS"

    report = await client.get("/secretariat/report", params={"year": "2025", "network": ""}, headers=htmx)
    assert report.status_code == 200 and report.text.lstrip().startswith('<div id="report-view"') and "<html" not in report.text
    assert "Yearly report 2025</h1>" in report.text and report.headers["hx-push-url"] == "/secretariat/report?year=2025"
    full = await client.get("/secretariat/report", params={"year": "2025"})
    assert 'id="secretariat-nav"' in full.text and table_of(full.text, "table-yearly") == table_of(report.text, "table-yearly")
    assert 'id="network" name="network" hx-get="/secretariat/report" hx-trigger="change"' in full.text
    printable = await client.get("/secretariat/report", params={"year": "2025", "print": "1"})
    assert "<script" not in printable.text and 'id="filters"' not in printable.text
