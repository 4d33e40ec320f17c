"""The matching directory: an immutable, array-backed snapshot of every service.

Built once per directory version with :meth:`Directory.build` and shared by every match. Static
eligibility is flattened into numpy arrays, rows grouped by service type, so a match filters
the rows of the needed types with a few vector operations instead of looping over Structs.
The eligibility columns come from the registry (``eligibility``): code lists become bitmasks (bit
``i`` = the ``i``-th code of the list in ``vocabulary.codes``) with a ``*_stated`` flag each,
because ``None`` in an :class:`Eligibility` field means "not stated", which never excludes.
Sites are flattened in CSR layout (the sites of row ``r`` are
``site_start[r]:site_start[r + 1]``) for vectorised great-circle distances.

Only arrays and lists of strings are kept, not the Candidates: a snapshot of 100k services is a
few dozen objects for the garbage collector instead of a million. The input Structs are
``gc=False`` for the same reason; they cannot hold a reference cycle.

Live data (capacity, providers' answer records) is not part of the snapshot; see ``live``.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import msgspec
import numpy as np

from referralnet.directory.schemas import Eligibility
from referralnet.matching import eligibility
from referralnet.matching.comparisons import bit_index, bits
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES, COUNTY_CODES, LANGUAGES


class CandidateSite(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    site_id: int
    county: str
    lat: float | None
    lon: float | None
    confidential: bool = False


class Candidate(msgspec.Struct, frozen=True, kw_only=True, gc=False):
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


LANGUAGE_BITS = bit_index(LANGUAGES)
COUNTY_BITS = bit_index(COUNTY_CODES)

# Row columns and their dtypes: the service's own, then every eligibility attribute's (from the
# registry); ``area`` and ``site_counties`` are int64 county bitmasks.
_DTYPES: dict[str, Any] = {
    "service_id": np.int64,
    "organisation_id": np.int64,
    "active": bool,
    "national": bool,
    "has_confidential": bool,
    "site_count": np.int64,
    **eligibility.dtypes(),
}
_ROW_KEYS = (*_DTYPES, "area", "site_counties")
_TEXT_KEYS = ("organisation_name", "service_name", "service_type", "capacity_unit")
_SITE_KEYS = ("lat", "lon", "county", "confidential", "owner")


class _Builder:
    """Columns filled row by row; bitmasks and strings shared between equal values."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Any]] = {key: [] for key in (*_ROW_KEYS, *_TEXT_KEYS)}
        self.sites: dict[str, list[Any]] = {key: [] for key in _SITE_KEYS}
        self._masks: dict[tuple[str, ...], int] = {}
        self._strings: dict[str, str] = {}

    def mask(self, kind: str, values: Iterable[str], index: dict[str, int]) -> int:
        key = (kind, *values)
        if key not in self._masks:
            self._masks[key] = bits(key[1:], index)
        return self._masks[key]

    def text(self, value: str | None) -> str | None:
        return None if value is None else self._strings.setdefault(value, value)

    def add(self, row: int, c: Candidate) -> None:
        values: dict[str, Any] = {
            "service_id": c.service_id,
            "organisation_id": c.organisation_id,
            "active": c.active and c.organisation_active,
            "area": self.mask("counties", c.area_counties, COUNTY_BITS),
            "national": c.area_national,
            "site_counties": self.mask("counties", [s.county for s in c.sites], COUNTY_BITS),
            "has_confidential": any(s.confidential for s in c.sites),
            "site_count": len(c.sites),
            **eligibility.row(c.eligibility, self.mask),
        }
        for key in _TEXT_KEYS:
            values[key] = self.text(getattr(c, key))
        for key, value in values.items():
            self.rows[key].append(value)
        for s in c.sites:
            located = s.lat is not None and s.lon is not None
            self.sites["lat"].append(s.lat if located else np.nan)
            self.sites["lon"].append(s.lon if located else np.nan)
            self.sites["county"].append(COUNTY_BITS.get(s.county, -1))
            self.sites["confidential"].append(s.confidential)
            self.sites["owner"].append(row)


class Memo(dict[Any, tuple[np.ndarray, ...]]):
    """Arrays a match works out from a directory alone, by key; ``nbytes``: their size (see ``filters._kept``)."""

    nbytes = 0


class Listing(NamedTuple):
    """What a match shows of a service besides its scores."""

    service_id: int
    organisation_id: int
    organisation_name: str
    service_type: str
    service_name: str
    capacity_unit: str | None
    national: bool


