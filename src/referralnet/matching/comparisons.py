"""The kinds of comparison of the eligibility registry (:mod:`referralnet.matching.eligibility`), with
the age bands and bitmasks they use. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from referralnet.directory.schemas import Eligibility
from referralnet.vocabulary.codes import AGE_BANDS, CONDITION_FLAGS

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
