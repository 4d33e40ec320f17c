"""The hard filters of matching, vectorised over the directory rows of one service type.

:func:`filter_type` applies every static filter (all but capacity, which is live) to the rows of
one needed service type and returns the survivors with their nearest eligible site. Constraints
are checked in the fixed order of ``explain.CONSTRAINTS``; an excluded service is counted once,
under the first constraint it fails, so the counts add up. Distances are vectorised haversine
(the geodesic is computed later, only for the candidates shown). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from referralnet.matching.directory import (
    ACCESSIBILITY_BITS,
    CONDITION_BITS,
    COUNTY_BITS,
    FORM_BITS,
    GENDER_BITS,
    LANGUAGE_BITS,
    NATIONALITY_BITS,
    VICTIM_BITS,
    Directory,
    bits,
)
from referralnet.matching.geodesy import EARTH_RADIUS_KM
from referralnet.matching.profile import Profile
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES

__all__ = ["EARTH_RADIUS_KM", "Query", "Survivors", "filter_type", "haversine_km"]

# How a survivor's languages fit the person's (scored by ``scoring.LANGUAGE_FIT``).
LANGUAGE_NEUTRAL, LANGUAGE_SHARED, LANGUAGE_INTERPRETATION, LANGUAGE_NOT_STATED = range(4)


@dataclass(frozen=True, slots=True)
class Query:
    """A profile as the bounds and bitmasks the filters compare against."""

    age: tuple[int, int]
    gender: int
    nationality: int
    victim: int | None  # None: status unknown, not filtered
    forms: int
    languages: int
    accessibility: int
    conditions: int
    avoid: int
    county: int
    origin: tuple[float, float]
    max_km: float | None
    high_security: bool
    children: bool

    @classmethod
    def of(cls, p: Profile, origin: tuple[float, float]) -> Query:
        return cls(
            age=p.age_range(),
            gender=bits([p.gender], GENDER_BITS),
            nationality=bits([p.nationality_group], NATIONALITY_BITS),
            victim=None if p.victim_status is None else bits([p.victim_status], VICTIM_BITS),
            forms=bits(p.exploitation_forms, FORM_BITS),
            languages=bits(p.languages, LANGUAGE_BITS),
            accessibility=bits(p.accessibility, ACCESSIBILITY_BITS),
            conditions=bits(p.conditions, CONDITION_BITS),
            avoid=bits(p.avoid_counties, COUNTY_BITS),
            county=bits([p.location.county], COUNTY_BITS),
            origin=(float(origin[0]), float(origin[1])),
            max_km=p.max_distance_km,
            high_security=p.security_risk == "high",
            children=bool(p.children),
        )


Check = Callable[[Directory, slice, Query, bool], "np.ndarray | None"]


def _listed(d: Directory, name: str, s: slice, wanted: int) -> np.ndarray:
    """Passes where the service does not state the list, or states one of ``wanted``."""
    return ~getattr(d, f"{name}_stated")[s] | ((getattr(d, name)[s] & wanted) != 0)


def _age(d: Directory, s: slice, q: Query, bound: bool) -> np.ndarray:
    return (d.age_min[s] <= q.age[0]) & (d.age_max[s] >= q.age[1])


def _victim(d: Directory, s: slice, q: Query, bound: bool) -> np.ndarray | None:
    return None if q.victim is None else _listed(d, "victim_statuses", s, q.victim)


def _forms(d: Directory, s: slice, q: Query, bound: bool) -> np.ndarray | None:
    return _listed(d, "exploitation_forms", s, q.forms) if q.forms else None


def _children(d: Directory, s: slice, q: Query, bound: bool) -> np.ndarray | None:
    return d.accepts_children[s] != 0 if q.children and bound else None


def _language(d: Directory, s: slice, q: Query, bound: bool) -> np.ndarray | None:
    return _listed(d, "languages", s, q.languages) | d.interpretation[s] if q.languages else None


def _accessibility(d: Directory, s: slice, q: Query, bound: bool) -> np.ndarray | None:
    if not q.accessibility:
        return None
    return ~d.accessibility_stated[s] | ((d.accessibility[s] & q.accessibility) == q.accessibility)


def _conditions(d: Directory, s: slice, q: Query, bound: bool) -> np.ndarray:
    return ((d.excludes[s] & q.conditions) == 0) & ((d.requires[s] & ~q.conditions) == 0)


def _avoided(d: Directory, s: slice, q: Query, bound: bool) -> np.ndarray | None:
    return (d.site_counties[s] & q.avoid) == 0 if q.avoid else None


# The static checks in CONSTRAINTS order; security and distance need the sites and come after.
STATIC_CHECKS: tuple[tuple[str, Check], ...] = (
    ("inactive", lambda d, s, q, bound: d.active[s]),
    ("age", _age),
    ("gender", lambda d, s, q, bound: _listed(d, "genders", s, q.gender)),
    ("nationality", lambda d, s, q, bound: _listed(d, "nationality_groups", s, q.nationality)),
    ("victim_status", _victim),
    ("exploitation_form", _forms),
    ("children", _children),
    ("language", _language),
    ("accessibility", _accessibility),
    ("conditions", _conditions),
    ("avoided_county", _avoided),
)


def haversine_km(origin: tuple[float, float], phi: np.ndarray, lam: np.ndarray, cos_phi: np.ndarray) -> np.ndarray:
    phi0, lam0 = np.radians(origin[0]), np.radians(origin[1])
    a = np.sin((phi - phi0) / 2) ** 2 + np.cos(phi0) * cos_phi * np.sin((lam - lam0) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _row_min(km: np.ndarray, owner: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the smallest ``km`` of its sites and that site's index (inf and -1 when none)."""
    n = starts.size - 1
    best = np.full(n, np.inf)
    site = np.full(n, -1, dtype=np.int64)
    if km.size == 0:
        return best, site
    nonempty = np.diff(starts) > 0
    best[nonempty] = np.minimum.reduceat(km, starts[:-1][nonempty])
    hit = np.flatnonzero(np.isfinite(km) & (km == best[owner]))
    if hit.size:
        first = np.ones(hit.size, dtype=bool)
        first[1:] = owner[hit[1:]] != owner[hit[:-1]]
        site[owner[hit[first]]] = hit[first]
    return best, site


