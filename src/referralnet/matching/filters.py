"""The hard filters of matching, vectorised over the directory rows of one service type.

:func:`filter_type` applies every static filter (all but capacity, which is live) to the rows of
one needed service type and returns the survivors with their nearest eligible site. Constraints
are checked in the fixed order of ``explain.CONSTRAINTS`` (the eligibility ones from the registry,
``eligibility.ATTRIBUTES``); an excluded service is counted once,
under the first constraint it fails, so the counts add up. Distances are vectorised haversine
(the geodesic is computed later, only for the candidates shown). Pure: no I/O.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from referralnet.matching import eligibility
from referralnet.matching.directory import COUNTY_BITS, Directory, Memo, bits
from referralnet.matching.eligibility import ATTRIBUTES, CAVEATS, Attribute
from referralnet.matching.geodesy import EARTH_RADIUS_KM
from referralnet.matching.profile import Profile
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES

__all__ = ["EARTH_RADIUS_KM", "Query", "Survivors", "filter_type", "haversine_km"]

# How a survivor's languages fit the person's (scored by ``scoring.LANGUAGE_FIT``).
LANGUAGE_NEUTRAL, LANGUAGE_SHARED, LANGUAGE_INTERPRETATION, LANGUAGE_NOT_STATED = range(4)


@dataclass(frozen=True, slots=True)
class Query:
    """A profile as the values and bitmasks the filters compare against."""

    values: dict[str, Any]  # eligibility constraint code -> the person's value; None: does not apply
    avoid: int
    county: int
    origin: tuple[float, float]
    max_km: float | None
    high_security: bool
    plans: dict[bool, Plan] = field(default_factory=dict, compare=False, repr=False)  # by capacity-bound or not

    @classmethod
    def of(cls, p: Profile, origin: tuple[float, float]) -> Query:
        return cls(
            values=eligibility.values(p),
            avoid=bits(p.avoid_counties, COUNTY_BITS),
            county=bits([p.location.county], COUNTY_BITS),
            origin=(float(origin[0]), float(origin[1])),
            max_km=p.max_distance_km,
            high_security=p.security_risk == "high",
        )

    @property
    def languages(self) -> int:
        return self.values.get("language") or 0

    def plan(self, bound: bool) -> Plan:
        """The static checks that apply to this person for a capacity-bound service type or another, with the
        person's value for each, and :func:`_caveats_of`: worked out once per match, not once per service type."""
        found = self.plans.get(bound)
        if found is None:
            checks = [(code, verdict, value_of(self, bound)) for code, value_of, verdict in STATIC_CHECKS]
            found = self.plans[bound] = ([c for c in checks if c[2] is not None], _caveats_of(self, bound))
        return found


Value = Callable[[Query, bool], Hashable]
Verdict = Callable[[Directory, slice, Any], Any]
Plan = tuple[list[tuple[str, Verdict, Any]], tuple[bool, ...]]


def _applies(a: Attribute, q: Query, bound: bool) -> Any:
    """The person's value for ``a``, or None when ``a`` does not apply to this person and service type."""
    return None if a.residential_only and not bound else q.values.get(a.code)


def _eligibility_verdict(a: Attribute) -> Verdict:
    return lambda d, s, value: a.kind.check(lambda name: getattr(d, name)[s], value)


# The static checks in ``explain.CONSTRAINTS`` order; security and distance need the sites and come after.
# Each: its code, what it compares with for a person and service type (None: it does not apply), and its
# verdict over rows given that value. The value with the service type names the verdict over the type's
# rows, which a directory remembers (``_remembered``): the verdict depends on nothing else.
STATIC_CHECKS: tuple[tuple[str, Value, Verdict], ...] = (
    ("inactive", lambda q, bound: True, lambda d, s, value: d.active[s]),
    *((a.code, functools.partial(_applies, a), _eligibility_verdict(a)) for a in ATTRIBUTES),
    ("avoided_county", lambda q, bound: q.avoid or None, lambda d, s, avoid: (d.site_counties[s] & avoid) == 0),
)
REMEMBERED_BYTES = 16 << 20  # what a directory keeps of them (each a column over one service type's rows)
# What a directory keeps of nearest sites per (service type, origin), apart: origins are many more than
# the values of an attribute, and their columns must not push the verdicts out (13 bytes a row).
NEAREST_BYTES = 16 << 20


