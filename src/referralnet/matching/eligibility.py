"""The eligibility registry: one row per attribute of whom a service can take.

Each :class:`Attribute` names the profile field it is compared with, the kind of comparison (which
knows the service's :class:`~referralnet.directory.schemas.Eligibility` field or fields), its
constraint code and its texts. From these rows alone come the directory snapshot's columns
(``matching.directory``), the hard filters and their order (``matching.filters``), the "not
stated" caveats and their penalty (``reasons``, ``scoring``), the exclusion explanations
(``explain``) and the coverage review's "can serve" rule (``coverage.matrix``).

Adding an attribute: a field on ``Eligibility`` (``None``: not stated), a field on ``Profile``
(``None`` or empty: not asked), one row in :data:`ATTRIBUTES`, and tests. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from referralnet.directory.schemas import Eligibility
from referralnet.vocabulary.codes import (
    ACCESSIBILITY,
    AGE_BANDS,
    CONDITION_FLAGS,
    EXPLOITATION_FORMS,
    GENDERS,
    LANGUAGES,
    NATIONALITY_GROUPS,
    VICTIM_STATUSES,
)

AGE_FLOOR, AGE_CEILING = 0, 120
# When age is uncertain the person is presumed a minor (Council of Europe Convention, art. 10(3)).
PRESUMED_MINOR_BAND = "14-17"

Column = Callable[[str], np.ndarray]  # a column of the snapshot by name (rows already chosen)
Mask = Callable[[str, Iterable[str], dict[str, int]], int]  # a bitmask, shared between equal values


def band_ages(band: str) -> tuple[int, int]:
    """(youngest, oldest) age of a profile's age band; ``unknown`` is presumed a minor, "65+" ends at 120."""
    lo, hi = AGE_BANDS[PRESUMED_MINOR_BAND if band == "unknown" else band]
    return lo, AGE_CEILING if hi is None else hi


def bit_index(codes: Iterable[str]) -> dict[str, int]:
    return {code: i for i, code in enumerate(codes)}


def bits(values: Iterable[str], index: dict[str, int]) -> int:
    """The bitmask of ``values``; codes outside ``index`` are ignored."""
    mask = 0
    for value in values:
        i = index.get(value)
        if i is not None:
            mask |= 1 << i
    return mask


def _codes(raw: Any) -> list[str]:
    """A profile value (one code, a list of codes or ``None``) as a list of codes."""
    if raw is None:
        return []
    return [raw] if isinstance(raw, str) else list(raw)


# ---- kinds of comparison -----------------------------------------------------------------------
# Each kind turns an Eligibility into snapshot columns, a profile value into the value compared
# (None: the attribute does not apply to this person), and compares whole columns at once.


class _Kind:
    """What every kind has: "on a statement" (coverage's ``*_stated`` counts) means stated, by default."""

    def stated(self, col: Column) -> np.ndarray:
        raise NotImplementedError

    def on_statement(self, col: Column, v: Any) -> np.ndarray:
        return self.stated(col)


@dataclass(frozen=True)
class Range(_Kind):
    """An age range ``[min, max]`` that must contain the person's whole range (band)."""

    name: str  # columns ``<name>_min``, ``<name>_max``, ``<name>_stated``
    low: str  # Eligibility fields
    high: str

    def dtypes(self) -> dict[str, Any]:
        return {f"{self.name}_min": np.int16, f"{self.name}_max": np.int16, f"{self.name}_stated": bool}

    def columns(self, e: Eligibility, mask: Mask) -> dict[str, Any]:
        lo, hi = getattr(e, self.low), getattr(e, self.high)
        return {
            f"{self.name}_min": AGE_FLOOR if lo is None else lo,
            f"{self.name}_max": AGE_CEILING if hi is None else hi,
            f"{self.name}_stated": lo is not None or hi is not None,
        }

    def value(self, raw: Any) -> tuple[int, int] | None:
        return None if raw is None else band_ages(raw)

    def check(self, col: Column, v: tuple[int, int]) -> np.ndarray:
        return (col(f"{self.name}_min") <= v[0]) & (col(f"{self.name}_max") >= v[1])

    def stated(self, col: Column) -> np.ndarray:
        return col(f"{self.name}_stated")


