"""Victim groups of the coverage review: age group x gender, optionally x form of exploitation.

Age groups come in two groupings:

* ``coarse`` (the default): ``minor`` (bands 0-5, 6-13, 14-17) and ``adult`` (18-24, 25-39,
  40-64, 65+), the split the secretariat asks about ("a shelter for adult men");
* ``bands``: the seven age bands of the anonymised referral profile.

A service *can serve* a group when its eligibility admits a person of the group, with the rules
matching uses (``matching.eligibility``, applied in ``coverage.matrix``), ``None`` (not stated) admitting:

* age: the service's age range contains at least one whole band of the group (the age check of
  matching for a person of that band); not stated admits every band;
* gender: the listed genders contain it, or none are listed;
* exploitation form: the listed forms contain it, or none are listed;
* language (an optional filter over every group): the listed languages contain it, or none are
  listed, or the service provides interpretation;
* any other attribute of the registry asked of every group (``compute(..., person=...)``, e.g. the
  expected length of stay): as in matching.

A service admits a group *on a statement* (the ``*_stated`` counts) when every criterion that
applies was stated explicitly: an age range, a list of genders, a list of forms (when the group
has a form) and, with a language filter, the language itself in the service's list.

A referral belongs to the group of its profile's age band (``unknown`` is presumed a minor,
band 14-17, as in matching), its gender and, per form, each of its forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from referralnet.matching.comparisons import PRESUMED_MINOR_BAND
from referralnet.vocabulary.codes import AGE_BANDS, EXPLOITATION_FORMS, GENDERS

Ages = Literal["coarse", "bands"]

AGE_GROUPINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "coarse": {"minor": ("0-5", "6-13", "14-17"), "adult": ("18-24", "25-39", "40-64", "65+")},
    "bands": {band: (band,) for band in AGE_BANDS},
}
BANDS: tuple[str, ...] = tuple(AGE_BANDS)
GENDER_CODES: tuple[str, ...] = tuple(GENDERS)
FORM_CODES: tuple[str, ...] = tuple(EXPLOITATION_FORMS)


def all_age_groups() -> dict[str, tuple[str, ...]]:
    """Every age-group code of both groupings, for single-group queries (the map)."""
    return {**AGE_GROUPINGS["coarse"], **AGE_GROUPINGS["bands"]}


@dataclass(frozen=True)
class Group:
    """One victim group; ``None`` in a field means "not restricted on this attribute"."""

    age_group: str | None
    bands: tuple[str, ...] | None
    gender: str | None
    form: str | None

    def admits_person(self, band: str, gender: str, forms: tuple[str, ...] | list[str]) -> bool:
        """Whether a referred person (age band, gender, forms) belongs to this group."""
        if band == "unknown":
            band = PRESUMED_MINOR_BAND
        return (
            (self.bands is None or band in self.bands)
            and (self.gender is None or gender == self.gender)
            and (self.form is None or self.form in forms)
        )


def make_groups(
    ages: str = "coarse",
    *,
    age_group: str | None = None,
    gender: str | None = None,
    form: str | None = None,
    by_form: bool = False,
) -> list[Group]:
    """The groups of a matrix: age group x gender (x form), restricted by the optional filters.

    ``form`` picks one form; ``by_form`` expands every form; neither leaves forms out.
    Raises KeyError for an age group outside the grouping.
    """
    grouping = AGE_GROUPINGS[ages]
    if age_group is not None and age_group not in grouping:
        raise KeyError(age_group)
    age_codes = [age_group] if age_group else list(grouping)
    genders = [gender] if gender else list(GENDER_CODES)
    forms: list[str | None] = [form] if form else (list(FORM_CODES) if by_form else [None])
    return [Group(a, grouping[a], g, f) for a in age_codes for g in genders for f in forms]


def single_group(age_group: str | None = None, gender: str | None = None, form: str | None = None) -> Group:
    """One group from optional attributes (any age-group code of either grouping)."""
    bands = None if age_group is None else all_age_groups()[age_group]
    return Group(age_group, bands, gender, form)
