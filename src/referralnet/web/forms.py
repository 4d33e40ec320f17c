"""The need-profile form: choices from the vocabulary, and the posted form turned into a :class:`Profile`.

Pure: no I/O. Errors come back per form field (the field's name in the page), each a catalogue text, so
the page shows them beside their field in its language; the entered values are never echoed in them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from referralnet.errors import InvalidInput, PrivacyViolation
from referralnet.matching.profile import Profile
from referralnet.texts import N_
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import (
    ACCESSIBILITY,
    AGE_BANDS,
    EXPLOITATION_FORMS,
    GENDERS,
    NATIONALITY_GROUPS,
    SERVICE_GROUPS,
    URGENCIES,
    VICTIM_STATUSES,
)

Label = tuple[str, str]  # (English, Romanian)
SECURITY_RISKS: dict[str, Label] = {"low": ("Low", "Scăzut"), "medium": ("Medium", "Mediu"), "high": ("High", "Ridicat")}
AGE_LABELS: dict[str, Label] = {
    **{band: (f"{band} years", f"{band} ani") for band in AGE_BANDS},
    "65+": ("65 years or more", "65 de ani sau mai mult"),
    "unknown": ("Unknown (treated as a minor)", "Necunoscută (tratată ca minor)"),
}
SINGLE = ("age_band", "gender", "nationality_group", "victim_status", "security_risk", "urgency", "county", "locality", "max_distance_km", "note")
# ``desired``: of the needs ticked, those the referral may go ahead without.
MULTIPLE = ("needs", "desired", "exploitation_forms", "accessibility")
# How far from the person a service may be, in km (none: any distance).
DISTANCES: dict[str, Label] = {km: (f"{km} km", f"{km} km") for km in ("25", "50", "100", "200", "300")}
REQUIRED = {
    "age_band": N_("choose the age band"),
    "gender": N_("choose the gender"),
    "nationality_group": N_("choose the nationality group"),
    "county": N_("choose the county where the person is now"),
}
# The identifier guard's kinds, for the pages' catalogue (a kind it adds later shows in English until translated).
IDENTIFIER_KINDS = (N_("phone number"), N_("e-mail address"), N_("identity card number"), N_("CNP"), N_("IBAN"), N_("person's name"),
                    N_("date of birth"), N_("street address"))
CHOOSE_ONE = N_("choose one of the listed options")
# The Profile's field paths (as the services name them) to the form's fields.
PATHS = {"profile.location.locality": "locality", "profile.location.county": "county", "profile.location": "county"}


def choices() -> dict[str, Any]:
    """What the form offers, each with its English and Romanian label."""
    counties = sorted(geo.counties().values(), key=lambda c: c.name)
    return {
        "age_band": AGE_LABELS,
        "gender": GENDERS,
        "nationality_group": NATIONALITY_GROUPS,
        "victim_status": VICTIM_STATUSES,
        "security_risk": SECURITY_RISKS,
        "urgency": URGENCIES,
        "county": {c.code: (c.name, c.name) for c in counties},
        "exploitation_forms": EXPLOITATION_FORMS,
        "accessibility": ACCESSIBILITY,
        "max_distance_km": DISTANCES,
        "need_groups": [(group, (en, ro), {code: (ten, tro) for code, ten, tro in items}) for group, (en, ro, items) in SERVICE_GROUPS.items()],
    }


def localities_of(county: str) -> list[str]:
    """The names of a county's localities, for type-ahead (empty for an unknown county)."""
    if county not in geo.counties():
        return []
    return sorted({loc.name for loc in geo.localities() if loc.county == county})