@dataclass(frozen=True)
class Listed(_Kind):
    """A list of codes kept as a bitmask; the service must list one of the person's codes (``every``: all).

    ``also`` names a yes/no Eligibility field that admits the person as well (interpretation for
    languages); admitting through it is not "on a statement".
    """

    name: str  # the Eligibility field; columns ``<name>`` and ``<name>_stated``
    codes: Sequence[str]
    every: bool = False
    also: tuple[str, str] | None = None  # (Eligibility field, column)
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", bit_index(self.codes))

    def dtypes(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.name: np.int64, f"{self.name}_stated": bool}
        if self.also:
            out[self.also[1]] = bool
        return out

    def columns(self, e: Eligibility, mask: Mask) -> dict[str, Any]:
        listed = getattr(e, self.name)
        out = {self.name: mask(self.name, listed or (), self.index), f"{self.name}_stated": listed is not None}
        if self.also:
            out[self.also[1]] = getattr(e, self.also[0]) is True
        return out

    def value(self, raw: Any) -> int | None:
        return bits(_codes(raw), self.index) or None

    def _listed(self, col: Column, v: int) -> np.ndarray:
        masked = col(self.name) & v
        return masked == v if self.every else masked != 0

    def check(self, col: Column, v: int) -> np.ndarray:
        ok = ~col(f"{self.name}_stated") | self._listed(col, v)
        return ok | col(self.also[1]) if self.also else ok

    def stated(self, col: Column) -> np.ndarray:
        return col(f"{self.name}_stated")

    def on_statement(self, col: Column, v: int) -> np.ndarray:
        return self.stated(col) & self._listed(col, v) if self.also else self.stated(col)


@dataclass(frozen=True)
class Flag(_Kind):
    """A yes/no the person needs to be yes; not stated never excludes (column -1, 0 no, 1 yes)."""

    name: str

    def dtypes(self) -> dict[str, Any]:
        return {self.name: np.int8}

    def columns(self, e: Eligibility, mask: Mask) -> dict[str, Any]:
        value = getattr(e, self.name)
        return {self.name: -1 if value is None else int(value)}

    def value(self, raw: Any) -> bool | None:
        return True if raw else None

    def check(self, col: Column, v: bool) -> np.ndarray:
        return col(self.name) != 0

    def stated(self, col: Column) -> np.ndarray:
        return col(self.name) != -1


@dataclass(frozen=True)
class AtLeast(_Kind):
    """A limit of the service (e.g. the longest stay) that must reach the person's figure; -1 not stated."""

    name: str

    def dtypes(self) -> dict[str, Any]:
        return {self.name: np.int32}

    def columns(self, e: Eligibility, mask: Mask) -> dict[str, Any]:
        value = getattr(e, self.name)
        return {self.name: -1 if value is None else value}

    def value(self, raw: Any) -> int | None:
        return None if raw is None else int(raw)

    def check(self, col: Column, v: int) -> np.ndarray:
        limit = col(self.name)
        return (limit < 0) | (limit >= v)

    def stated(self, col: Column) -> np.ndarray:
        return col(self.name) >= 0


@dataclass(frozen=True)
class Conditions(_Kind):
    """Conditions the service excludes or requires (always stated: an empty list excludes nothing)."""

    name: str = "conditions"
    index: dict[str, int] = field(default_factory=lambda: bit_index(CONDITION_FLAGS), repr=False, compare=False)

    def dtypes(self) -> dict[str, Any]:
        return {"excludes": np.int64, "requires": np.int64}

    def columns(self, e: Eligibility, mask: Mask) -> dict[str, Any]:
        return {"excludes": mask("conditions", e.excludes, self.index), "requires": mask("conditions", e.requires, self.index)}

    def value(self, raw: Any) -> int:
        return bits(_codes(raw), self.index)

    def check(self, col: Column, v: int) -> np.ndarray:
        return ((col("excludes") & v) == 0) & ((col("requires") & ~v) == 0)

    def stated(self, col: Column) -> np.ndarray:
        return np.ones(col("excludes").shape, dtype=bool)


Kind = Range | Listed | Flag | AtLeast | Conditions


@dataclass(frozen=True)
class Attribute:
    """One eligibility attribute: the profile field, the comparison, the constraint code and texts."""

    code: str  # constraint code: in ``excluded.by_constraint`` and the order of the hard filters
    profile: str  # the Profile field compared
    kind: Kind
    excluded_by: str  # "... excluded by <this>"
    caveat: str | None = None  # "<this> not stated by the provider"; None: never a caveat
    residential_only: bool = False  # applies to capacity-bound (residential) service types only
    excluded_by_ro: str = ""  # the same texts in Romanian ("... excluși din cauza: <this>")
    caveat_ro: str | None = None  # "furnizorul nu a precizat <this>"

    @property
    def attribute(self) -> str:
        """The name a caveat reports (``Reason.attribute``): the Eligibility field, or ``age``."""
        return self.kind.name


