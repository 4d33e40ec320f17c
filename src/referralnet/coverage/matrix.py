"""The coverage matrix: providers and capacity within reach, per county x service type x group.

Pure: plain records in, numpy arrays out. A service *reaches* a county when it is national, its
service area lists the county, one of its sites is in the county, or one of its sites is within
``distance_km`` (great-circle) of the county seat. A site without coordinates stands at its
county seat, as in matching. Inactive services and services of inactive organisations are left
out. Groups and the "can serve" rules are in :mod:`referralnet.coverage.groups`.

Per cell: ``providers`` (distinct organisations with at least one such service), ``services``,
the same two counting only services that admit the group on an explicit statement, the sum of
the reported total and free capacity (in the services' own units) and ``capacity_unknown``, the
services in the cell without a free-capacity figure.

Eligibility follows the registry of :mod:`referralnet.matching.eligibility`, with the rules and
columns matching uses: a group is a person with one of its age bands, its gender and its form.

Everything is vectorised: reach is sites x 42 seats, eligibility services x groups, and the
counts are matrix products per service type; distinct organisations OR the services of an
organisation together (``logical_or.reduceat`` over rows sorted by type and organisation).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np

from referralnet.coverage.groups import Group
from referralnet.directory.schemas import Eligibility
from referralnet.matching.eligibility import ATTRIBUTES, Attribute
from referralnet.matching.eligibility import columns as eligibility_columns
from referralnet.matching.geodesy import EARTH_RADIUS_KM
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES, COUNTY_CODES, SERVICE_TYPES

N_COUNTIES = len(COUNTY_CODES)
TYPE_CODES: tuple[str, ...] = tuple(SERVICE_TYPES)
COUNTY_INDEX = {c: i for i, c in enumerate(COUNTY_CODES)}
TYPE_INDEX = {t: i for i, t in enumerate(TYPE_CODES)}
# Elements of the services x counties x groups block OR-ed at once for distinct organisations.
_BLOCK = 8_000_000


class ServiceRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What the coverage review needs of one service (``None``: not stated / not reported)."""

    service_id: int
    organisation_id: int
    service_type: str
    active: bool = True
    eligibility: Eligibility = msgspec.field(default_factory=Eligibility)
    national: bool = False
    area_counties: tuple[str, ...] = ()
    capacity_total: int | None = None
    capacity_available: int | None = None


class SiteRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    service_id: int
    county: str
    lat: float | None = None
    lon: float | None = None


def _mask(values: Sequence[str] | None, index: dict[str, int]) -> int:
    out = 0
    for v in values or ():
        if v in index:
            out |= 1 << index[v]
    return out


@dataclass(frozen=True)
class ServiceTable:
    """Active services as arrays, rows sorted by (type, organisation); sites as (row, lat, lon, county)."""

    organisation: np.ndarray
    type_index: np.ndarray
    capacity_bound: np.ndarray
    eligibility: dict[str, np.ndarray]  # the registry's columns (``matching.eligibility``), as in matching
    national: np.ndarray
    area: np.ndarray  # bit i: COUNTY_CODES[i]
    capacity_total: np.ndarray  # float, NaN when not reported
    capacity_free: np.ndarray
    site_row: np.ndarray
    site_lat: np.ndarray
    site_lon: np.ndarray
    site_county: np.ndarray

    def __len__(self) -> int:
        return len(self.organisation)

    def column(self, name: str) -> np.ndarray:
        return self.eligibility[name]

    @classmethod
    def build(cls, services: Sequence[ServiceRecord], sites: Sequence[SiteRecord]) -> ServiceTable:
        kept = sorted(
            (s for s in services if s.active and s.service_type in TYPE_INDEX),
            key=lambda s: (TYPE_INDEX[s.service_type], s.organisation_id, s.service_id),
        )
        row_of = {s.service_id: i for i, s in enumerate(kept)}
        seats = geo.counties()

        def col(values: list, dtype: type) -> np.ndarray:  # type: ignore[type-arg]
            return np.array(values, dtype=dtype)

        nan = float("nan")
        site_list = sorted(
            ((row_of[s.service_id], s) for s in sites if s.service_id in row_of and s.county in COUNTY_INDEX),
            key=lambda pair: pair[0],
        )
        return cls(
            organisation=col([s.organisation_id for s in kept], np.int64),
            type_index=col([TYPE_INDEX[s.service_type] for s in kept], np.int64),
            capacity_bound=col([s.service_type in CAPACITY_BOUND_TYPES for s in kept], bool),
            eligibility=eligibility_columns(s.eligibility for s in kept),
            national=col([s.national for s in kept], bool),
            area=col([_mask(s.area_counties, COUNTY_INDEX) for s in kept], np.int64),
            capacity_total=col([nan if s.capacity_total is None else s.capacity_total for s in kept], np.float64),
            capacity_free=col([nan if s.capacity_available is None else s.capacity_available for s in kept], np.float64),
            site_row=col([r for r, _ in site_list], np.int64),
            site_lat=col([seats[s.county].lat if s.lat is None or s.lon is None else s.lat for _, s in site_list], np.float64),
            site_lon=col([seats[s.county].lon if s.lat is None or s.lon is None else s.lon for _, s in site_list], np.float64),
            site_county=col([COUNTY_INDEX[s.county] for _, s in site_list], np.int64),
        )