class Directory:
    """Every service as arrays, rows sorted by service type; read-only once built.

    Matches may add what they work out from it alone (``verdicts``, ``capacity_positions``): memos, never changes.
    """

    type_range: dict[str, tuple[int, int]]  # service type -> rows [lo, hi)
    # Tuples, not lists: a tuple of strings leaves the cycle collector's sight, a list of 100k is walked by each full collection.
    organisation_name: tuple[str, ...]
    service_name: tuple[str, ...]
    service_type: tuple[str, ...]
    capacity_unit: tuple[str | None, ...]
    # Per row. The eligibility columns are declared by the registry (``eligibility.ATTRIBUTES``);
    # those below are the ones other modules read by name. Bitmasks are int64.
    service_id: np.ndarray
    organisation_id: np.ndarray
    active: np.ndarray  # the service and its organisation are both active
    age_min: np.ndarray
    age_max: np.ndarray
    age_stated: np.ndarray
    genders: np.ndarray
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
    area: np.ndarray
    national: np.ndarray
    site_counties: np.ndarray  # the counties of the row's sites
    has_confidential: np.ndarray
    capacity_bound: np.ndarray
    site_count: np.ndarray
    site_start: np.ndarray  # length rows + 1
    # Per site.
    site_lat: np.ndarray  # degrees; NaN when not located
    site_lon: np.ndarray
    site_phi: np.ndarray  # radians
    site_lam: np.ndarray
    site_cos_phi: np.ndarray
    site_county: np.ndarray  # index into COUNTY_CODES, -1 unknown
    site_confidential: np.ndarray
    site_located: np.ndarray  # has coordinates
    site_owner: np.ndarray  # row
    # Each row's position in the last capacity columns scored against (their ``service_id``, positions).
    capacity_positions: tuple[np.ndarray, np.ndarray] | None = None
    verdicts: Memo  # the filters' columns per (service type, what, value)
    nearest: Memo  # each row's nearest site and its km per (service type, origin, security need)
    geodesics: dict[tuple[tuple[float, float], int], float]  # geodesic km (0.1 km) per (origin, site) shown

    @classmethod
    def build(cls, candidates: Iterable[Candidate]) -> Directory:
        builder = _Builder()
        for row, candidate in enumerate(sorted(candidates, key=lambda c: c.service_type)):
            builder.add(row, candidate)
        return cls(builder)

    def __init__(self, builder: _Builder) -> None:
        rows, sites = builder.rows, builder.sites
        for key in _ROW_KEYS:
            self._freeze(key, np.array(rows[key], dtype=_DTYPES.get(key, np.int64)))
        for key in _TEXT_KEYS:
            setattr(self, key, tuple(rows[key]))
        self._freeze("capacity_bound", np.array([t in CAPACITY_BOUND_TYPES for t in self.service_type], dtype=bool))
        self._freeze("site_start", np.concatenate([[0], np.cumsum(self.site_count, dtype=np.int64)]))
        lat, lon = np.array(sites["lat"], dtype=np.float64), np.array(sites["lon"], dtype=np.float64)
        self._freeze("site_lat", lat)
        self._freeze("site_lon", lon)
        self._freeze("site_phi", np.radians(lat))
        self._freeze("site_lam", np.radians(lon))
        self._freeze("site_cos_phi", np.cos(np.radians(lat)))
        self._freeze("site_county", np.array(sites["county"], dtype=np.int16))
        self._freeze("site_confidential", np.array(sites["confidential"], dtype=bool))
        self._freeze("site_owner", np.array(sites["owner"], dtype=np.int64))
        self._freeze("site_located", ~(np.isnan(lat) | np.isnan(lon)))
        self.type_range = _type_ranges(self.service_type)
        self.verdicts = Memo()
        self.nearest = Memo()
        self.geodesics = {}

    def _freeze(self, key: str, array: np.ndarray) -> None:
        array.flags.writeable = False
        setattr(self, key, array)

    def __len__(self) -> int:
        return len(self.service_type)

    def rows_of(self, service_type: str) -> tuple[int, int]:
        """The row range ``[lo, hi)`` of a service type (empty when the directory has none)."""
        return self.type_range.get(service_type, (0, 0))

    def sites_of(self, lo: int, hi: int) -> tuple[int, int]:
        """The site range of the rows ``[lo, hi)``."""
        return int(self.site_start[lo]), int(self.site_start[hi])

    def listing(self, row: int) -> Listing:
        return Listing(
            service_id=int(self.service_id[row]),
            organisation_id=int(self.organisation_id[row]),
            organisation_name=self.organisation_name[row],
            service_type=self.service_type[row],
            service_name=self.service_name[row],
            capacity_unit=self.capacity_unit[row],
            national=bool(self.national[row]),
        )

    def site_coordinates(self, site: int) -> tuple[float, float]:
        return float(self.site_lat[site]), float(self.site_lon[site])


def _type_ranges(types: Sequence[str]) -> dict[str, tuple[int, int]]:
    ranges: dict[str, tuple[int, int]] = {}
    start = 0
    for row in range(1, len(types) + 1):
        if row == len(types) or types[row] != types[start]:
            ranges[types[start]] = (start, row)
            start = row
    return ranges
