"""Builders of directory objects through the API."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

# An adult woman in Iași needing a shelter: eligible for helpers' shelter() services.
PROFILE: dict[str, Any] = {
    "age_band": "25-39",
    "gender": "female",
    "nationality_group": "romanian",
    "exploitation_forms": ["sexual"],
    "needs": [{"service_type": "residential_shelter", "priority": "required"}],
    "location": {"county": "RO-IS", "locality": "Iași"},
    "max_distance_km": 300,
    "urgency": "urgent",
}


def shelter(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "residential_shelter",
        "name": "Casa exemplu",
        "description": "Shelter for adult women",
        "eligibility": {
            "age_min": 18,
            "age_max": None,
            "genders": ["female"],
            "nationality_groups": ["romanian", "eu_eea", "third_country"],
            "exploitation_forms": ["sexual", "labour"],
            "accepts_children": True,
            "languages": ["ro", "en"],
            "accessibility": ["wheelchair"],
        },
        "service_area": {"counties": ["RO-B", "RO-IF"], "national": False},
        "sites": [{"county": "RO-B", "locality": "București", "address": "Strada Secretă 1", "confidential": True}],
        "capacity": {"unit": "beds", "total": 12, "available": 3},
    }
    body.update(overrides)
    return body


async def make_org(client: AsyncTestClient[Any], headers: dict[str, str], name: str, **extra: Any) -> dict[str, Any]:
    resp = await client.post("/api/v1/organisations", json={"name": name, **extra}, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def make_service(
    client: AsyncTestClient[Any], headers: dict[str, str], org_id: int, body: dict[str, Any] | None = None
) -> dict[str, Any]:
    resp = await client.post(f"/api/v1/organisations/{org_id}/services", json=body or shelter(), headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]
