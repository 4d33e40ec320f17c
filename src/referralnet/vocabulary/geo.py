"""Romanian geography from the data files in ``data/geo/`` (fully offline).

Counties (41 counties and Bucharest, keyed by ISO 3166-2:RO code), the SIRUTA communes/towns
and localities with coordinates, and the county polygons. See ``data/geo/SOURCES.md``.

Names are matched with :func:`fold` (no diacritics, case-insensitive, spaces, hyphens and dots
alike), so "Pașcani", "Paşcani" and "pascani" are the same name, as are "Cluj-Napoca" and "Cluj Napoca".
"""

from __future__ import annotations

import csv
import json
import os
import re
import unicodedata
from functools import cache
from pathlib import Path

import msgspec
from rapidfuzz import fuzz, process

from referralnet import resources


class County(msgspec.Struct, frozen=True):
    code: str  # "RO-CJ"
    short: str  # "CJ"
    name: str
    name_ascii: str
    region: str
    region_ascii: str
    seat: str
    seat_ascii: str
    seat_siruta: int
    lat: float  # county seat
    lon: float
    siruta: int
    nuts3: str


class Locality(msgspec.Struct, frozen=True):
    siruta: int
    name: str
    name_ascii: str
    county: str  # ISO code
    kind: str  # municipality, town, commune (level 2); sector, component, village (level 3)
    parent_siruta: int
    urban: bool
    lat: float
    lon: float
    coord_source: str

    @property
    def is_admin_unit(self) -> bool:
        """True for communes, towns and municipalities (SIRUTA level 2)."""
        return self.kind in _ADMIN_KINDS


# SIRUTA `tip` codes. Level 2: 1 county-seat municipality, 4 municipality, 2 town, 3 commune
# (and Bucharest itself, coded 9). Level 3: 6 sector, 9/10/17/18 component locality of a
# municipality/town ("localitate componentă"), 11/19/22/23 village.
_ADMIN_KINDS = frozenset({"municipality", "town", "commune"})
_LEVEL2_KINDS = {2: "town", 3: "commune"}  # otherwise municipality
_LEVEL3_KINDS = {6: "sector", 9: "component", 10: "component", 17: "component", 18: "component"}  # else village

_SEPARATORS = re.compile(r"[\s.\-]+")


def data_dir() -> Path:
    """The ``data`` directory: ``$REFERRALNET_DATA_DIR`` or the shipped one (see :mod:`referralnet.resources`)."""
    override = os.environ.get("REFERRALNET_DATA_DIR")
    return Path(override) if override else resources.data_dir()


def fold(s: str) -> str:
    """Normalise a name for comparison: no diacritics, lower case, runs of spaces/hyphens/dots -> one space."""
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", s.casefold()).strip()


