"""POST /api/v1/matches through the app: contract, roles, validation, privacy, caching."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.conftest import Tokens
from tests.integration.helpers import make_org, make_service

PROFILE: dict[str, Any] = {
    "age_band": "25-39",
    "gender": "male",
    "nationality_group": "romanian",
    "exploitation_forms": ["labour"],
    "needs": [
        {"service_type": "emergency_accommodation", "priority": "required"},
        {"service_type": "legal_counselling", "priority": "desired"},
    ],
    "location": {"county": "RO-IS", "locality": "Pașcani"},
    "max_distance_km": 150,
    "avoid_counties": ["RO-VS"],
    "children": [],
    "languages": ["ro"],
    "accessibility": [],
    "urgency": "urgent",
    "note": "",
}


def accommodation(name: str, county: str, locality: str, **eligibility: Any) -> dict[str, Any]:
    return {
        "type": "emergency_accommodation",
        "name": name,
        "eligibility": {"age_min": 18, **eligibility},
        "sites": [{"county": county, "locality": locality, "address": "secret", "confidential": True}],
        "capacity": {"unit": "beds", "total": 10, "available": 2},
    }


@pytest.fixture
async def directory(client: Any, admin: dict[str, str]) -> dict[str, int]:
    men = await make_org(client, admin, "Asociația Bărbați Iași")
    women = await make_org(client, admin, "Asociația Femei Iași")
    far = await make_org(client, admin, "Fundația Departe")
    vaslui = await make_org(client, admin, "Asociația Vaslui")
    ids = {
        "men_shelter": (await make_service(client, admin, men["id"], accommodation("Men Iași", "RO-IS", "Iași", genders=["male"])))["id"],
        "women_shelter": (await make_service(client, admin, women["id"], accommodation("Women Iași", "RO-IS", "Iași", genders=["female"])))["id"],
        "far_shelter": (await make_service(client, admin, far["id"], accommodation("Far", "RO-TM", "Timișoara", genders=["male"])))["id"],
        "vaslui_shelter": (await make_service(client, admin, vaslui["id"], accommodation("Vaslui", "RO-VS", "Vaslui")))["id"],
        "legal": (
            await make_service(
                client, admin, men["id"], {"type": "legal_counselling", "name": "Legal", "service_area": {"national": True}}
            )
        )["id"],
        "men_org": men["id"],
    }
    return ids


async def test_match_contract(client: Any, directory: dict[str, int], institution: dict[str, str]) -> None:
    resp = await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) >= {"candidates", "bundles", "excluded"}
    ids = [c["service_id"] for c in body["candidates"]]
    assert directory["men_shelter"] in ids and directory["legal"] in ids
    for unwanted in ("women_shelter", "far_shelter", "vaslui_shelter"):
        assert directory[unwanted] not in ids
    first = body["candidates"][0]
    for key in ("service_id", "organisation_id", "organisation_name", "service_type", "score", "distance_km", "available", "reasons"):
        assert key in first
    shelter = next(c for c in body["candidates"] if c["service_id"] == directory["men_shelter"])
    assert 60 < shelter["distance_km"] < 90  # Pașcani to Iași
    assert shelter["available"] == 2
    assert "secret" not in resp.text and "lat" not in shelter
    assert body["bundles"][0]["organisations"][0]["organisation_id"] == directory["men_org"]


async def test_match_sees_capacity_changes_at_once(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str]
) -> None:
    first = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    assert directory["men_shelter"] in [c["service_id"] for c in first["candidates"]]
    resp = await client.put(f"/api/v1/services/{directory['men_shelter']}/capacity", json={"available": 0}, headers=admin)
    assert resp.status_code == 200
    second = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    assert directory["men_shelter"] not in [c["service_id"] for c in second["candidates"]]
    # A directory edit (a new service) is seen by the next match too.
    org = await make_org(client, admin, "Asociația Nouă")
    new = await make_service(client, admin, org["id"], accommodation("New", "RO-IS", "Pașcani", genders=["male"]))
    third = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    assert third["candidates"][0]["service_id"] == new["id"]


async def test_nothing_fits_is_explained(client: Any, directory: dict[str, int], institution: dict[str, str]) -> None:
    profile = {**PROFILE, "needs": [{"service_type": "emergency_accommodation", "priority": "required"}], "max_distance_km": 50}
    profile["location"] = {"county": "RO-IS", "locality": "Pașcani"}
    body = (await client.post("/api/v1/matches", json={"profile": profile}, headers=institution)).json()
    assert body["candidates"] == []
    assert body["bundles"] == []
    assert sum(body["excluded"]["by_constraint"].values()) == 4
    assert any("km" in m for m in body["excluded"]["messages"])


async def test_only_referrers_match(client: Any, directory: dict[str, int], tokens: Tokens) -> None:
    ngo = tokens.make("ngo", organisation=directory["men_org"])
    assert (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=ngo)).status_code == 403
    assert (await client.post("/api/v1/matches", json={"profile": PROFILE})).status_code == 401
    secretariat = tokens.make("secretariat")
    assert (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=secretariat)).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"needs": [{"service_type": "spa"}]}, "profile.needs[0].service_type"),
        ({"location": {"county": "RO-QQ"}}, "profile.location.county"),
        ({"location": {"county": "RO-IS", "locality": "Narnia"}}, "profile.location.locality"),
        ({"languages": ["xx"]}, "profile.languages[0]"),
        ({"age_band": "30-40"}, "profile.age_band"),
        ({"note": "x" * 501}, "profile.note"),
        ({"note": "Call her on 0722 123 456 after 6pm"}, "profile.note"),
        ({"note": "CNP 1800101221144"}, "profile.note"),
        ({"name": "Ion Popescu"}, "profile.name"),
        ({"needs": []}, "profile.needs"),
    ],
)
async def test_bad_profiles_are_refused_naming_the_field(
    client: Any, institution: dict[str, str], change: dict[str, Any], field: str
) -> None:
    profile = copy.deepcopy(PROFILE)
    profile.update(change)
    resp = await client.post("/api/v1/matches", json={"profile": profile}, headers=institution)
    assert resp.status_code == 422, resp.text
    assert resp.json()["extra"][0]["key"] == field
    assert "0722" not in resp.text and "1800101221144" not in resp.text
