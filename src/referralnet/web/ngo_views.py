"""Page-only wording of a service's eligibility, area and sites for the NGO's organisation pages.

The attribute names are the eligibility registry's own texts (``matching.eligibility``, the same the
match explanations use) and the values the vocabulary's labels, in the page's language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from referralnet.directory.schemas import Eligibility, ServiceArea
from referralnet.matching.comparisons import AtLeast, Conditions, Flag, Listed, Range
from referralnet.matching.eligibility import ATTRIBUTES, Attribute
from referralnet.texts import N_
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import (
    ACCESSIBILITY,
    CONDITION_FLAGS,
    EXPLOITATION_FORMS,
    GENDERS,
    LANGUAGES,
    NATIONALITY_GROUPS,
    VICTIM_STATUSES,
)

CODE_LABELS = {
    "genders": GENDERS, "nationality_groups": NATIONALITY_GROUPS, "victim_statuses": VICTIM_STATUSES,
    "exploitation_forms": EXPLOITATION_FORMS, "languages": LANGUAGES, "accessibility": ACCESSIBILITY,
}  # fmt: skip
NOT_STATED = N_("not stated")
WORDS = (
    N_("yes"), N_("no"), N_("%(low)s to %(high)s years"), N_("from %(low)s years"), N_("up to %(high)s years"),
    N_("%(days)s days at most"), N_("interpretation available"), N_("excludes: %(list)s"), N_("requires: %(list)s"),
    N_("none excluded or required"), N_("national"),
)  # fmt: skip

Gettext = Callable[[str], str]


def _labels(codes: Sequence[str], table: dict[str, tuple[str, str]], lang: str) -> str:
    return ", ".join(table[c][1 if lang == "ro" else 0] if c in table else c for c in codes)


def _name(a: Attribute, lang: str) -> str:
    if lang == "ro":
        return a.caveat_ro or a.excluded_by_ro
    return a.caveat or a.excluded_by


def _value(a: Attribute, e: Eligibility, lang: str, _: Gettext) -> str:
    kind = a.kind
    if isinstance(kind, Range):
        low, high = getattr(e, kind.low), getattr(e, kind.high)
        if low is None and high is None:
            return _(NOT_STATED)
        if low is not None and high is not None:
            return _("%(low)s to %(high)s years") % {"low": low, "high": high}
        return _("from %(low)s years") % {"low": low} if low is not None else _("up to %(high)s years") % {"high": high}
    if isinstance(kind, Listed):
        codes = getattr(e, kind.name)
        text = _labels(codes, CODE_LABELS.get(kind.name, {}), lang) if codes else _(NOT_STATED)
        if kind.also and getattr(e, kind.also[0]):
            text += "; " + _("interpretation available")
        return text
    if isinstance(kind, Flag):
        value = getattr(e, kind.name)
        return _(NOT_STATED) if value is None else _("yes") if value else _("no")
    if isinstance(kind, AtLeast):
        days = getattr(e, kind.name)
        return _(NOT_STATED) if days is None else _("%(days)s days at most") % {"days": days}
    if isinstance(kind, Conditions):
        parts = [_("excludes: %(list)s") % {"list": _labels(e.excludes, CONDITION_FLAGS, lang)}] if e.excludes else []
        parts += [_("requires: %(list)s") % {"list": _labels(e.requires, CONDITION_FLAGS, lang)}] if e.requires else []
        return "; ".join(parts) or _("none excluded or required")
    return _(NOT_STATED)


def eligibility_lines(e: Eligibility, lang: str, gettext: Gettext) -> list[tuple[str, str]]:
    """Whom the service takes as (attribute, value) lines in the page's language, in the registry's order."""
    return [(_name(a, lang), _value(a, e, lang, gettext)) for a in ATTRIBUTES]


def area_text(area: ServiceArea, gettext: Gettext) -> str:
    """The counties a service works in (their names), or "national"."""
    if area.national:
        return gettext("national")
    counties = geo.counties()
    return ", ".join(counties[c].name if c in counties else c for c in area.counties) or gettext(NOT_STATED)


def county_name(code: str) -> str:
    county = geo.counties().get(code)
    return county.name if county else code
