"""A referral's anonymised summary, and why nothing fits a profile, in Romanian, for the pages.

The summary is written once, in English, when the referral is made (``referrals.creation.summarise``: codes and
counts only) and travels in messages and the API. The pages read it back part by part and write each part with the
vocabulary's Romanian labels; a summary with a part not known here is shown as it is, never half translated.
"""

from __future__ import annotations

import re

from referralnet.matching.explain import CONSTRAINT_TEXT, CONSTRAINT_TEXT_RO
from referralnet.vocabulary.codes import EXPLOITATION_FORMS, GENDERS, NATIONALITY_GROUPS, SERVICE_TYPES
from referralnet.vocabulary.geo import counties

RISKS = {"medium": "mediu", "high": "ridicat"}
_NEEDS = {en.lower(): ro.lower() for _, en, ro in SERVICE_TYPES.values()}
_NEED = re.compile(r"(?P<label>.+?) \((?P<priority>required|desired)\)(?:, |$)")
_PERSON = re.compile(r"^age (?P<age>unknown \(treated as a minor\)|\S+), (?P<gender>\w+), (?P<nationality>.+)$")
_CHILDREN = re.compile(r"^(?P<n>\d+) accompanying child\(ren\)$")


def county_name(code: str) -> str:
    """A county's name from its ISO code ("RO-HR" -> "Harghita"), or the code when it is not one."""
    county = counties().get(code)
    return county.name if county else code


def in_english(summary: str) -> str:
    """``summary`` as written, but the county named rather than coded ("from Harghita")."""
    return "; ".join("from " + county_name(p.removeprefix("from ")) if p.startswith("from RO-") else p for p in summary.split("; "))


def in_romanian(summary: str) -> str:
    """``summary`` in Romanian, or as it is when one of its parts is not one :func:`summarise` writes."""
    out = []
    for part in summary.split("; "):
        said = _part(part)
        if said is None:
            return summary
        out.append(said)
    return "; ".join(out)


def _part(part: str) -> str | None:
    if person := _PERSON.match(part):
        age = person["age"]
        gender, nationality = GENDERS.get(person["gender"]), NATIONALITY_GROUPS.get(person["nationality"].replace(" ", "_"))
        if gender is None or nationality is None:
            return None
        said_age = "vârstă necunoscută (tratată ca minor)" if age.startswith("unknown") else f"vârsta {age}"
        return f"{said_age}, {gender[1].lower()}, {nationality[1][:1].lower()}{nationality[1][1:]}"
    if part.startswith("exploitation: "):
        forms = [EXPLOITATION_FORMS.get(f.replace(" ", "_")) for f in part.removeprefix("exploitation: ").split(", ")]
        return "exploatare: " + ", ".join(f[1].lower() for f in forms if f) if all(forms) else None
    if part.startswith("needs: "):
        text, needs = part.removeprefix("needs: "), []
        for need in _NEED.finditer(text):
            label = _NEEDS.get(need["label"])
            if label is None:
                return None
            needs.append(f"{label} ({'obligatorie' if need['priority'] == 'required' else 'dorită'})")
        return "nevoi: " + ", ".join(needs) if needs and sum(len(m[0]) for m in _NEED.finditer(text)) == len(text) else None
    if children := _CHILDREN.match(part):
        n = int(children["n"])
        return "1 copil însoțitor" if n == 1 else f"{n} copii însoțitori"
    if part.startswith("from RO-"):
        return "din " + county_name(part.removeprefix("from "))
    if part.startswith("security risk ") and (risk := RISKS.get(part.removeprefix("security risk "))):
        return f"risc de securitate {risk}"
    return None


# ---- why nothing fits (``matching.explain``'s messages) ----------------------------------------------------------

WHO = {"boys": "băieți", "girls": "fete", "minors": "minori", "adult men": "bărbați adulți", "adult women": "femei adulte",
       "adults": "adulți"}  # fmt: skip
NO_COMBINATION = "no combination of up to 3 organisations covers all required needs"
_EXCLUDED_BY = {en: code for code, en in CONSTRAINT_TEXT.items()}
_NOTHING = re.compile(r"^no (?P<name>.+?) (?:in the directory$|for (?P<who>boys|girls|minors|adult men|adult women|adults)(?P<rest>.*)$)")
_BY = re.compile(r"^: (?P<n>\d+) of (?P<total>\d+) excluded by (?P<by>.+)$")
_WITHIN = re.compile(r"^ within (?P<km>\S+) km(?:; nearest: (?P<where>.+) at (?P<at>\d+) km)?$")


def explanation_in_romanian(message: str) -> str:
    """One of ``matching.explain``'s messages (why nothing fits) in Romanian, or as it is when not one it writes."""
    if message == NO_COMBINATION:
        return "nicio combinație de cel mult 3 organizații nu acoperă toate nevoile obligatorii"
    nothing = _NOTHING.match(message)
    name = _NEEDS.get(nothing["name"]) if nothing else None
    if nothing is None or name is None:
        return message
    if nothing["who"] is None:
        return f"niciun serviciu „{name}” în director"
    who, rest = WHO[nothing["who"]], nothing["rest"]
    if (by := _BY.match(rest)) and by["by"] in _EXCLUDED_BY:
        return f"niciun serviciu „{name}” pentru {who}: {by['n']} din {by['total']} excluse din cauza: {CONSTRAINT_TEXT_RO[_EXCLUDED_BY[by['by']]]}"
    if within := _WITHIN.match(rest):
        said = f"niciun serviciu „{name}” pentru {who} pe o rază de {within['km']} km"
        return f"{said}; cel mai apropiat: {within['where']}, la {within['at']} km" if within["where"] else said
    return message
