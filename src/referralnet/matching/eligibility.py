"""The eligibility registry: one row per attribute of whom a service can take.

Each :class:`Attribute` names the profile field it is compared with, the kind of comparison (one of
:mod:`referralnet.matching.comparisons`, which knows the service's
:class:`~referralnet.directory.schemas.Eligibility` field or fields), its constraint code and its
texts. From these rows alone come the directory snapshot's columns (``matching.directory``), the
hard filters and their order (``matching.filters``), the "not stated" caveats and their penalty
(``reasons``, ``scoring``), the exclusion explanations (``explain``) and the coverage review's
"can serve" rule (``coverage.matrix``).

Adding an attribute: a field on ``Eligibility`` (``None``: not stated), a field on ``Profile``
(``None`` or empty: not asked), one row in :data:`ATTRIBUTES`, and tests. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from referralnet.directory.schemas import Eligibility
from referralnet.matching.comparisons import AtLeast, Conditions, Flag, Kind, Listed, Mask, Range, bits
from referralnet.vocabulary.codes import (
    ACCESSIBILITY,
    EXPLOITATION_FORMS,
    GENDERS,
    LANGUAGES,
    NATIONALITY_GROUPS,
    VICTIM_STATUSES,
)


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
