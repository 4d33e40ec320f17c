"""Coverage review on both engines: a hand-built directory and referral history, exact figures, roles, exports, map."""

from __future__ import annotations

import csv
import datetime as dt
import io
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from referralnet.app import create_app
from referralnet.clock import FixedClock
from referralnet.coverage import cli
from referralnet.settings import Settings
from referralnet.tables import Offer, Referral, ReferralNeed, Service
from referralnet.vocabulary.codes import COUNTY_CODES
from tests.conftest import START, Tokens, in_app
from tests.integration.helpers import make_org, make_service

HOUR = dt.timedelta(hours=1)
SHELTER = "residential_shelter"


@pytest.fixture
async def client(settings: Settings, clock: FixedClock) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as c:
        yield c


def shelter(genders: list[str], **body: Any) -> dict[str, Any]:
    return {"type": SHELTER, "name": f"Shelter {genders[0]}", "eligibility": {"age_min": 18, "genders": genders}, **body}


async def build_directory(client: Any, admin: dict[str, str]) -> dict[str, int]:
    casa = await make_org(client, admin, "Casa Iași")
    doua = await make_org(client, admin, "Asociația Două")
    copii = await make_org(client, admin, "Copii Acasă")
    s1 = await make_service(client, admin, casa["id"], shelter(
        ["male"], sites=[{"county": "RO-IS", "locality": "Iași"}], capacity={"unit": "beds", "total": 10, "available": 2}))
    s2 = await make_service(client, admin, doua["id"], shelter(
        ["female"], service_area={"counties": ["RO-IS", "RO-VS"]}, capacity={"unit": "beds", "total": 8, "available": 0}))
    s3 = await make_service(client, admin, doua["id"], shelter(
        ["female"], sites=[{"county": "RO-B", "locality": "București", "lat": 44.4268, "lon": 26.1025, "confidential": True}],
        capacity={"unit": "beds", "total": 6, "available": 1}))
    await make_service(client, admin, copii["id"], {
        "type": "child_residential", "name": "Casa copiilor", "service_area": {"national": True},
        "eligibility": {"age_max": 17, "exploitation_forms": ["begging", "labour"]}})
    return {"casa": casa["id"], "doua": doua["id"], "s1": s1["id"], "s2": s2["id"], "s3": s3["id"]}


def profile(county: str, band: str, gender: str, needs: tuple[str, ...] = (SHELTER,)) -> str:
    return msgspec.json.encode({
        "age_band": band, "gender": gender, "nationality_group": "romanian", "exploitation_forms": ["sexual"],
        "needs": [{"service_type": n, "priority": "required"} for n in needs], "location": {"county": county},
    }).decode()