def _read_csv(name: str) -> list[dict[str, str]]:
    with open(data_dir() / "geo" / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@cache
def counties() -> dict[str, County]:
    """The 42 county-level units keyed by ISO code ("RO-B" is Bucharest)."""
    return {
        r["iso_3166_2"]: County(
            code=r["iso_3166_2"],
            short=r["code"],
            name=r["name"],
            name_ascii=r["name_ascii"],
            region=r["region"],
            region_ascii=r["region_ascii"],
            seat=r["seat"],
            seat_ascii=r["seat_ascii"],
            seat_siruta=int(r["seat_siruta"]),
            lat=float(r["seat_lat"]),
            lon=float(r["seat_lon"]),
            siruta=int(r["siruta_county"]),
            nuts3=r["nuts3"],
        )
        for r in _read_csv("counties.csv")
    }


@cache
def _seat_aliases() -> dict[int, list[str]]:
    return {int(r["seat_siruta"]): r["seat_aliases"].split("|") for r in _read_csv("counties.csv") if r["seat_aliases"]}


@cache
def localities() -> list[Locality]:
    """All communes/towns (level 2) and localities (level 3), in SIRUTA file order. Do not mutate."""
    out = []
    for r in _read_csv("localities.csv"):
        level, tip = int(r["level"]), int(r["tip"])
        kind = _LEVEL2_KINDS.get(tip, "municipality") if level == 2 else _LEVEL3_KINDS.get(tip, "village")
        out.append(
            Locality(
                siruta=int(r["siruta"]),
                name=r["name"],
                name_ascii=r["name_ascii"],
                county=r["county_iso"],
                kind=kind,
                parent_siruta=int(r["siruta_parent"]),
                urban=r["urban"] == "1",  # SIRUTA: 1 urban, 3 rural
                lat=float(r["lat"]),
                lon=float(r["lon"]),
                coord_source=r["coord_source"],
            )
        )
    return out


@cache
def _index() -> dict[tuple[str, str], list[Locality]]:
    """(county, folded name) -> candidates, administrative units first, then urban ones."""
    index: dict[tuple[str, str], list[Locality]] = {}
    for loc in localities():
        index.setdefault((loc.county, fold(loc.name)), []).append(loc)
    for candidates in index.values():
        candidates.sort(key=lambda loc: (not loc.is_admin_unit, not loc.urban))  # stable: file order otherwise
    # Aliases, only where they do not shadow a real name: county seats ("Bucharest", "Kolozsvár"),
    # Bucharest's sectors without the city prefix ("Sector 3", "Sectorul 3").
    by_siruta = {loc.siruta: loc for loc in localities()}
    aliases = [(by_siruta[s], a) for s, names in _seat_aliases().items() for a in names]
    for loc in localities():
        if loc.kind == "sector":
            number = loc.name.rsplit(" ", 1)[-1]
            aliases += [(loc, f"Sector {number}"), (loc, f"Sectorul {number}")]
    for loc, alias in aliases:
        index.setdefault((loc.county, fold(alias)), [loc])
    return index


def preload() -> None:
    """Build the locality index now (0.3-1 s of CPU), at startup rather than inside the first request that names a locality."""
    _index()


def find_locality(county: str, name: str) -> Locality | None:
    """The locality called `name` in `county` (ISO code), ignoring case and diacritics.

    When a commune and its seat village share the name, the commune (administrative unit) wins,
    then an urban locality; "București" in RO-B is the city itself.
    """
    candidates = _index().get((county, fold(name)))
    return candidates[0] if candidates else None


@cache
def _names_by_county() -> dict[str, dict[str, str]]:
    names: dict[str, dict[str, str]] = {}
    for (county, key), candidates in _index().items():
        names.setdefault(county, {})[key] = candidates[0].name
    return names


def suggest_localities(county: str, name: str, limit: int = 5) -> list[str]:
    """Names in `county` close to `name`, best first, for "did you mean" messages."""
    names = _names_by_county().get(county, {})  # folded -> display name
    matches = process.extract(fold(name), list(names), scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=60)
    return list(dict.fromkeys(names[key] for key, _, _ in matches))[:limit]


def point_of(county: str, locality: str | None = None) -> tuple[float, float]:
    """(lat, lon) of `locality` in `county`, or of the county seat when no locality is given.

    Raises KeyError for an unknown county and LookupError (with suggestions) for an unknown locality.
    Note that KeyError is itself a LookupError: catch KeyError first to tell them apart.
    """
    try:
        seat = counties()[county]
    except KeyError:
        raise KeyError(f"unknown county code {county!r}") from None
    if locality is None or not fold(locality):
        return seat.lat, seat.lon
    found = find_locality(county, locality)
    if found is None:
        hint = suggest_localities(county, locality)
        more = f"; did you mean {', '.join(hint)}?" if hint else ""
        raise LookupError(f"unknown locality {locality!r} in {county} ({seat.name}){more}")
    return found.lat, found.lon


def shown_point(county: str, locality: str | None, lat: float | None, lon: float | None, confidential: bool) -> tuple[float, float]:
    """Where distances, rankings and maps place a site.

    A confidential site stands at its locality (or its county seat), never at its own coordinates:
    distances to it from a few origins would otherwise give its position away, while its locality
    is already shown to everyone. A site without coordinates stands at its county seat.
    """
    if confidential:
        try:
            return point_of(county, locality)
        except KeyError:
            raise
        except LookupError:
            return point_of(county)
    if lat is None or lon is None:
        return point_of(county)
    return lat, lon


@cache
def county_shapes() -> dict:
    """The county polygons as parsed GeoJSON (FeatureCollection; property ``iso_3166_2``)."""
    with open(data_dir() / "geo" / "counties.geojson", encoding="utf-8") as f:
        return json.load(f)