# In the order they are checked; an excluded service is counted under the first it fails.
ATTRIBUTES: tuple[Attribute, ...] = (
    Attribute(
        "age", "age_band", Range("age", "age_min", "age_max"), "age eligibility", "age eligibility",
        excluded_by_ro="vârsta", caveat_ro="vârstele primite",
    ),
    Attribute(
        "gender", "gender", Listed("genders", tuple(GENDERS)), "gender eligibility", "gender eligibility",
        excluded_by_ro="genul", caveat_ro="genul persoanelor primite",
    ),
    Attribute(
        "nationality", "nationality_group", Listed("nationality_groups", tuple(NATIONALITY_GROUPS)),
        "nationality eligibility", "nationality eligibility",
        excluded_by_ro="cetățenia", caveat_ro="cetățeniile primite",
    ),
    Attribute(
        "victim_status", "victim_status", Listed("victim_statuses", tuple(VICTIM_STATUSES)),
        "victim status eligibility", "victim status eligibility",
        excluded_by_ro="statutul de victimă", caveat_ro="statutul victimelor primite",
    ),
    Attribute(
        "exploitation_form", "exploitation_forms", Listed("exploitation_forms", tuple(EXPLOITATION_FORMS)),
        "the forms of exploitation they serve", "forms of exploitation served",
        excluded_by_ro="formele de exploatare pe care le acoperă", caveat_ro="formele de exploatare acoperite",
    ),
    Attribute(
        "children", "children", Flag("accepts_children"), "not accepting children",
        "whether children are accepted", residential_only=True,
        excluded_by_ro="faptul că nu primesc copii", caveat_ro="dacă primesc copii",
    ),
    Attribute(
        "language", "languages", Listed("languages", tuple(LANGUAGES), also=("interpretation_available", "interpretation")),
        "no shared language and no interpretation", "languages spoken",
        excluded_by_ro="lipsa unei limbi comune și a interpretării", caveat_ro="limbile vorbite",
    ),
    Attribute(
        "accessibility", "accessibility", Listed("accessibility", tuple(ACCESSIBILITY), every=True),
        "accessibility", "accessibility",
        excluded_by_ro="accesibilitatea", caveat_ro="accesibilitatea",
    ),
    Attribute(
        "stay", "expected_stay_days", AtLeast("max_stay_days"), "a maximum stay shorter than the stay needed",
        "the longest stay allowed",
        excluded_by_ro="o ședere maximă mai scurtă decât cea necesară", caveat_ro="durata maximă a șederii",
    ),
    Attribute(
        "conditions", "conditions", Conditions(), "excluded or required conditions", excluded_by_ro="condițiile excluse sau cerute",
    ),
)  # fmt: skip
CAVEATS: tuple[Attribute, ...] = tuple(a for a in ATTRIBUTES if a.caveat is not None)  # bit order of "not stated"


def caveat_text(attribute: str, lang: str = "en") -> str | None:
    """The "not stated" caveat of ``attribute`` (``Reason.attribute``) as a sentence in ``lang`` (en or ro)."""
    for a in CAVEATS:
        if a.attribute == attribute:
            return f"furnizorul nu a precizat {a.caveat_ro}" if lang == "ro" else f"{a.caveat} not stated by the provider"
    return None


def dtypes(attributes: Sequence[Attribute] = ATTRIBUTES) -> dict[str, Any]:
    """Every snapshot column the attributes need, with its dtype."""
    return {name: dtype for a in attributes for name, dtype in a.kind.dtypes().items()}


def _plain_mask(kind: str, values: Iterable[str], index: dict[str, int]) -> int:
    return bits(values, index)


def row(e: Eligibility, mask: Mask = _plain_mask, attributes: Sequence[Attribute] = ATTRIBUTES) -> dict[str, Any]:
    """One service's values of every snapshot column."""
    out: dict[str, Any] = {}
    for a in attributes:
        out.update(a.kind.columns(e, mask))
    return out


def columns(eligibilities: Iterable[Eligibility], attributes: Sequence[Attribute] = ATTRIBUTES) -> dict[str, np.ndarray]:
    """The snapshot columns of many services (shared bitmasks for equal lists)."""
    cache: dict[tuple[str, ...], int] = {}

    def mask(kind: str, values: Iterable[str], index: dict[str, int]) -> int:
        key = (kind, *values)
        if key not in cache:
            cache[key] = bits(key[1:], index)
        return cache[key]

    types = dtypes(attributes)
    lists: dict[str, list[Any]] = {name: [] for name in types}
    for e in eligibilities:
        for name, value in row(e, mask, attributes).items():
            lists[name].append(value)
    return {name: np.array(values, dtype=types[name]) for name, values in lists.items()}


def values(person: Any, attributes: Sequence[Attribute] = ATTRIBUTES) -> dict[str, Any]:
    """Per constraint code, the person's value to compare (None: does not apply); ``person`` a Profile."""
    return {a.code: a.kind.value(getattr(person, a.profile, None)) for a in attributes}