async def insert_history(token_id: int, ids: dict[str, int]) -> None:
    """12 placed in Iași (1..12 h), 5 unplaced there, 1 cancelled, 2 placed in Cluj, 1 open in Vaslui, 1 too old."""
    base = START - dt.timedelta(days=20)

    async def referral(county: str, urgency: str, status: str, created: dt.datetime, prof: str,
                       placed: dt.datetime | None = None) -> int:
        rows = await Referral.insert(Referral(
            created_by=token_id, created_by_label="institution:test", profile=prof, summary="-", county=county,
            urgency=urgency, mode="parallel", status=status, consent_at=created, created_at=created, updated_at=created,
            placed_at=placed,
        )).returning(Referral.id)
        # Each need of the profile, in the state the referral's gives it (as the migration to needs does).
        need_state = "placed" if placed else {"unplaced": "unplaced", "closed": "unplaced", "cancelled": "cancelled"}.get(status, "open")
        for i, need in enumerate(msgspec.json.decode(prof)["needs"]):
            await ReferralNeed.insert(ReferralNeed(referral=rows[0]["id"], position=i, service_type=need["service_type"],
                                                   priority="required", status=need_state))  # fmt: skip
        return int(rows[0]["id"])

    async def offer(referral_id: int, org: str, service: str, status: str, sent: dt.datetime,
                    minutes: float | None = None, reason: str | None = None) -> None:
        await Offer.insert(Offer(
            referral=referral_id, service=ids[service], organisation=ids[org], position=0, status=status, sent_at=sent,
            deadline=sent + 24 * HOUR, responded_at=None if minutes is None else sent + dt.timedelta(minutes=minutes),
            decline_reason=reason,
        ))

    for i in range(12):
        created = base + i * 2 * HOUR
        rid = await referral("RO-IS", "urgent", ["placed", "arrived", "closed"][i % 3], created,
                             profile("RO-IS", "25-39", "male"), placed=created + (i + 1) * HOUR)
        await offer(rid, "casa", "s1", "accepted", created, minutes=10 * (i + 1))
    for i, status in enumerate(["unplaced", "unplaced", "closed"]):
        rid = await referral("RO-IS", "urgent", status, base + (30 + i) * HOUR, profile("RO-IS", "25-39", "female"))
        await offer(rid, "casa", "s1", "declined", base + (30 + i) * HOUR, minutes=5 + 10 * i,
                    reason=["no_capacity", "no_capacity", "safety"][i])
    for i in range(2):
        rid = await referral("RO-IS", "urgent", "unplaced", base + (40 + i) * HOUR,
                             profile("RO-IS", "40-64", "other", (SHELTER, "psychological_counselling")))
    await offer(rid, "casa", "s1", "expired", base + 41 * HOUR)
    await referral("RO-IS", "urgent", "cancelled", base + 45 * HOUR, profile("RO-IS", "25-39", "female"))
    for i, minutes in enumerate([30, 90]):
        created = base + (50 + i) * HOUR
        rid = await referral("RO-CJ", "emergency", "placed", created, profile("RO-CJ", "25-39", "female"),
                             placed=created + dt.timedelta(minutes=minutes))
        await offer(rid, "doua", "s3", "accepted", created, minutes=60 * (i + 1))
    rid = await referral("RO-VS", "planned", "open", base + 60 * HOUR, profile("RO-VS", "18-24", "female"))
    await offer(rid, "doua", "s2", "declined", base + 60 * HOUR, minutes=30, reason="not_eligible")
    await offer(rid, "doua", "s2", "withdrawn", base + 61 * HOUR)
    await offer(rid, "doua", "s3", "pending", base + 62 * HOUR)
    await referral("RO-IS", "urgent", "unplaced", START - dt.timedelta(days=400), profile("RO-IS", "25-39", "female"))
    # Capacity freshness: Casa's only figure is 10 days old; one of Două's is 3 days and an hour old.
    await Service.update({Service.capacity_updated_at: START - dt.timedelta(days=10)}).where(Service.id == ids["s1"])
    await Service.update({Service.capacity_updated_at: START - dt.timedelta(days=3, hours=1)}).where(Service.id == ids["s3"])


@pytest.fixture
async def network(client: Any, admin: dict[str, str], tokens: Any) -> dict[str, int]:
    from referralnet.accounts.services import create_token

    ids = await build_directory(client, admin)
    dgaspc = tokens.institution("DGASPC Iași", "child_protection")
    _, actor = in_app(client, create_token, role="institution", name="DGASPC Iași", organisation=dgaspc)
    in_app(client, insert_history, actor.token_id, ids)
    return ids


def cells_by_group(body: dict[str, Any]) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    return {(c["county"], c["service_type"], c["age_group"], c["gender"]): c for c in body["cells"]}