def _remembered(d: Directory, key: tuple[Hashable, ...], compute: Callable[..., np.ndarray], *args: Any) -> np.ndarray:
    """``compute(*args)``, kept on ``d`` under ``key``: profiles repeat the same few values of each attribute.

    The directory never changes once built, so a column worked out for a service type and a value
    holds until the directory is replaced; the oldest go first past :data:`REMEMBERED_BYTES`. Matches
    run on the event loop's thread, so the memo takes no lock.
    """
    found = d.verdicts.get(key)  # the usual case first: no closure made for it
    if found is None:
        found = _kept(d.verdicts, REMEMBERED_BYTES, key, lambda: (compute(*args),))
    return found[0]


def _kept(
    memo: Memo, budget: int, key: Hashable, compute: Callable[[], tuple[np.ndarray, ...]], *, frozen: bool = True
) -> tuple[np.ndarray, ...]:
    """``compute()``, kept in ``memo`` under ``key`` (read-only when ``frozen``); the oldest go first past ``budget`` bytes."""
    found = memo.get(key)
    if found is None:
        found = compute()
        size = sum(a.nbytes for a in found)
        for a in found:
            a.flags.writeable = not frozen
        while memo and memo.nbytes + size > budget:
            memo.nbytes -= sum(a.nbytes for a in memo.pop(next(iter(memo))))
        memo[key] = found
        memo.nbytes += size
    return found


