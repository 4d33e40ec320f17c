"""A match reason in Romanian, for the pages: matching writes its reasons in English (the API's texts); the page
rebuilds each from its code, its figure and the candidate it belongs to. A reason this module does not know is
shown as matching wrote it (``tests/unit/test_reason_texts.py`` fails on any reason matching makes that it misses).
"""

from __future__ import annotations

import re
from typing import Any

from referralnet.matching.eligibility import caveat_text
from referralnet.vocabulary.codes import LANGUAGES, SERVICE_TYPES

FIXED = {
    "national": "lucrează la nivel național",
    "confidential_site": "are un sediu confidențial",
    "capacity_not_reported": "capacitate neraportată",
    "interpretation": "interpretare disponibilă",
    "no_referral_contact": "niciun contact pentru trimiteri înregistrat; coordonatorii rețelei pot ajuta",
}
# Free capacity by unit: (one, several, none).
UNITS = {
    "places": ("loc liber", "locuri libere", "niciun loc liber raportat"),
    "beds": ("pat liber", "paturi libere", "niciun pat liber raportat"),
    "cases_per_month": ("caz disponibil luna aceasta", "cazuri disponibile luna aceasta", "niciun caz disponibil luna aceasta"),
    "sessions_per_week": ("ședință disponibilă săptămâna aceasta", "ședințe disponibile săptămâna aceasta",
                          "nicio ședință disponibilă săptămâna aceasta"),
}  # fmt: skip
_ENGLISH_LANGUAGE = {en: ro for en, ro in LANGUAGES.values()}
_BEYOND = re.compile(r", beyond (\S+) km$")
_COUNTY = re.compile(r"\((RO-[A-Z]+)\)$")
_RECORD = re.compile(r"^accepted (\d+) of (\d+) referral offers(?:, (\d+) left unanswered until the deadline)?$")


def in_romanian(reason: Any, candidate: Any) -> str | None:
    """``reason`` of ``candidate`` (a MatchCandidate) in Romanian, or None when its code or wording is not known here."""
    code, value, text = reason.code, reason.value, reason.text
    if code in FIXED:
        return FIXED[code]
    if code == "not_stated" and reason.attribute:
        return caveat_text(reason.attribute, "ro")
    if code == "covers_need" and candidate.service_type in SERVICE_TYPES:
        need = "obligatorie" if candidate.priority == "required" else "dorită"
        return f"acoperă nevoia {need}: {SERVICE_TYPES[candidate.service_type][2]}"
    if code == "distance" and value is not None:
        where = f"cel mai apropiat sediu la {_decimal(value)} km, în {candidate.site_county}"
        beyond = _BEYOND.search(text)
        return f"{where}, peste {beyond.group(1)} km" if beyond else where
    if code == "in_area" and (county := _COUNTY.search(text)):
        return f"lucrează în județul persoanei ({county.group(1)})"
    if code in ("free_capacity", "no_free_capacity") and value is not None:
        one, several, none = UNITS.get(candidate.capacity_unit or "places", UNITS["places"])
        return none if value == 0 else f"{int(value)} {one if value == 1 else several}"
    if code in ("capacity_fresh", "capacity_stale") and value is not None:
        days = int(value)
        if code == "capacity_stale":
            return f"cifra capacității are {days} zile"
        when = "azi" if days < 1 else "acum 1 zi" if days < 2 else f"acum {days} zile"
        return f"capacitate actualizată {when}"
    if code == "language_shared" and text.startswith("speaks "):
        names = [_ENGLISH_LANGUAGE.get(name) for name in text.removeprefix("speaks ").split(", ")]
        return f"vorbește {', '.join(n.lower() for n in names if n)}" if all(names) else None
    if code == "answer_record" and (record := _RECORD.match(text)):
        accepted, offers, expired = record.groups()
        said = f"a acceptat {accepted} din {offers} oferte de trimitere"
        return f"{said}, {expired} lăsate fără răspuns până la termen" if expired else said
    if code == "answer_time" and value is not None:
        return f"răspuns median la o ofertă de trimitere în {_duration(float(value))}"
    return None


def _decimal(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _duration(minutes: float) -> str:
    """As ``matching.reasons._duration``, in Romanian."""
    if minutes < 120:
        return f"{minutes:.0f} min"
    hours = round(minutes / 60, 1)
    return f"{hours:g} ore".replace(".", ",") if minutes < 48 * 60 else f"{round(minutes / 1440, 1):g} zile".replace(".", ",")