async def test_matrix_cells(client: Any, network: dict[str, int], secretariat: dict[str, str]) -> None:
    resp = await client.get("/api/v1/coverage", params={"service_type": SHELTER}, headers=secretariat)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["disclosure"] == "raw" and body["distance_km"] == 50 and len(body["cells"]) == 42 * 6
    cells = cells_by_group(body)
    men = cells[("RO-IS", SHELTER, "adult", "male")]
    assert {k: men[k] for k in ("providers", "services", "capacity_total", "capacity_free", "capacity_unknown")} == {
        "providers": 1, "services": 1, "capacity_total": 10, "capacity_free": 2, "capacity_unknown": 0}
    assert cells[("RO-IS", SHELTER, "adult", "female")]["capacity_free"] == 0
    assert cells[("RO-IF", SHELTER, "adult", "female")]["capacity_total"] == 6  # Bucharest's shelter, ~20 km away
    assert cells[("RO-CJ", SHELTER, "adult", "male")]["providers"] == 0
    far = cells_by_group((await client.get("/api/v1/coverage", params={
        "service_type": SHELTER, "county": "RO-IS", "distance_km": 400}, headers=secretariat)).json())
    assert far[("RO-IS", SHELTER, "adult", "female")]["providers"] == 1
    assert far[("RO-IS", SHELTER, "adult", "female")]["services"] == 2
    region = (await client.get("/api/v1/coverage", params={
        "service_type": "child_residential", "region": "Nord-Est", "exploitation_form": "begging"}, headers=secretariat)).json()
    assert {c["county"] for c in region["cells"]} == {"RO-BC", "RO-BT", "RO-IS", "RO-NT", "RO-SV", "RO-VS"}
    assert all(c["providers"] == (1 if c["age_group"] == "minor" else 0) for c in region["cells"])
    bad = await client.get("/api/v1/coverage", params={"region": "Atlantis"}, headers=secretariat)
    assert bad.status_code == 400 and bad.json()["extra"][0]["key"] == "region"


async def test_roles(client: Any, network: dict[str, int], secretariat: dict[str, str], institution: dict[str, str],
                     tokens: Tokens) -> None:
    params = {"service_type": SHELTER, "county": "RO-IS"}
    assert (await client.get("/api/v1/coverage", params=params)).status_code == 401
    raw = await client.get("/api/v1/coverage", params={**params, "disclosure": "raw"}, headers=institution)
    assert raw.status_code == 403
    safe = await client.get("/api/v1/coverage", params=params, headers=institution)
    assert safe.status_code == 200 and safe.json()["disclosure"] == "safe"
    assert (await client.get("/api/v1/coverage", params=params, headers=secretariat)).json()["disclosure"] == "raw"
    ngo = tokens.make("ngo", organisation=network["casa"])
    activity = (await client.get("/api/v1/coverage/activity", headers=ngo)).json()
    assert activity["disclosure"] == "safe" and activity["organisations"] is None
    assert activity["referrals_by_county"]["cells"][COUNTY_CODES.index("RO-IS")] == [0, "x", "<10", "<10"]
    assert (await client.get("/api/v1/coverage/activity", params={"disclosure": "raw"}, headers=ngo)).status_code == 403
    denied = await client.get("/api/v1/coverage/activity.csv", params={"table": "organisations"}, headers=institution)
    assert denied.status_code == 403


async def test_gaps_ordered_by_unplaced_referrals(client: Any, network: dict[str, int], secretariat: dict[str, str],
                                                  institution: dict[str, str]) -> None:
    params = {"service_type": SHELTER, "county": "RO-IS"}
    body = (await client.get("/api/v1/coverage/gaps", params=params, headers=secretariat)).json()
    top = [(g["age_group"], g["gender"], g["reason"], g["referrals_unplaced"]) for g in body["items"]]
    assert top == [
        ("adult", "female", "no_free_capacity", 3),  # 2 unplaced + 1 closed unplaced; not the cancelled or the old one
        ("adult", "other", "no_provider", 2),
        ("minor", "female", "no_provider", 0), ("minor", "male", "no_provider", 0), ("minor", "other", "no_provider", 0),
    ]
    assert body["total"] == 5 and body["period_to"].startswith("2026-03-02T09:00")
    safe = (await client.get("/api/v1/coverage/gaps", params=params, headers=institution)).json()
    assert [g["referrals_unplaced"] for g in safe["items"]] == ["<10", "<10", 0, 0, 0]
    older = (await client.get("/api/v1/coverage/gaps", params={**params, "from": "2024-01-01", "to": "2026-03-02"},
                              headers=secretariat)).json()
    assert older["items"][0]["referrals_unplaced"] == 4  # the one from 400 days ago is in this period
    for name, value in (("from", "2026-13-01"), ("to", "2026-02-30")):  # a bad date names the parameter as sent
        bad = await client.get("/api/v1/coverage/gaps", params={**params, name: value}, headers=secretariat)
        assert bad.status_code == 400 and [e["key"] for e in bad.json()["extra"]] == [name], bad.text
    csv_text = (await client.get("/api/v1/coverage/gaps.csv", params=params, headers=secretariat)).text
    rows = list(csv.reader(io.StringIO(csv_text)))
    assert rows[0][:3] == ["county", "county_name", "service_type"] and rows[0][-1] == "referrals_unplaced"
    assert rows[1] == ["RO-IS", "Iași", SHELTER, "adult", "female", "", "no_free_capacity", "1", "1", "8", "<10"]


