"""The vectorised geodesic agrees with geopy's (Karney's algorithm) to well under a millimetre."""

from __future__ import annotations

import numpy as np
from geopy.distance import geodesic

from referralnet.matching.geodesy import geodesic_km_many

PASCANI = (47.25, 26.72)


def test_agrees_with_geopy_across_romania() -> None:
    rng = np.random.default_rng(7)
    lat, lon = rng.uniform(43.5, 48.3, 2000), rng.uniform(20.2, 29.7, 2000)
    expected = np.array([geodesic(PASCANI, (a, b)).km for a, b in zip(lat, lon)])
    assert np.abs(geodesic_km_many(PASCANI, lat, lon) - expected).max() < 1e-6  # km


def test_same_point_poles_equator_and_antipodes() -> None:
    points = [PASCANI, (0.0, 0.0), (0.0, 90.0), (89.999, 10.0), (-47.25, -153.28), (-47.0, -153.0)]
    for origin in (PASCANI, (0.0, 0.0)):
        lat, lon = np.array([p[0] for p in points]), np.array([p[1] for p in points])
        expected = np.array([geodesic(origin, p).km for p in points])
        got = geodesic_km_many(origin, lat, lon)
        assert np.all(np.isfinite(got)) and np.abs(got - expected).max() < 1e-6


def test_empty() -> None:
    assert geodesic_km_many(PASCANI, np.array([]), np.array([])).size == 0