def _nearest(d: Directory, lo: int, hi: int, q: Query) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``[lo, hi)``, the haversine km to its nearest eligible site and that site."""
    a, b = d.sites_of(lo, hi)
    km = haversine_km(q.origin, d.site_phi[a:b], d.site_lam[a:b], d.site_cos_phi[a:b])
    km[np.isnan(km)] = np.inf
    if q.high_security:
        km[~d.site_confidential[a:b]] = np.inf
    best, site = _row_min(km, d.site_owner[a:b] - lo, d.site_start[lo : hi + 1] - a)
    return best, np.where(site >= 0, site + a, -1)


def _not_stated(d: Directory, s: slice, q: Query, bound: bool) -> np.ndarray:
    """Bitmask (``explain.NOT_STATED`` order) of the unstated eligibility that matters for ``q``."""
    flags = (
        ~d.age_stated[s],
        ~d.genders_stated[s],
        ~d.nationality_groups_stated[s],
        ~d.victim_statuses_stated[s] if q.victim is not None else None,
        ~d.exploitation_forms_stated[s] if q.forms else None,
        d.accepts_children[s] == -1 if q.children and bound else None,
        ~d.languages_stated[s] if q.languages else None,
        ~d.accessibility_stated[s] if q.accessibility else None,
    )
    out = np.zeros(s.stop - s.start, dtype=np.int64)
    for bit, flag in enumerate(flags):
        if flag is not None:
            out |= flag.astype(np.int64) << bit
    return out


def _language_fit(d: Directory, s: slice, q: Query) -> np.ndarray:
    if not q.languages:
        return np.full(s.stop - s.start, LANGUAGE_NEUTRAL, dtype=np.int64)
    shared = (d.languages[s] & q.languages) != 0
    fit = np.where(shared, LANGUAGE_SHARED, LANGUAGE_INTERPRETATION)
    return np.where(d.languages_stated[s], fit, LANGUAGE_NOT_STATED)


@dataclass(frozen=True, slots=True)
class Survivors:
    """What filtering one service type leaves: counts, and one column entry per survivor."""

    considered: int
    excluded: dict[str, int]
    beyond: tuple[int, int] | None
    columns: dict[str, np.ndarray]


def filter_type(d: Directory, service_type: str, q: Query) -> Survivors:
    lo, hi = d.rows_of(service_type)
    s, bound = slice(lo, hi), service_type in CAPACITY_BOUND_TYPES
    alive = np.ones(hi - lo, dtype=bool)
    excluded: dict[str, int] = {}

    def drop(code: str, ok: np.ndarray) -> None:
        failed = int(np.count_nonzero(alive & ~ok))
        if failed:
            excluded[code] = failed
        np.logical_and(alive, ok, out=alive)

    for code, check in STATIC_CHECKS:
        ok = check(d, s, q, bound)
        if ok is not None:
            drop(code, ok.astype(bool, copy=False))
    km, site = _nearest(d, lo, hi, q)
    if q.high_security:
        drop("security", d.has_confidential[s])
    in_area = ((d.area[s] & q.county) != 0) | d.national[s]
    reachable = alive.copy()
    if q.max_km is not None:
        drop("distance", in_area | (km <= q.max_km))
    keep = np.flatnonzero(alive)
    columns = {
        "rows": keep + lo,
        "site": site[keep],
        "km": km[keep],
        "in_area": in_area[keep],
        "not_stated": _not_stated(d, s, q, bound)[keep],
        "language": _language_fit(d, s, q)[keep],
    }
    return Survivors(hi - lo, excluded, _nearest_beyond(reachable & ~alive, km, site, lo), columns)


def _nearest_beyond(out_of_reach: np.ndarray, km: np.ndarray, site: np.ndarray, lo: int) -> tuple[int, int] | None:
    """The nearest service that fails the distance constraint only, as (row, site)."""
    located = np.flatnonzero(out_of_reach & np.isfinite(km))
    if located.size == 0:
        return None
    i = int(located[np.argmin(km[located])])
    return lo + i, int(site[i])