async def test_activity_figures(client: Any, network: dict[str, int], secretariat: dict[str, str]) -> None:
    a = (await client.get("/api/v1/coverage/activity", headers=secretariat)).json()
    t = a["referrals_by_county"]
    counts = {county: (row, total) for county, row, total in zip(t["rows"], t["cells"], t["row_totals"]) if total}
    assert counts == {"RO-IS": ([0, 12, 5, 1], 18), "RO-CJ": ([0, 2, 0, 0], 2), "RO-VS": ([1, 0, 0, 0], 1)}
    assert t["column_totals"] == [1, 14, 5, 1] and t["total"] == 21
    placement = {p["urgency"]: (p["placed"], p["median_hours"], p["p90_hours"]) for p in a["placement_time"]}
    assert placement == {"emergency": (2, 1.0, 1.4), "urgent": (12, 6.5, 10.9), "planned": (0, None, None), "all": (14, 5.5, 10.7)}
    orgs = {o["organisation_name"]: o for o in a["organisations"]}
    casa, doua = orgs["Casa Iași"], orgs["Asociația Două"]
    assert [casa[k] for k in ("offers_sent", "accepted", "declined", "expired")] == [16, 12, 3, 1]
    assert [casa[k] for k in ("acceptance_rate", "decline_rate", "answer_rate", "median_response_minutes")] == [0.8, 0.2, 0.9375, 50.0]
    assert [doua[k] for k in ("acceptance_rate", "decline_rate", "answer_rate", "median_response_minutes")] == [0.6667, 0.3333, 1.0, 60.0]
    reasons = a["decline_reasons"]
    by_org = dict(zip(reasons["row_labels"], reasons["cells"]))
    assert by_org["Casa Iași"] == [2, 0, 1, 0, 0] and by_org["Asociația Două"] == [0, 1, 0, 0, 0]
    fresh = {f["organisation_name"]: f for f in a["capacity_freshness"]}
    assert (fresh["Casa Iași"]["stale"], fresh["Casa Iași"]["days_since_newest"]) == (1, 10)
    assert [fresh["Asociația Două"][k] for k in ("full", "capacity_total", "capacity_free")] == [1, 14, 1]
    assert (fresh["Asociația Două"]["services"], fresh["Asociația Două"]["stale"]) == (3 - 1, 0)
    assert (fresh["Asociația Două"]["days_since_newest"], fresh["Asociația Două"]["days_since_oldest"]) == (0, 3)
    assert "Copii Acasă" not in fresh  # reports no capacity
    safe = (await client.get("/api/v1/coverage/activity", params={"disclosure": "safe"}, headers=secretariat)).json()
    assert safe["referrals_by_county"]["column_totals"] == ["<10", 14, "<10", "<10"]
    cj = safe["referrals_by_county"]["rows"].index("RO-CJ")
    assert safe["referrals_by_county"]["cells"][cj] == [0, "<10", 0, 0]
    export = await client.get("/api/v1/coverage/activity.csv", params={"table": "organisations"}, headers=secretariat)
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    lines = export.text.splitlines()
    assert lines[0].startswith("organisation_id,organisation_name,offers_sent")
    assert any(line.split(",")[1] == "Casa Iași" and ",<10," in line for line in lines[1:])
    cj_only = (await client.get("/api/v1/coverage/activity", params={"county": "RO-CJ"}, headers=secretariat)).json()
    assert cj_only["referrals_by_county"]["rows"] == ["RO-CJ"] and cj_only["referrals_by_county"]["total"] == 2
    assert {p["urgency"]: p["placed"] for p in cj_only["placement_time"]}["all"] == 2


