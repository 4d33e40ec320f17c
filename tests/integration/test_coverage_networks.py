"""Coverage by network on both engines: ``network=CODE`` and a bound secretariat's default limit the matrix,
the gaps (with their unmet demand), the activity and the map to a network's members; another network's
member never appears in a bound secretariat's figures."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from referralnet.accounts.services import create_token
from tests.conftest import bearer, in_app
from tests.integration.test_coverage import SHELTER, build_directory, cells_by_group, insert_history

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
async def networks(client: Any, admin: dict[str, str], tokens: Any) -> dict[str, Any]:
    """The coverage test's directory and history, Casa Iași a member of ProTECT and Asociația Două of the 15 NGOs."""
    ids = await build_directory(client, admin)
    for code, org in (("protect", "casa"), ("ngo15", "doua")):
        assert (await client.put(f"/api/v1/networks/{code}/members/{ids[org]}", headers=admin)).status_code == 200
    dgaspc = tokens.institution("DGASPC Iași", "child_protection")
    _, actor = in_app(client, create_token, role="institution", name="DGASPC Iași", organisation=dgaspc)
    in_app(client, insert_history, actor.token_id, ids)
    token, _ = in_app(client, create_token, role="secretariat", name="ProTECT secretariat", networks=["protect"])
    return {**ids, "protect": bearer(token)}


async def test_a_bound_secretariat_sees_its_members_only(client: Any, networks: dict[str, Any], secretariat: dict[str, str]) -> None:
    protect = networks["protect"]
    everyone = cells_by_group((await client.get("/api/v1/coverage", params={"service_type": SHELTER}, headers=secretariat)).json())
    mine = cells_by_group((await client.get("/api/v1/coverage", params={"service_type": SHELTER}, headers=protect)).json())
    assert everyone[("RO-VS", SHELTER, "adult", "female")]["providers"] == 1  # Două's area
    assert mine[("RO-VS", SHELTER, "adult", "female")]["providers"] == 0
    assert mine[("RO-IS", SHELTER, "adult", "male")]["providers"] == 1  # Casa's own shelter
    assert all(c["capacity_total"] in (0, 10) for c in mine.values())  # Două's 8 and 6 beds never counted
    asked = cells_by_group((await client.get("/api/v1/coverage", params={"service_type": SHELTER, "network": "protect"},
                                             headers=secretariat)).json())  # fmt: skip
    assert asked == mine
    other = await client.get("/api/v1/coverage", params={"network": "ngo15"}, headers=protect)
    assert other.status_code == 403 and "network" in other.text
    unknown = await client.get("/api/v1/coverage", params={"network": "protekt"}, headers=secretariat)
    assert unknown.status_code == 400 and unknown.json()["extra"][0]["key"] == "network" and "protect" in unknown.text


async def test_activity_counts_referrals_offered_to_members_and_their_answers(client: Any, networks: dict[str, Any]) -> None:
    resp = await client.get("/api/v1/coverage/activity", headers=networks["protect"])
    assert resp.status_code == 200 and "Două" not in resp.text
    a = resp.json()
    t = a["referrals_by_county"]
    counts = {county: (row, total) for county, row, total in zip(t["rows"], t["cells"], t["row_totals"]) if total}
    assert counts == {"RO-IS": ([0, 12, 4, 0], 16)}  # Cluj's and Vaslui's went to Două; the cancelled one to no one
    assert [o["organisation_id"] for o in a["organisations"]] == [networks["casa"]]
    assert [f["organisation_id"] for f in a["capacity_freshness"]] == [networks["casa"]]
    assert a["decline_reasons"]["row_labels"] == ["Casa Iași"]
    export = await client.get("/api/v1/coverage/activity.csv", params={"table": "organisations"}, headers=networks["protect"])
    assert export.status_code == 200 and "Două" not in export.text and "Casa Iași" in export.text


async def test_gaps_and_unmet_demand_of_a_network(client: Any, networks: dict[str, Any], secretariat: dict[str, str]) -> None:
    params = {"service_type": SHELTER, "county": "RO-IS"}
    mine = (await client.get("/api/v1/coverage/gaps", params=params, headers=networks["protect"])).json()
    top = [(g["age_group"], g["gender"], g["reason"], g["referrals_unplaced"]) for g in mine["items"]][:2]
    # Without Două's shelter Iași has no provider for adult women; their 3 unplaced referrals were offered to Casa.
    assert top == [("adult", "female", "no_provider", 3), ("adult", "other", "no_provider", 2)]
    theirs = (await client.get("/api/v1/coverage/gaps", params={**params, "network": "ngo15"}, headers=secretariat)).json()
    by_group = {(g["age_group"], g["gender"]): (g["reason"], g["referrals_unplaced"]) for g in theirs["items"]}
    # Offered to Casa only: not the 15 NGOs' demand; the referral offered to nobody is every network's.
    assert by_group[("adult", "female")] == ("no_free_capacity", 0)
    assert by_group[("adult", "other")] == ("no_provider", 1)
    rows = list(csv.reader(io.StringIO((await client.get("/api/v1/coverage/gaps.csv", params=params, headers=networks["protect"])).text)))
    assert rows[1] == ["RO-IS", "Iași", SHELTER, "adult", "female", "", "no_provider", "0", "0", "0", "<10"]


async def test_the_map_of_a_network(client: Any, networks: dict[str, Any], secretariat: dict[str, str]) -> None:
    def providers(svg: bytes, county: str) -> str:
        path = ET.fromstring(svg).find(f".//{SVG}path[@id='{county}']")
        assert path is not None
        return path.findtext(f"{SVG}title") or ""

    params = {"service_type": SHELTER, "gender": "female"}
    everyone = await client.get("/api/v1/coverage/map.svg", params=params, headers=secretariat)
    mine = await client.get("/api/v1/coverage/map.svg", params=params, headers=networks["protect"])
    assert providers(everyone.content, "RO-VS").endswith("providers: 1")
    assert providers(mine.content, "RO-VS").endswith("providers: 0")
    assert (await client.get("/api/v1/coverage/map.svg", params={**params, "network": "ngo15"}, headers=networks["protect"])).status_code == 403


async def test_the_command_line_takes_a_network(client: Any, networks: dict[str, Any], clock: Any) -> None:
    import argparse

    from referralnet.coverage import cli

    parser = argparse.ArgumentParser()
    cli.add_parser(parser.add_subparsers())
    args = parser.parse_args(["coverage", "--what", "activity", "--format", "csv", "--table", "organisations", "--network", "protect"])
    text = cli.render(in_app(client, cli.compute, args, clock.now(), cli.ProgressBar(enabled=False)), "activity", "csv", "organisations")
    assert "Casa Iași" in text and "Două" not in text
    unknown = parser.parse_args(["coverage", "--what", "matrix", "--network", "protekt"])
    with pytest.raises(Exception, match="did you mean protect"):
        in_app(client, cli.compute, unknown, clock.now(), cli.ProgressBar(enabled=False))
