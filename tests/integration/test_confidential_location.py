"""A confidential site cannot be located from match distances: they start at its locality, in 5 km steps."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from referralnet.matching.geodesy import geodesic_km, geodesic_km_many
from referralnet.vocabulary import geo
from tests.integration.helpers import make_org, make_service
from tests.integration.test_matching_api import PROFILE

# The real house, about 9 km north-east of Vaslui's point; the API must never let it be found.
HOUSE = (46.6900, 27.8050)
ORIGINS = [("RO-VS", "Bârlad"), ("RO-IS", "Iași"), ("RO-BC", "Bacău")]


def trilaterate(points: list[tuple[float, float]], km: list[float]) -> tuple[float, float]:
    """The position (lat, lon) whose geodesic distances to ``points`` best fit ``km`` (least squares on a 200 m grid)."""
    lat, lon = (a.ravel() for a in np.meshgrid(np.arange(46.2, 47.1, 0.002), np.arange(27.2, 28.4, 0.002)))
    error = sum((geodesic_km_many(p, lat, lon) - d) ** 2 for p, d in zip(points, km))
    best = int(np.argmin(error))
    return float(lat[best]), float(lon[best])


def test_trilateration_finds_a_site_from_exact_distances() -> None:
    """The attack works on exact figures, so the test below is not passing for want of a working solver."""
    points = [geo.point_of(c, p) for c, p in ORIGINS]
    solved = trilaterate(points, [geodesic_km(p, HOUSE) for p in points])
    assert geodesic_km(solved, HOUSE) < 0.5


async def test_three_locality_trilateration_finds_only_the_locality(
    client: Any, admin: dict[str, str], institution: dict[str, str]
) -> None:
    org = await make_org(client, admin, "Asociația Casa Ascunsă")
    service = await make_service(client, admin, org["id"], {
        "type": "emergency_accommodation", "name": "Casa", "service_area": {"national": True},
        "sites": [{"county": "RO-VS", "locality": "Vaslui", "address": "Strada Ascunsă 3",
                   "lat": HOUSE[0], "lon": HOUSE[1], "confidential": True}],
        "capacity": {"unit": "beds", "total": 10, "available": 2},
    })  # fmt: skip
    locality = geo.point_of("RO-VS", "Vaslui")
    assert geodesic_km(locality, HOUSE) > 8

    reported: list[float] = []
    for county, place in ORIGINS:
        profile = copy.deepcopy(PROFILE)
        profile.update(location={"county": county, "locality": place}, max_distance_km=None, avoid_counties=[])
        resp = await client.post("/api/v1/matches", json={"profile": profile}, headers=institution)
        assert resp.status_code == 200, resp.text
        found = next(c for c in resp.json()["candidates"] if c["service_id"] == service["id"])
        km = found["distance_km"]
        assert km % 5 == 0  # shown in 5 km steps
        assert abs(km - geodesic_km(geo.point_of(county, place), locality)) <= 2.5  # measured from the locality
        assert f"{km:.1f} km" in next(r["text"] for r in found["reasons"] if r["code"] == "distance")
        reported.append(km)

    solved = trilaterate([geo.point_of(c, p) for c, p in ORIGINS], reported)
    assert geodesic_km(solved, locality) < 5  # the answer is the locality everyone is shown ...
    assert geodesic_km(solved, HOUSE) > 5  # ... never the house
