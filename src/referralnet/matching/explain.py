"""Explanations: what each hard filter is called, which unstated rules are caveats, and why nothing fits.

Pure: no I/O. Scores are in ``scoring``, a shown candidate's reasons in ``reasons``.
"""

from __future__ import annotations

from referralnet.matching.eligibility import ATTRIBUTES, CAVEATS
from referralnet.matching.geodesy import geodesic_km, shown_km
from referralnet.matching.schemas import Excluded
from referralnet.matching.selection import Selection
from referralnet.vocabulary.codes import SERVICE_TYPES

# Hard-filter codes, in the order they are checked: the eligibility attributes come from the registry.
_BEFORE = {"inactive": "being inactive"}
_AFTER = {
    "avoided_county": "a site in an avoided county",
    "security": "having no confidential site",
    "distance": "distance",
    "full": "having no free places",
}
CONSTRAINT_TEXT: dict[str, str] = {**_BEFORE, **{a.code: a.excluded_by for a in ATTRIBUTES}, **_AFTER}
CONSTRAINT_TEXT_RO: dict[str, str] = {
    "inactive": "faptul că sunt inactive",
    **{a.code: a.excluded_by_ro for a in ATTRIBUTES},
    "avoided_county": "un sediu într-un județ evitat",
    "security": "lipsa unui sediu confidențial",
    "distance": "distanța",
    "full": "lipsa locurilor libere",
}
CONSTRAINTS: tuple[str, ...] = tuple(CONSTRAINT_TEXT)
_ORDER = {code: i for i, code in enumerate(CONSTRAINTS)}
# Eligibility attributes whose absence is a caveat, in the bit order of Selection.not_stated.
NOT_STATED: tuple[tuple[str, str], ...] = tuple((a.attribute, a.caveat or "") for a in CAVEATS)


def constraint_text(code: str, lang: str = "en") -> str:
    """What a constraint code excluded by, in ``lang`` (en or ro), for ``excluded.by_constraint`` shown to a person."""
    return (CONSTRAINT_TEXT_RO if lang == "ro" else CONSTRAINT_TEXT).get(code, code)


def label(service_type: str) -> str:
    return SERVICE_TYPES[service_type][1] if service_type in SERVICE_TYPES else service_type


def _who(s: Selection) -> str:
    minor, gender = s.profile.is_minor, s.profile.gender
    if minor:
        return {"male": "boys", "female": "girls"}.get(gender, "minors")
    return {"male": "adult men", "female": "adult women"}.get(gender, "adults")


def nothing_fits(s: Selection, service_type: str, counts: dict[str, int]) -> str:
    """Why a required need has no candidate, from the constraint that removed the most."""
    name, total = label(service_type).lower(), s.considered.get(service_type, 0)
    if total == 0 or not counts:
        return f"no {name} in the directory"
    dominant = max(counts, key=lambda code: counts[code])
    if dominant != "distance":
        return f"no {name} for {_who(s)}: {counts[dominant]} of {total} excluded by {CONSTRAINT_TEXT[dominant]}"
    text = f"no {name} for {_who(s)} within {s.query.max_km:g} km"
    if service_type in s.beyond:
        row, site = s.beyond[service_type]
        c = s.directory.listing(row)
        km = shown_km(geodesic_km(s.query.origin, s.directory.site_coordinates(site)), bool(s.directory.site_confidential[site]))
        text += f"; nearest: {c.organisation_name} ({c.service_name}) at {km:.0f} km"
    return text


def excluded(s: Selection, full: list[int], kept: list[int], bundled: bool) -> Excluded:
    by_need: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    for k, (service_type, _) in enumerate(s.needs):
        counts = {**s.excluded[service_type], "full": full[k]}
        # In CONSTRAINTS order: a match excludes by a few of them, sorted, rather than every constraint looked up.
        codes = sorted((code for code, n in counts.items() if n and code in _ORDER), key=_ORDER.__getitem__)
        by_need[service_type] = {code: counts[code] for code in codes}
        for code, n in by_need[service_type].items():
            totals[code] = totals.get(code, 0) + n
    by_constraint = {code: totals[code] for code in sorted(totals, key=_ORDER.__getitem__)}
    required = [t for t, p in s.needs if p == "required"]
    unmet = [t for k, (t, p) in enumerate(s.needs) if p == "required" and kept[k] == 0]
    messages = [nothing_fits(s, t, by_need[t]) for t in unmet]
    if required and not unmet and not bundled:
        messages.append("no combination of up to 3 organisations covers all required needs")
    return Excluded(
        by_constraint=by_constraint,
        by_need=by_need,
        messages=messages,
        unmet=unmet,
    )