def read(form: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The posted values as the form holds them (to show them again): one string or a list per field."""
    values: dict[str, Any] = {name: (form.get(name) or [""])[0].strip() for name in SINGLE}
    values.update({name: [v for v in form.get(name, []) if v] for name in MULTIPLE})
    return values


class FieldsRefused(InvalidInput):
    """Every refused field of a form at once (``fields``: name -> the page's message), the first as ``field``."""

    def __init__(self, fields: dict[str, str]) -> None:
        first = next(iter(fields))
        super().__init__(fields[first], field=first)
        self.fields = fields


def refused_fields(values: Mapping[str, Any], each: type[Any], messages: Mapping[str, str], default: str) -> FieldsRefused:
    """The fields of ``values`` that ``each`` (a Struct whose every field is optional) refuses one by one, with their
    messages: msgspec stops at the first, and a person would have to send the form once per mistake."""
    fields: dict[str, str] = {}
    for name, value in values.items():
        try:
            msgspec.convert({name: value}, each)
        except msgspec.ValidationError:
            fields[name] = messages.get(name, default)
    return FieldsRefused(fields or {"name": default})


class FormErrors(Exception):
    """Errors by form field; nothing was written."""

    def __init__(self, errors: dict[str, str], kinds: dict[str, str] | None = None) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors
        self.kinds = kinds or {}


def to_profile(values: Mapping[str, Any]) -> Profile:
    """A Profile from the form's values, or :class:`FormErrors` naming every missing or wrong choice."""
    errors = {name: message for name, message in REQUIRED.items() if not values.get(name)}
    desired = set(values.get("desired", []))  # marks a ticked need only: an unticked need is not needed
    chosen = list(dict.fromkeys(values.get("needs", [])))
    if not chosen:
        errors["needs"] = N_("choose at least one service the person needs")
    if values.get("max_distance_km") and values["max_distance_km"] not in DISTANCES:
        errors["max_distance_km"] = CHOOSE_ONE
    if errors:
        raise FormErrors(errors)
    data: dict[str, Any] = {
        "age_band": values["age_band"], "gender": values["gender"], "nationality_group": values["nationality_group"],
        "needs": [{"service_type": code, "priority": "desired" if code in desired else "required"} for code in chosen],
        "location": {"county": values["county"], **({"locality": values["locality"]} if values.get("locality") else {})},
        "exploitation_forms": list(values.get("exploitation_forms", [])), "accessibility": list(values.get("accessibility", [])),
        "note": values.get("note", ""),
    }  # fmt: skip
    for name in ("victim_status", "security_risk", "urgency"):
        if values.get(name):
            data[name] = values[name]
    if values.get("max_distance_km"):
        data["max_distance_km"] = int(values["max_distance_km"])
    try:
        return msgspec.convert(data, Profile)
    except msgspec.ValidationError as exc:
        raise FormErrors({_field_of_msgspec(str(exc)): CHOOSE_ONE}) from None


def _field_of_msgspec(message: str) -> str:
    """The form field a msgspec error is about (``... - at `$.needs[0].service_type` `` is ``needs``)."""
    path = message.rpartition("at `$.")[2].rstrip("`")
    head = path.split(".")[0].split("[")[0]
    return {"location": "county"}.get(head, head) if head in SINGLE + MULTIPLE + ("location",) else "form"


def field_errors(exc: InvalidInput) -> FormErrors:
    """A service's refusal of the profile (identifier guard, unknown locality, repeated need) per form field."""
    field = exc.field or "form"
    name = PATHS.get(field, field.removeprefix("profile.").split(".")[0].split("[")[0])
    if isinstance(exc, PrivacyViolation):
        # The refused text is not sent back into the page (nor its cache): the field comes back empty.
        refused = N_("this text seems to hold personal data (%(kind)s): remove personal identifiers; the text was not kept")
        return FormErrors({name: refused}, {name: exc.kind})
    if name == "locality" and exc.detail.startswith("unknown locality in "):
        # The hints are the directory's own names, the same in both languages (``%(kind)s`` carries them).
        _, _, hints = exc.detail.partition("; did you mean: ")
        if hints:
            return FormErrors({name: N_("this county has no locality of that name; did you mean: %(kind)s")}, {name: hints})
        return FormErrors({name: N_("this county has no locality of that name")})
    return FormErrors({name: exc.detail})


def from_profile(profile: Profile) -> dict[str, Any]:
    """The form's values for a profile (to post it again, e.g. relaxed)."""
    return {
        "age_band": profile.age_band, "gender": profile.gender, "nationality_group": profile.nationality_group,
        "victim_status": profile.victim_status or "", "security_risk": profile.security_risk, "urgency": profile.urgency,
        "county": profile.location.county, "locality": profile.location.locality or "", "note": profile.note,
        "needs": [n.service_type for n in profile.needs], "desired": [n.service_type for n in profile.needs if n.priority == "desired"],
        "max_distance_km": f"{profile.max_distance_km:g}" if profile.max_distance_km else "",
        "exploitation_forms": list(profile.exploitation_forms), "accessibility": list(profile.accessibility),
    }  # fmt: skip


# A constraint that removed services, the form field whose choice set it, and what searching again without it means.
RELAXABLE: dict[str, tuple[str, str]] = {
    "accessibility": ("accessibility", N_("Search again without the accessibility needs")),
    "exploitation_form": ("exploitation_forms", N_("Search again without the forms of exploitation")),
    "victim_status": ("victim_status", N_("Search again without the person's status")),
    "distance": ("max_distance_km", N_("Search again at any distance")),
}


def relaxations(profile: Profile, by_constraint: Mapping[str, int]) -> list[tuple[str, str, dict[str, Any]]]:
    """For each choice of the form that excluded services: (constraint, button text, the form's values without it)."""
    values = from_profile(profile)
    out = []
    for constraint, (field, text) in RELAXABLE.items():
        if by_constraint.get(constraint) and values.get(field):
            out.append((constraint, text, {**values, field: [] if isinstance(values[field], list) else ""}))
    return out
