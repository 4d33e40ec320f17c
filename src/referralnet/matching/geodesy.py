"""WGS-84 geodesic distances for the candidates a match shows, many at once.

geopy's ``geodesic`` (Karney's algorithm, via geographiclib) costs 40-150 µs a call, which for 20
candidates was the largest part of a match. :func:`geodesic_km_many` solves Vincenty's inverse
problem for all of them in a few numpy operations; on the ellipsoid it agrees with Karney's to
well under a millimetre except near antipodal points, where Vincenty may not converge and those
points fall back to geographiclib. Pure: no I/O.
"""

from __future__ import annotations

import numpy as np
from geographiclib.geodesic import Geodesic

A = 6378137.0  # WGS-84 semi-major axis, metres
F = 1 / 298.257223563
B = A * (1 - F)
_TOLERANCE = 1e-12  # radians of lambda: sub-millimetre
_MAX_ITERATIONS = 50
EARTH_RADIUS_KM = 6371.0088  # mean radius, for haversine (within 0.5 % of the geodesic)
CONFIDENTIAL_STEP_KM = 5.0  # distances to a confidential site are shown in steps this large


def shown_km(km: float, confidential: bool) -> float:
    """The distance a match shows: to a confidential site (placed at its locality) rounded to 5 km."""
    return float(round(km / CONFIDENTIAL_STEP_KM) * CONFIDENTIAL_STEP_KM) if confidential else km


def geodesic_km(origin: tuple[float, float], to: tuple[float, float]) -> float:
    """One distance: geopy's ``geodesic``, minus its wrapper."""
    return float(Geodesic.WGS84.Inverse(origin[0], origin[1], to[0], to[1], Geodesic.DISTANCE)["s12"]) / 1000


def geodesic_km_many(origin: tuple[float, float], lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Geodesic km from ``origin`` to each (``lat``, ``lon``), in degrees."""
    lat, lon = np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)
    u1 = np.arctan((1 - F) * np.tan(np.radians(origin[0])))
    u2 = np.arctan((1 - F) * np.tan(np.radians(lat)))
    sin_u1, cos_u1, sin_u2, cos_u2 = np.sin(u1), np.cos(u1), np.sin(u2), np.cos(u2)
    big_l = np.radians(lon - origin[1])
    lam = big_l.copy()
    converged = np.zeros(lat.shape, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(_MAX_ITERATIONS):
            sin_lam, cos_lam = np.sin(lam), np.cos(lam)
            sin_sigma = np.hypot(cos_u2 * sin_lam, cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_lam)
            cos_sigma = sin_u1 * sin_u2 + cos_u1 * cos_u2 * cos_lam
            sigma = np.arctan2(sin_sigma, cos_sigma)
            sin_alpha = np.where(sin_sigma > 0, cos_u1 * cos_u2 * sin_lam / sin_sigma, 0.0)
            cos2_alpha = 1 - sin_alpha**2
            # On the equator cos2_alpha is 0 and the term below is taken as 0.
            cos_2sm = np.where(cos2_alpha > 0, cos_sigma - 2 * sin_u1 * sin_u2 / cos2_alpha, 0.0)
            c = F / 16 * cos2_alpha * (4 + F * (4 - 3 * cos2_alpha))
            previous = lam
            lam = big_l + (1 - c) * F * sin_alpha * (sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2)))
            converged = np.abs(lam - previous) < _TOLERANCE
            if converged.all():
                break
        u_sq = cos2_alpha * (A**2 - B**2) / B**2
        big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
        big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
        delta = big_b * sin_sigma * (
            cos_2sm + big_b / 4 * (cos_sigma * (-1 + 2 * cos_2sm**2) - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2))
        )
        km = B * big_a * (sigma - delta) / 1000
    for i in np.flatnonzero(~converged | ~np.isfinite(km)):
        km[i] = geodesic_km(origin, (float(lat[i]), float(lon[i])))
    return km


_KNOWN: dict[tuple[float, float, float, float], float] = {}
_KNOWN_MAX = 50_000  # about 10 MB at most; emptied when full


def geodesic_km_remembered(origin: tuple[float, float], lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """:func:`geodesic_km_many`, each (origin, point) computed once: origins are locality and county
    centres and sites do not move, so a match mostly shows distances an earlier one worked out."""
    keys = [(origin[0], origin[1], a, b) for a, b in zip(lat.tolist(), lon.tolist())]
    known = [_KNOWN.get(k) for k in keys]
    missing = [i for i, km in enumerate(known) if km is None]
    if missing:
        if len(_KNOWN) + len(missing) > _KNOWN_MAX:
            _KNOWN.clear()
        for i, km in zip(missing, geodesic_km_many(origin, lat[missing], lon[missing]).tolist()):
            known[i] = _KNOWN[keys[i]] = km
    return np.array(known, dtype=np.float64)

