"""The project's vocabulary as HSDS taxonomies and terms, with stable UUIDs and RO/EN names.

Every code list becomes one ``taxonomy``; each code one ``taxonomy_term`` per language (``en``
first, the one attributes point to, and ``ro``). Ids are UUIDv5 of stable keys, so two exports of
the same directory are byte-identical and a re-import finds the same terms.
"""

from __future__ import annotations

import uuid
from functools import cache
from typing import Any

from referralnet.vocabulary import codes
from referralnet.vocabulary.geo import counties

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:referralnet:hsds")
TAXONOMY_URI = "urn:referralnet:vocabulary:"
VERSION = "1"


def uid(*parts: object) -> str:
    """A stable UUID for an HSDS row from the parts of its natural key."""
    return str(uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts)))


# Eligibility and other rules that are not codes of a list: their attribute marks a field as stated.
RULES: dict[str, tuple[str, str]] = {
    "age_min": ("Minimum age stated", "Vârstă minimă declarată"),
    "age_max": ("Maximum age stated", "Vârstă maximă declarată"),
    "genders": ("Gender eligibility stated", "Eligibilitate după gen declarată"),
    "nationality_groups": ("Nationality eligibility stated", "Eligibilitate după cetățenie declarată"),
    "victim_statuses": ("Victim status eligibility stated", "Eligibilitate după statutul victimei declarată"),
    "exploitation_forms": ("Forms of exploitation stated", "Forme de exploatare declarate"),
    "accepts_children": ("Accepts accompanying children", "Primește copii însoțitori"),
    "languages": ("Languages stated", "Limbi declarate"),
    "interpretation_available": ("Interpretation available", "Interpretariat disponibil"),
    "accessibility": ("Accessibility stated", "Accesibilitate declarată"),
    "confidential_site": ("Confidential site: address and coordinates withheld", "Loc confidențial: adresă și coordonate nepublicate"),
    "organisation_inactive": ("Organisation inactive", "Organizație inactivă"),
    "fictional": ("Fictional (demo) record", "Înregistrare fictivă (demonstrație)"),
    "alias": ("Also known as", "Cunoscută și ca"),
    "national": ("Works nationally", "Acoperire națională"),
    "city_inferred": ("City inferred by the source, not stated", "Oraș dedus de sursă, nedeclarat"),
}

# taxonomy name -> (description EN, {code: (en, ro)})
def _lists() -> dict[str, tuple[str, dict[str, tuple[str, str]]]]:
    service_groups = {g: (en, ro) for g, (en, ro, _) in codes.SERVICE_GROUPS.items()}
    service_types = {code: (en, ro) for code, (_, en, ro) in codes.SERVICE_TYPES.items()}
    county_names = {c: (county.name, county.name) for c, county in counties().items()}
    return {
        "service_group": ("Groups of service types", service_groups),
        "service_type": ("Services for victims of trafficking (referralnet)", service_types),
        "exploitation_form": ("Forms of exploitation (Criminal Code art. 182, Directive 2011/36/EU)", codes.EXPLOITATION_FORMS),
        "gender": ("Genders a service takes", codes.GENDERS),
        "nationality_group": ("Nationality groups a service takes", codes.NATIONALITY_GROUPS),
        "victim_status": ("Victim statuses a service takes", codes.VICTIM_STATUSES),
        "language": ("Languages (ISO 639-1; Romani ISO 639-2 rom)", codes.LANGUAGES),
        "accessibility": ("Accessibility a service offers", codes.ACCESSIBILITY),
        "condition": ("Conditions a service excludes or requires", codes.CONDITION_FLAGS),
        "capacity_unit": ("Units of capacity", codes.CAPACITY_UNITS),
        "county": ("Counties of Romania (ISO 3166-2:RO)", county_names),
        "network": ("Networks of organisations", codes.NETWORKS),
        "legal_form": ("Legal forms of organisations", codes.LEGAL_FORMS),
        "institution_type": ("Referring institutions (they refer people and offer no services)", codes.INSTITUTION_TYPES),
        "rule": ("Rules and flags of referralnet records", RULES),
    }


LANGS = ("en", "ro")


@cache
def taxonomy_id(name: str) -> str:
    return uid("taxonomy", name)


@cache
def term_id(taxonomy: str, code: str, lang: str = "en") -> str:
    return uid("term", taxonomy, code, lang)


@cache
def taxonomy_rows() -> list[dict[str, Any]]:
    return [
        {"id": taxonomy_id(name), "name": f"referralnet {name}", "description": desc, "uri": f"{TAXONOMY_URI}{name}", "version": VERSION}
        for name, (desc, _) in _lists().items()
    ]


@cache
def term_rows() -> list[dict[str, Any]]:
    """Every term in both languages; service types have their group as parent."""
    out: list[dict[str, Any]] = []
    for name, (_, items) in _lists().items():
        for code, labels in items.items():
            for lang, label in zip(LANGS, labels):
                parent = None
                if name == "service_type":
                    parent = term_id("service_group", codes.SERVICE_TYPES[code][0], lang)
                out.append(
                    {
                        "id": term_id(name, code, lang),
                        # HSDS wants codes unique across the table: the English term carries it, qualified.
                        "code": f"{name}.{code}" if lang == "en" else None,
                        "name": label,
                        "description": labels[0] if lang == "ro" else label,
                        "parent_id": parent,
                        "taxonomy": f"referralnet {name}",
                        "language": lang,
                        "taxonomy_id": taxonomy_id(name),
                        "term_uri": f"{TAXONOMY_URI}{name}:{code}",
                    }
                )
    return out


@cache
def terms_by_id() -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in term_rows()}


@cache
def term_key() -> dict[str, tuple[str, str]]:
    """Term id (either language) -> (taxonomy, code)."""
    names = {taxonomy_id(n): n for n in _lists()}
    return {t["id"]: (names[t["taxonomy_id"]], t["term_uri"].rsplit(":", 1)[1]) for t in term_rows()}


def codes_of(taxonomy: str) -> dict[str, tuple[str, str]]:
    return _lists()[taxonomy][1]


def taxonomy_detail(taxonomy: str) -> dict[str, Any]:
    return next(t for t in taxonomy_rows() if t["id"] == taxonomy_id(taxonomy))