async def test_exports_and_map(client: Any, network: dict[str, int], secretariat: dict[str, str]) -> None:
    resp = await client.get("/api/v1/coverage.csv", params={"service_type": SHELTER, "county": "RO-IS"}, headers=secretariat)
    assert resp.status_code == 200
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert len(rows) == 6
    men = next(r for r in rows if (r["age_group"], r["gender"]) == ("adult", "male"))
    assert (men["county_name"], men["providers"], men["capacity_total"], men["capacity_free"]) == ("Iași", "1", "10", "2")
    as_json = (await client.get("/api/v1/coverage.json", params={"service_type": SHELTER}, headers=secretariat)).json()
    assert as_json["disclosure"] == "safe"
    svg = await client.get("/api/v1/coverage/map.svg", params={"service_type": SHELTER, "gender": "male"}, headers=secretariat)
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(svg.content)
    paths = root.findall(".//{http://www.w3.org/2000/svg}path")
    assert [p.get("id") for p in paths] == list(COUNTY_CODES)
    by_id = {p.get("id"): p for p in paths}
    assert by_id["RO-IS"].findtext("{http://www.w3.org/2000/svg}title") == "Iași (RO-IS) — providers: 1"
    free = await client.get("/api/v1/coverage/map.svg", params={"service_type": SHELTER, "mode": "free_capacity"}, headers=secretariat)
    assert ET.fromstring(free.content).find(".//{http://www.w3.org/2000/svg}path[@id='RO-IS']").findtext(  # type: ignore[union-attr]
        "{http://www.w3.org/2000/svg}title") == "Iași (RO-IS) — free capacity: 2"
    missing = await client.get("/api/v1/coverage/map.svg", headers=secretariat)
    assert missing.status_code == 400


async def test_cli_prints_the_export(client: Any, network: dict[str, int], secretariat: dict[str, str], clock: FixedClock) -> None:
    import argparse

    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["coverage", "--what", "activity", "--format", "csv", "--table", "counties"])
    stream = io.StringIO()
    report = in_app(client, cli.compute, args, clock.now(), cli.ProgressBar(stream))
    api = (await client.get("/api/v1/coverage/activity.csv", params={"table": "counties"}, headers=secretariat)).text
    assert cli.render(report, "activity", "csv", "counties") == api
    assert "100%" in stream.getvalue() and stream.getvalue().startswith("\r[")
    gaps_args = parser.parse_args(["coverage", "--what", "gaps", "--format", "table", "--county", "RO-IS",
                                   "--service-type", SHELTER])
    text = cli.render(in_app(client, cli.compute, gaps_args, clock.now(), cli.ProgressBar(enabled=False)), "gaps", "table")
    assert text.splitlines()[2].split()[:3] == ["RO-IS", "Iași", SHELTER]


async def test_activity_by_institution_type(client: Any, network: dict[str, int], secretariat: dict[str, str], tokens: Any) -> None:
    border = tokens.institution("IGPF Sector Oradea", "border_police")
    in_app(client, Referral.update({Referral.institution: border}).where(Referral.county == "RO-CJ").run)
    a = (await client.get("/api/v1/coverage/activity", params={"disclosure": "raw"}, headers=secretariat)).json()
    t = a["referrals_by_institution_type"]
    rows = dict(zip(t["rows"], t["cells"]))
    assert rows["border_police"] == [2] and rows["staff"] == [19] and rows["police"] == [0]
    assert t["columns"] == ["referrals"] and t["total"] == a["referrals_by_county"]["total"] == 21
    assert t["row_labels"][t["rows"].index("border_police")] == "Border police"
    safe = (await client.get("/api/v1/coverage/activity", params={"disclosure": "safe"}, headers=secretariat)).json()
    shown = dict(zip(safe["referrals_by_institution_type"]["rows"], safe["referrals_by_institution_type"]["cells"]))
    assert shown["border_police"] == ["<10"] and shown["staff"] != [19]  # 19 - <10 would reveal it: hidden too
    csv = await client.get("/api/v1/coverage/activity.csv", params={"table": "institution_types"}, headers=secretariat)
    assert csv.status_code == 200 and "border_police,Border police,<10,<10" in csv.text