def haversine_km(origin: tuple[float, float], phi: np.ndarray, lam: np.ndarray, cos_phi: np.ndarray) -> np.ndarray:
    phi0, lam0 = np.radians(origin[0]), np.radians(origin[1])
    a = np.sin((phi - phi0) / 2) ** 2 + np.cos(phi0) * cos_phi * np.sin((lam - lam0) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def _nearest(d: Directory, lo: int, hi: int, q: Query, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``[lo, hi)``, the haversine km to its nearest eligible site and that site (inf and -1 when none).

    Only the located sites of ``alive`` rows are measured: the rows a static filter excluded never
    need a distance. The measured sites come in row order, so each row's are one run of them.
    """
    a, b = d.sites_of(lo, hi)
    best = np.full(hi - lo, np.inf)
    site = np.full(hi - lo, -1, dtype=np.int64)
    owner = d.site_owner[a:b] - lo
    wanted = alive[owner] & d.site_located[a:b]
    if q.high_security:
        wanted &= d.site_confidential[a:b]
    at = np.flatnonzero(wanted)
    if at.size == 0:
        return best, site
    rows, at = owner[at], at + a
    km = haversine_km(q.origin, d.site_phi[at], d.site_lam[at], d.site_cos_phi[at])
    run = np.flatnonzero(np.concatenate(([True], rows[1:] != rows[:-1])))  # where each row's sites begin
    nearest = np.minimum.reduceat(km, run)
    best[rows[run]] = nearest
    hit = np.flatnonzero(km == np.repeat(nearest, np.diff(np.append(run, km.size))))
    first = np.ones(hit.size, dtype=bool)  # the first of a row's sites at its smallest distance
    first[1:] = rows[hit[1:]] != rows[hit[:-1]]
    site[rows[hit[first]]] = at[hit[first]]
    return best, site


def _nearest_remembered(d: Directory, service_type: str, q: Query, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_nearest` for the ``alive`` rows of ``service_type``, kept per origin (and security need).

    A row's nearest site depends on nothing else, and people are matched again and again from the
    same few towns: each row is measured once per origin, when a match first keeps it. Only the
    ``alive`` rows of the arrays returned are meant (others may hold another match's rows, or nothing).
    """
    lo, hi = d.rows_of(service_type)

    def empty() -> tuple[np.ndarray, ...]:
        return np.full(hi - lo, np.inf), np.full(hi - lo, -1, dtype=np.int32), np.zeros(hi - lo, dtype=bool)

    km, site, measured = _kept(d.nearest, NEAREST_BYTES, (service_type, q.origin, q.high_security), empty, frozen=False)
    todo = alive & ~measured
    if todo.any():
        new_km, new_site = _nearest(d, lo, hi, q, todo)
        km[todo], site[todo] = new_km[todo], new_site[todo]
        measured |= todo
    return km, site


def _not_stated(d: Directory, s: np.ndarray, q: Query, bound: bool) -> np.ndarray:
    """Bitmask (``eligibility.CAVEATS`` order) of the unstated eligibility that matters for ``q``, for rows ``s``."""
    out = np.zeros(s.size, dtype=np.int64)
    for bit, a in enumerate(CAVEATS):
        if _applies(a, q, bound) is not None:
            out |= (~a.kind.stated(lambda name: getattr(d, name)[s])).astype(np.int64) << bit
    return out


def _caveats_of(q: Query, bound: bool) -> tuple[bool, ...]:
    """Which of ``eligibility.CAVEATS`` matter for ``q``: all :func:`_not_stated` reads of the profile."""
    return tuple(_applies(a, q, bound) is not None for a in CAVEATS)


def _checked(d: Directory, key: tuple[Hashable, ...], verdict: Verdict, s: slice, value: Any) -> tuple[np.ndarray, ...]:
    """A static check's verdict over the rows ``s``, and whether every row passes it (a 0-d array: then it excludes
    nothing), kept on ``d`` under ``key`` like :func:`_remembered`'s columns."""

    def compute() -> tuple[np.ndarray, ...]:
        ok = np.array(verdict(d, s, value), dtype=bool)  # a copy: never a view of the directory's own column
        return ok, np.array(ok.all())

    return _kept(d.verdicts, REMEMBERED_BYTES, key, compute)


def _language_fit(d: Directory, s: np.ndarray, q: Query) -> np.ndarray:
    if not q.languages:
        return np.full(s.size, LANGUAGE_NEUTRAL, dtype=np.int64)
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
    alive = np.empty(hi - lo, dtype=bool)
    alive.fill(True)
    excluded: dict[str, int] = {}
    left = hi - lo

    def drop(code: str, ok: np.ndarray) -> None:
        nonlocal left
        np.logical_and(alive, ok, out=alive)
        now = int(np.count_nonzero(alive))
        if now < left:
            excluded[code] = left - now
        left = now

    checks, caveats = q.plan(bound)
    for code, verdict, value in checks:
        key = (service_type, "check", code, value)
        ok, passes = d.verdicts.get(key) or _checked(d, key, verdict, s, value)
        if not passes:
            drop(code, ok)
    if q.high_security:
        drop("security", d.has_confidential[s])
    km, site = _nearest_remembered(d, service_type, q, alive)
    in_area = _remembered(d, (service_type, "in_area", q.county), lambda: ((d.area[s] & q.county) != 0) | d.national[s])
    reachable = alive.copy()
    if q.max_km is not None:
        drop("distance", in_area | (km <= q.max_km))
    keep = alive.nonzero()[0]
    rows = keep + lo
    columns = {
        "rows": rows,
        "site": site[keep],
        "km": km[keep],
        "in_area": in_area[keep],
        "not_stated": _remembered(d, (service_type, "not_stated", caveats), lambda: _not_stated(d, np.arange(lo, hi), q, bound))[keep],
        "language": _remembered(d, (service_type, "language_fit", q.languages), lambda: _language_fit(d, np.arange(lo, hi), q))[keep],
    }
    return Survivors(hi - lo, excluded, _nearest_beyond(reachable & ~alive, km, site, lo), columns)


def _nearest_beyond(out_of_reach: np.ndarray, km: np.ndarray, site: np.ndarray, lo: int) -> tuple[int, int] | None:
    """The nearest service that fails the distance constraint only, as (row, site)."""
    located = (out_of_reach & np.isfinite(km)).nonzero()[0]
    if located.size == 0:
        return None
    i = int(located[km[located].argmin()])
    return lo + i, int(site[i])
