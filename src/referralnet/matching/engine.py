"""The matching engine: hard filters, then capacity, scoring and ranking.

Two phases so the caller reads live capacity only for the services that survive the static
filters: :func:`select` applies every hard filter except capacity, vectorised over the directory
rows of each needed service type; :func:`rank` applies the capacity rule, scores, sorts, and
adds geodesic distances, reasons, bundles and the explanation of what was excluded. Both are
pure functions of a profile, a :class:`Directory`, live figures and an injected ``now``.

Constraints are checked in the fixed order of ``explain.CONSTRAINTS``; an excluded service is
counted once, under the first constraint it fails, so the counts add up. Distances for filtering
and ranking are vectorised haversine; only the returned candidates get a geodesic distance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from referralnet.matching import bundles, explain
from referralnet.matching.directory import (
    ACCESSIBILITY_BITS,
    CONDITION_BITS,
    COUNTY_BITS,
    FORM_BITS,
    GENDER_BITS,
    LANGUAGE_BITS,
    NATIONALITY_BITS,
    VICTIM_BITS,
    Capacity,
    Directory,
    ProviderRecord,
    bits,
)
from referralnet.matching.explain import Live, live_figures, score
from referralnet.matching.profile import Profile
from referralnet.matching.schemas import Excluded, MatchResult
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES

__all__ = ["Selection", "match", "rank", "select"]


EARTH_RADIUS_KM = 6371.0088  # mean radius; haversine is within 0.5 % of the geodesic


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
    """Bitmask (explain.NOT_STATED order) of the unstated eligibility that matters for ``q``."""
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
        return np.full(s.stop - s.start, explain.LANGUAGE_NEUTRAL, dtype=np.int64)
    shared = (d.languages[s] & q.languages) != 0
    fit = np.where(shared, explain.LANGUAGE_SHARED, explain.LANGUAGE_INTERPRETATION)
    return np.where(d.languages_stated[s], fit, explain.LANGUAGE_NOT_STATED)


@dataclass(frozen=True, slots=True)
class _Survivors:
    """What filtering one service type leaves: counts, and one column entry per survivor."""

    considered: int
    excluded: dict[str, int]
    beyond: tuple[int, int] | None
    columns: dict[str, np.ndarray]


def _filter_type(d: Directory, service_type: str, q: Query) -> _Survivors:
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
    return _Survivors(hi - lo, excluded, _nearest_beyond(reachable & ~alive, km, site, lo), columns)


def _nearest_beyond(out_of_reach: np.ndarray, km: np.ndarray, site: np.ndarray, lo: int) -> tuple[int, int] | None:
    """The nearest service that fails the distance constraint only, as (row, site)."""
    located = np.flatnonzero(out_of_reach & np.isfinite(km))
    if located.size == 0:
        return None
    i = int(located[np.argmin(km[located])])
    return lo + i, int(site[i])


@dataclass(frozen=True, slots=True, eq=False)
class Selection:
    """The services that pass the static filters, one entry per survivor (parallel arrays)."""

    directory: Directory
    profile: Profile
    query: Query
    needs: tuple[tuple[str, str], ...]  # (service type, priority), deduplicated, profile order
    rows: np.ndarray  # directory rows
    need: np.ndarray  # index into ``needs``
    site: np.ndarray  # nearest eligible site, -1 when none is located
    km: np.ndarray  # haversine km to that site, inf when none
    in_area: np.ndarray  # the service area covers the person's county, or is national
    not_stated: np.ndarray  # bitmask over explain.NOT_STATED of relevant unstated eligibility
    language: np.ndarray  # explain.LANGUAGE_* fit code
    considered: dict[str, int]  # services of each needed type
    excluded: dict[str, dict[str, int]]  # need -> constraint -> count
    beyond: dict[str, tuple[int, int]]  # need -> (row, site) of the nearest service out of reach only

    @property
    def service_ids(self) -> list[int]:
        return self.directory.service_id[self.rows].tolist()


def _needs(profile: Profile) -> tuple[tuple[str, str], ...]:
    needs: dict[str, str] = {}
    for n in profile.needs:
        if needs.get(n.service_type) != "required":
            needs[n.service_type] = n.priority
    return tuple(needs.items())


def select(profile: Profile, directory: Directory, origin: tuple[float, float]) -> Selection:
    """Every service of a needed type that passes the static hard filters, with its nearest site."""
    query, needs = Query.of(profile, origin), _needs(profile)
    found = {service_type: _filter_type(directory, service_type, query) for service_type, _ in needs}
    parts = list(found.values()) or [_filter_type(directory, "", query)]  # no needs: empty columns
    columns = {key: np.concatenate([p.columns[key] for p in parts]) for key in parts[0].columns}
    return Selection(
        directory=directory,
        profile=profile,
        query=query,
        needs=needs,
        need=np.repeat(np.arange(len(parts)), [p.columns["rows"].size for p in parts]),
        considered={t: p.considered for t, p in found.items()},
        excluded={t: p.excluded for t, p in found.items()},
        beyond={t: p.beyond for t, p in found.items() if p.beyond is not None},
        **columns,
    )


def _shortlist(order: np.ndarray, need: np.ndarray, n_needs: int, limit: int) -> np.ndarray:
    """The best ``limit`` of ``order``, keeping a share for each need.

    A plentiful need must not crowd another out of the list: each need first gets up to
    ``limit // (2 * needs)`` (at least one) of its best places, the rest go by score.
    """
    if order.size <= limit:
        return order
    quota = max(1, limit // (2 * max(n_needs, 1)))
    taken: dict[int, int] = {}
    reserved = []
    for position, k in enumerate(need[order].tolist()):
        if taken.get(k, 0) < quota:
            taken[k] = taken.get(k, 0) + 1
            reserved.append(position)
            if len(reserved) == quota * n_needs:
                break
    chosen = set(reserved[:limit])
    for position in range(order.size):
        if len(chosen) >= limit:
            break
        chosen.add(position)
    return order[sorted(chosen)]


def _order(selection: Selection, keep: np.ndarray, scores: np.ndarray, live: Live) -> np.ndarray:
    """``keep`` sorted by score, then known capacity, distance and service id."""
    km = np.where(np.isfinite(selection.km), selection.km, 1e9)
    unknown = live.unknown_bound.astype(np.int8)
    sid = selection.directory.service_id[selection.rows]
    key = np.lexsort((sid[keep], km[keep], unknown[keep], -scores[keep]))
    return keep[key]


def rank(
    selection: Selection,
    capacity: Mapping[int, Capacity],
    records: Mapping[int, ProviderRecord],
    *,
    now: dt.datetime,
    stale_after: dt.timedelta,
    limit: int = 20,
) -> MatchResult:
    """Apply the capacity rule, score, sort and explain; at most ``limit`` candidates."""
    live = live_figures(selection, capacity, now, stale_after)
    keep = np.flatnonzero(~live.full)
    scores = score(selection, live, records)
    order = _order(selection, keep, scores, live)
    shown = _shortlist(order, selection.need, len(selection.needs), limit)
    candidates = [explain.candidate(selection, int(i), float(scores[i]), live, records) for i in shown]
    found = bundles.propose(_offers(selection, order, scores), [t for t, p in selection.needs if p == "required"])
    return MatchResult(
        candidates=candidates,
        bundles=found,
        excluded=_excluded(selection, live, keep, bool(found)),
        total_considered=sum(selection.considered.values()),
    )


def _offers(selection: Selection, order: np.ndarray, scores: np.ndarray) -> list[bundles.Offer]:
    """The best candidate of each organisation for each need, best first."""
    if order.size == 0:
        return []
    org = selection.directory.organisation_id[selection.rows[order]]
    key = selection.need[order] * (int(org.max()) + 1) + (org - int(org.min()))
    _, first = np.unique(key, return_index=True)
    return [explain.offer(selection, int(i), float(scores[i])) for i in order[np.sort(first)]]


def _excluded(selection: Selection, live: Live, keep: np.ndarray, bundled: bool) -> Excluded:
    full = np.bincount(selection.need[live.full], minlength=len(selection.needs))
    kept = np.bincount(selection.need[keep], minlength=len(selection.needs))
    return explain.excluded(selection, full.tolist(), kept.tolist(), bundled)


def match(
    profile: Profile,
    directory: Directory,
    origin: tuple[float, float],
    capacity: Mapping[int, Capacity],
    records: Mapping[int, ProviderRecord],
    *,
    now: dt.datetime,
    stale_after: dt.timedelta,
    limit: int = 20,
) -> MatchResult:
    """:func:`select` then :func:`rank`, for tests and the command line."""
    selection = select(profile, directory, origin)
    return rank(selection, capacity, records, now=now, stale_after=stale_after, limit=limit)
