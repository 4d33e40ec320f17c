"""The matching directory: an immutable, array-backed snapshot of every service.

Built once per directory version with :meth:`Directory.build` and shared by every match. Static
eligibility is flattened into numpy arrays, rows grouped by service type, so a match filters
the rows of the needed types with a few vector operations instead of looping over Structs.
Code lists become bitmasks (bit ``i`` = the ``i``-th code of the list in ``vocabulary.codes``)
with a ``*_stated`` flag each, because ``None`` in an :class:`Eligibility` field means "not
stated", which never excludes. Sites are flattened in CSR layout (the sites of row ``r`` are
``site_start[r]:site_start[r + 1]``) for vectorised great-circle distances.

Live data (capacity, providers' answer records) is not part of the snapshot; see
:class:`Capacity` and :class:`ProviderRecord`. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
import numpy as np

from referralnet.directory.schemas import Eligibility
from referralnet.vocabulary.codes import (
    ACCESSIBILITY,
    CAPACITY_BOUND_TYPES,
    CONDITION_FLAGS,
    COUNTY_CODES,
    EXPLOITATION_FORMS,
    GENDERS,
    LANGUAGES,
    NATIONALITY_GROUPS,
    VICTIM_STATUSES,
)

AGE_FLOOR, AGE_CEILING = 0, 120


class CandidateSite(msgspec.Struct, frozen=True, kw_only=True):
    site_id: int
    county: str
    lat: float | None
    lon: float | None
    confidential: bool = False


class Candidate(msgspec.Struct, frozen=True, kw_only=True):
    service_id: int
    organisation_id: int
    organisation_name: str
    service_type: str
    service_name: str
    active: bool = True
    organisation_active: bool = True
    eligibility: Eligibility = msgspec.field(default_factory=Eligibility)
    area_national: bool = False
    area_counties: tuple[str, ...] = ()
    sites: tuple[CandidateSite, ...] = ()
    capacity_unit: str | None = None


class Capacity(msgspec.Struct, frozen=True, kw_only=True):
    """A service's live capacity; ``None`` figures are not reported."""

    available: int | None = None
    total: int | None = None
    updated_at: dt.datetime | None = None


class ProviderRecord(msgspec.Struct, frozen=True, kw_only=True):
    """How an organisation has answered referral offers so far."""

    offers: int
    accepted: int
    median_response_minutes: float | None = None


def bit_index(codes: Iterable[str]) -> dict[str, int]:
    return {code: i for i, code in enumerate(codes)}


GENDER_BITS = bit_index(GENDERS)
NATIONALITY_BITS = bit_index(NATIONALITY_GROUPS)
VICTIM_BITS = bit_index(VICTIM_STATUSES)
FORM_BITS = bit_index(EXPLOITATION_FORMS)
LANGUAGE_BITS = bit_index(LANGUAGES)
ACCESSIBILITY_BITS = bit_index(ACCESSIBILITY)
CONDITION_BITS = bit_index(CONDITION_FLAGS)
COUNTY_BITS = bit_index(COUNTY_CODES)


def bits(values: Iterable[str], index: dict[str, int]) -> int:
    """The bitmask of ``values``; codes outside ``index`` are ignored."""
    mask = 0
    for value in values:
        i = index.get(value)
        if i is not None:
            mask |= 1 << i
    return mask


# Eligibility list fields, their bit index and the Directory attribute holding their mask.
MASKED_FIELDS: tuple[tuple[str, dict[str, int]], ...] = (
    ("genders", GENDER_BITS),
    ("nationality_groups", NATIONALITY_BITS),
    ("victim_statuses", VICTIM_BITS),
    ("exploitation_forms", FORM_BITS),
    ("languages", LANGUAGE_BITS),
    ("accessibility", ACCESSIBILITY_BITS),
)


def _tristate(value: bool | None) -> int:
    return -1 if value is None else int(value)