def seat_coordinates() -> tuple[np.ndarray, np.ndarray]:
    seats = geo.counties()
    return (np.array([seats[c].lat for c in COUNTY_CODES]), np.array([seats[c].lon for c in COUNTY_CODES]))


def haversine_km(lat: np.ndarray, lon: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Great-circle km between every point (rows) and every other point (columns)."""
    p1, l1 = np.radians(lat)[:, None], np.radians(lon)[:, None]
    p2, l2 = np.radians(lat2)[None, :], np.radians(lon2)[None, :]
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def reach(table: ServiceTable, distance_km: float) -> np.ndarray:
    """services x counties: whether the service can serve a person in the county."""
    n = len(table)
    bits = np.arange(N_COUNTIES, dtype=np.int64)
    out = table.national[:, None] | ((table.area[:, None] >> bits[None, :]) & 1).astype(bool)
    if len(table.site_row):
        # Many sites share coordinates (county seats): measure each distinct point once.
        points, inverse = np.unique(np.stack([table.site_lat, table.site_lon], axis=1), axis=0, return_inverse=True)
        seat_lat, seat_lon = seat_coordinates()
        near = (haversine_km(points[:, 0], points[:, 1], seat_lat, seat_lon) <= distance_km)[inverse.reshape(-1)]
        near[np.arange(len(near)), table.site_county] = True
        rows, starts = np.unique(table.site_row, return_index=True)  # sites are sorted by row
        out[rows] |= np.logical_or.reduceat(near, starts, axis=0)
    assert out.shape == (n, N_COUNTIES)
    return out


def _person(group: Group, fixed: Mapping[str, Any]) -> dict[str, list[Any]]:
    """A group (and the filters over every group) as profile fields, each with its alternatives.

    A person of the group has one of its age bands, its gender and its form: a service admits the
    group when, for every attribute, it admits one of the alternatives.
    """
    person = {field: [value] for field, value in fixed.items() if value is not None}
    if group.bands is not None:
        person["age_band"] = list(group.bands)
    if group.gender is not None:
        person["gender"] = [group.gender]
    if group.form is not None:
        person["exploitation_forms"] = [[group.form]]
    return person


def eligibility(
    table: ServiceTable, groups: Sequence[Group], language: str | None = None, person: Mapping[str, Any] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(admits, admits on a statement), each services x groups, by the registry's rules.

    ``person`` holds profile fields asked of every group (e.g. ``{"expected_stay_days": 120}``);
    ``language`` is the same as ``{"languages": [language]}``.
    """
    n = len(table)
    fixed = {**(person or {}), **({"languages": [language]} if language is not None else {})}
    memo: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}

    def one(a: Attribute, raw: Any) -> tuple[np.ndarray, np.ndarray]:
        key = (a.code, repr(raw))
        if key not in memo:
            v = a.kind.value(raw)
            if v is None:
                memo[key] = np.ones(n, dtype=bool), np.ones(n, dtype=bool)
            else:
                ok, st = a.kind.check(table.column, v), a.kind.on_statement(table.column, v)  # type: ignore[arg-type]
                if a.residential_only:  # as in matching: the rule binds residential services only
                    ok, st = ok | ~table.capacity_bound, st | ~table.capacity_bound
                memo[key] = ok, st
        return memo[key]

    admits = np.empty((n, len(groups)), dtype=bool)
    stated = np.empty((n, len(groups)), dtype=bool)
    for k, g in enumerate(groups):
        asked = _person(g, fixed)
        ok, st = np.ones(n, dtype=bool), np.ones(n, dtype=bool)
        for a in ATTRIBUTES:
            if a.profile not in asked:
                continue
            results = [one(a, raw) for raw in asked[a.profile]]
            ok &= np.logical_or.reduce([r[0] for r in results])
            st &= np.logical_or.reduce([r[1] for r in results])
        admits[:, k], stated[:, k] = ok, ok & st
    return admits, stated


@dataclass(frozen=True)
class Cube:
    """Per county x service type x group (shape 42 x types x groups)."""

    types: tuple[str, ...]
    groups: tuple[Group, ...]
    providers: np.ndarray
    providers_stated: np.ndarray
    services: np.ndarray
    services_stated: np.ndarray
    capacity_total: np.ndarray
    capacity_free: np.ndarray
    capacity_unknown: np.ndarray


def _distinct(r: np.ndarray, e: np.ndarray, org: np.ndarray) -> np.ndarray:
    """counties x groups: organisations (rows sorted by org) with a row reaching and admitting."""
    out = np.zeros((r.shape[1], e.shape[1]), dtype=np.int64)
    if not len(org):
        return out
    starts = np.flatnonzero(np.r_[True, org[1:] != org[:-1]])
    sizes = np.diff(np.r_[starts, len(org)])
    single = np.repeat(sizes == 1, sizes)
    out += np.rint(r[single].T.astype(np.float64) @ e[single].astype(np.float64)).astype(np.int64)
    multi = ~single
    if multi.any():
        rm, em, om = r[multi], e[multi], org[multi]
        mstarts = np.flatnonzero(np.r_[True, om[1:] != om[:-1]])
        per_row = r.shape[1] * e.shape[1]
        step = max(1, _BLOCK // max(per_row, 1))
        lo = 0
        while lo < len(mstarts):
            hi = min(len(mstarts), lo + step)
            a, b = mstarts[lo], (mstarts[hi] if hi < len(mstarts) else len(om))
            block = rm[a:b, :, None] & em[a:b, None, :]
            out += np.logical_or.reduceat(block, mstarts[lo:hi] - a, axis=0).sum(axis=0)
            lo = hi
    return out


def compute(
    table: ServiceTable,
    groups: Sequence[Group],
    *,
    distance_km: float = 50.0,
    types: Sequence[str] | None = None,
    language: str | None = None,
    person: Mapping[str, Any] | None = None,
) -> Cube:
    """The coverage cube of ``types`` (default: every service type) for ``groups``."""
    types = tuple(types) if types is not None else TYPE_CODES
    shape = (N_COUNTIES, len(types), len(groups))
    arrays = {k: np.zeros(shape, dtype=np.int64) for k in Cube.__dataclass_fields__ if k not in ("types", "groups")}
    r_all = reach(table, distance_km)
    e_all, s_all = eligibility(table, groups, language, person)
    total = np.nan_to_num(table.capacity_total)
    free = np.nan_to_num(table.capacity_free)
    unknown = np.isnan(table.capacity_free).astype(np.float64)
    bounds = np.searchsorted(table.type_index, np.arange(len(TYPE_CODES) + 1))
    for t, code in enumerate(types):
        lo, hi = bounds[TYPE_INDEX[code]], bounds[TYPE_INDEX[code] + 1]
        if lo == hi:
            continue
        r, e, s = r_all[lo:hi], e_all[lo:hi], s_all[lo:hi]
        rf = r.T.astype(np.float64)
        ef = e.astype(np.float64)

        def product(weights: np.ndarray | None = None, m: np.ndarray = ef, rf: np.ndarray = rf, lo: int = lo, hi: int = hi) -> np.ndarray:
            return np.rint(rf @ (m if weights is None else m * weights[lo:hi, None])).astype(np.int64)

        arrays["services"][:, t] = product()
        arrays["services_stated"][:, t] = product(m=s.astype(np.float64))
        arrays["capacity_total"][:, t] = product(total)
        arrays["capacity_free"][:, t] = product(free)
        arrays["capacity_unknown"][:, t] = product(unknown)
        org = table.organisation[lo:hi]
        arrays["providers"][:, t] = _distinct(r, e, org)
        arrays["providers_stated"][:, t] = _distinct(r, s, org)
    return Cube(types=types, groups=tuple(groups), **arrays)