class _Columns:
    """Python lists filled row by row, turned into arrays at the end of the build."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {}
        self.sites: dict[str, list[Any]] = {}

    def row(self, **values: Any) -> None:
        for key, value in values.items():
            self.rows.setdefault(key, []).append(value)

    def site(self, **values: Any) -> None:
        for key, value in values.items():
            self.sites.setdefault(key, []).append(value)


def _add_candidate(cols: _Columns, row: int, c: Candidate, memo: dict[tuple[str, ...], int]) -> None:
    e = c.eligibility
    masks: dict[str, Any] = {}
    for name, index in MASKED_FIELDS:
        values = getattr(e, name)
        masks[f"{name}_stated"] = values is not None
        masks[name] = _memo_bits(values or (), index, memo, name)
    site_counties = 0
    for s in c.sites:
        county = COUNTY_BITS.get(s.county, -1)
        site_counties |= 1 << county if county >= 0 else 0
        located = s.lat is not None and s.lon is not None
        cols.site(
            lat=s.lat if located else np.nan,
            lon=s.lon if located else np.nan,
            county=county,
            confidential=bool(s.confidential),
            owner=row,
        )
    cols.row(
        service_id=c.service_id,
        organisation_id=c.organisation_id,
        active=bool(c.active and c.organisation_active),
        age_min=AGE_FLOOR if e.age_min is None else e.age_min,
        age_max=AGE_CEILING if e.age_max is None else e.age_max,
        age_stated=e.age_min is not None or e.age_max is not None,
        accepts_children=_tristate(e.accepts_children),
        interpretation=e.interpretation_available is True,
        excludes=_memo_bits(e.excludes, CONDITION_BITS, memo, "conditions"),
        requires=_memo_bits(e.requires, CONDITION_BITS, memo, "conditions"),
        area=_memo_bits(c.area_counties, COUNTY_BITS, memo, "counties"),
        national=bool(c.area_national),
        site_counties=site_counties,
        has_confidential=any(s.confidential for s in c.sites),
        site_count=len(c.sites),
        **masks,
    )


def _memo_bits(values: Sequence[str], index: dict[str, int], memo: dict[tuple[str, ...], int], kind: str) -> int:
    key = (kind, *values)
    mask = memo.get(key)
    if mask is None:
        mask = memo[key] = bits(values, index)
    return mask


_ROW_DTYPES: dict[str, Any] = {
    "service_id": np.int64,
    "organisation_id": np.int64,
    "active": bool,
    "age_min": np.int16,
    "age_max": np.int16,
    "age_stated": bool,
    "accepts_children": np.int8,
    "interpretation": bool,
    "national": bool,
    "has_confidential": bool,
    "site_count": np.int64,
}


_ROW_KEYS = (
    *_ROW_DTYPES,
    *(key for name, _ in MASKED_FIELDS for key in (name, f"{name}_stated")),
    "excludes",
    "requires",
    "area",
    "site_counties",
)


def _dtype(key: str) -> Any:
    return bool if key.endswith("_stated") else _ROW_DTYPES.get(key, np.int64)


class Directory:
    """Every service as arrays, rows sorted by service type; read-only once built."""

    candidates: tuple[Candidate, ...]
    type_range: dict[str, tuple[int, int]]
    row_of: dict[int, int]  # service id -> row
    # per row
    service_id: np.ndarray
    organisation_id: np.ndarray
    active: np.ndarray  # service and organisation both active
    age_min: np.ndarray  # AGE_FLOOR when not stated
    age_max: np.ndarray  # AGE_CEILING when not stated
    age_stated: np.ndarray
    genders: np.ndarray  # bitmask; its ``*_stated`` flag says whether the list was given
    genders_stated: np.ndarray
    nationality_groups: np.ndarray
    nationality_groups_stated: np.ndarray
    victim_statuses: np.ndarray
    victim_statuses_stated: np.ndarray
    exploitation_forms: np.ndarray
    exploitation_forms_stated: np.ndarray
    languages: np.ndarray
    languages_stated: np.ndarray
    accessibility: np.ndarray
    accessibility_stated: np.ndarray
    accepts_children: np.ndarray  # -1 not stated, 0 no, 1 yes
    interpretation: np.ndarray
    excludes: np.ndarray
    requires: np.ndarray
    area: np.ndarray  # county bitmask
    national: np.ndarray
    site_counties: np.ndarray  # bitmask of the counties of the row's sites
    has_confidential: np.ndarray
    capacity_bound: np.ndarray
    site_count: np.ndarray
    site_start: np.ndarray  # CSR offsets into the site arrays, length rows + 1
    # per site
    site_lat: np.ndarray  # degrees, NaN when not located
    site_lon: np.ndarray
    site_phi: np.ndarray  # radians
    site_lam: np.ndarray
    site_cos_phi: np.ndarray
    site_county: np.ndarray  # index into COUNTY_CODES, -1 unknown
    site_confidential: np.ndarray
    site_owner: np.ndarray  # row

    def __init__(self, candidates: tuple[Candidate, ...], cols: _Columns) -> None:
        self.candidates = candidates
        n = len(candidates)
        for key in _ROW_KEYS:
            self._set(key, np.array(cols.rows.get(key, []), dtype=_dtype(key)))
        self.capacity_bound = np.array([c.service_type in CAPACITY_BOUND_TYPES for c in candidates], dtype=bool)
        self.site_start = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(self.site_count, out=self.site_start[1:])
        self._set_sites(cols.sites)
        self.type_range = _type_ranges([c.service_type for c in candidates])
        self.row_of = {c.service_id: row for row, c in enumerate(candidates)}

    def _set(self, key: str, array: np.ndarray) -> None:
        array.flags.writeable = False
        setattr(self, key, array)

    def _set_sites(self, sites: dict[str, list[Any]]) -> None:
        lat = np.array(sites.get("lat", []), dtype=np.float64)
        lon = np.array(sites.get("lon", []), dtype=np.float64)
        self._set("site_lat", lat)
        self._set("site_lon", lon)
        self._set("site_phi", np.radians(lat))
        self._set("site_lam", np.radians(lon))
        self._set("site_cos_phi", np.cos(np.radians(lat)))
        self._set("site_county", np.array(sites.get("county", []), dtype=np.int16))
        self._set("site_confidential", np.array(sites.get("confidential", []), dtype=bool))
        self._set("site_owner", np.array(sites.get("owner", []), dtype=np.int64))

    @classmethod
    def build(cls, candidates: Iterable[Candidate]) -> Directory:
        ordered = tuple(sorted(candidates, key=lambda c: c.service_type))
        cols = _Columns()
        memo: dict[tuple[str, ...], int] = {}
        for row, candidate in enumerate(ordered):
            _add_candidate(cols, row, candidate, memo)
        return cls(ordered, cols)

    def __len__(self) -> int:
        return len(self.candidates)

    def rows_of(self, service_type: str) -> tuple[int, int]:
        """The row range ``[lo, hi)`` of a service type (empty when the directory has none)."""
        return self.type_range.get(service_type, (0, 0))

    def sites_of(self, lo: int, hi: int) -> tuple[int, int]:
        return int(self.site_start[lo]), int(self.site_start[hi])

    def site_coordinates(self, site: int) -> tuple[float, float]:
        return float(self.site_lat[site]), float(self.site_lon[site])

    def site_county_code(self, site: int) -> str | None:
        county = int(self.site_county[site])
        return COUNTY_CODES[county] if county >= 0 else None


def _type_ranges(types: list[str]) -> dict[str, tuple[int, int]]:
    ranges: dict[str, tuple[int, int]] = {}
    start = 0
    for row in range(1, len(types) + 1):
        if row == len(types) or types[row] != types[start]:
            ranges[types[start]] = (start, row)
            start = row
    return ranges
