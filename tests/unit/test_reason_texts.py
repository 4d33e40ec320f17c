"""Every reason matching writes has a Romanian text on the pages (``web/reason_texts``), with its figures."""

from __future__ import annotations

import re
from typing import Any

import pytest

from referralnet.matching import reach, reasons
from referralnet.matching.eligibility import CAVEATS
from referralnet.matching.live import ProviderRecord
from referralnet.matching.schemas import MatchCandidate, Reason
from referralnet.web.reason_texts import in_romanian


def candidate(**kw: Any) -> MatchCandidate:
    values: dict[str, Any] = {
        "service_id": 1, "organisation_id": 1, "organisation_name": "Asociația Alfa", "service_type": "residential_shelter",
        "service_name": "Casa", "priority": "required", "score": 50.0, "distance_km": 12.5, "site_county": "RO-IS",
        "available": 3, "total": 10, "capacity_unit": "beds", "capacity_updated_at": None, "capacity_stale": False, "reasons": [],
    }  # fmt: skip
    return MatchCandidate(**{**values, **kw})


# Each reason as matching makes it, with the candidate it belongs to and what the Romanian text must say.
CASES: list[tuple[Reason, MatchCandidate, str]] = [
    (reasons._covers("required", "residential_shelter"), candidate(), "acoperă nevoia obligatorie: "),
    (reasons._covers("desired", "psychological_counselling"), candidate(priority="desired", service_type="psychological_counselling"), "acoperă nevoia dorită: "),
    (reasons._distance_reason(12.5, "RO-IS", None), candidate(), "cel mai apropiat sediu la 12,5 km, în RO-IS"),
    (reasons._distance_reason(80.0, "RO-IS", 50.0), candidate(), "cel mai apropiat sediu la 80,0 km, în RO-IS, peste 50 km"),
    (reasons._NATIONAL, candidate(), "lucrează la nivel național"),
    (reasons._in_area("RO-IS"), candidate(), "lucrează în județul persoanei (RO-IS)"),
    (reasons._free("beds", 3), candidate(), "3 paturi libere"),
    (reasons._free("beds", 1), candidate(), "1 pat liber"),
    (reasons._free("places", 0), candidate(capacity_unit="places"), "niciun loc liber raportat"),
    (reasons._free("sessions_per_week", 2), candidate(capacity_unit="sessions_per_week"), "2 ședințe disponibile"),
    (reasons._free("cases_per_month", 1), candidate(capacity_unit="cases_per_month"), "1 caz disponibil"),
    (reasons._dated(True, 0, 0.2), candidate(), "capacitate actualizată azi"),
    (reasons._dated(True, 1, 1.0), candidate(), "capacitate actualizată acum 1 zi"),
    (reasons._dated(True, 4, 4.2), candidate(), "capacitate actualizată acum 4 zile"),
    (reasons._dated(False, 12, 12.0), candidate(), "cifra capacității are 12 zile"),
    (reasons._NOT_REPORTED, candidate(), "capacitate neraportată"),
    (reasons._speaks(("ro", "uk"), 0b11111111111), candidate(), "vorbește "),
    (reasons._INTERPRETATION, candidate(), "interpretare disponibilă"),
    (reasons._CONFIDENTIAL, candidate(), "are un sediu confidențial"),
    (reasons._record_reasons(ProviderRecord(offers=4, accepted=2))[0], candidate(), "a acceptat 2 din 4 oferte de trimitere"),
    (reasons._record_reasons(ProviderRecord(offers=12, accepted=4, expired=5))[0], candidate(), ", 5 lăsate fără răspuns până la termen"),
    (reasons._record_reasons(ProviderRecord(offers=4, accepted=2, median_response_minutes=57))[1], candidate(), "în 57 min"),
    (reasons._record_reasons(ProviderRecord(offers=4, accepted=2, median_response_minutes=150))[1], candidate(), "în 2,5 ore"),
    (reasons._record_reasons(ProviderRecord(offers=4, accepted=2, median_response_minutes=4000))[1], candidate(), "în 2,8 zile"),
    (reach.NO_CONTACT, candidate(), "coordonatorii rețelei pot ajuta"),
    *((reasons._not_stated(bit), candidate(), "furnizorul nu a precizat") for bit in range(len(CAVEATS))),
]


@pytest.mark.parametrize(("reason", "of", "expected"), CASES, ids=lambda v: getattr(v, "text", None) if isinstance(v, Reason) else "")
def test_every_reason_matching_writes_reads_in_romanian(reason: Reason, of: MatchCandidate, expected: str) -> None:
    text = in_romanian(reason, of)
    assert text is not None and expected in text, (reason.text, text)
    english = re.compile(r"\b(free|accepted|offers|nearest|works|capacity|speaks|covers|answer|days|not stated)\b")
    assert not english.search(text), text


def test_the_codes_matching_uses_are_all_covered() -> None:
    """A reason code added to matching without a Romanian text fails here (the cases above name each code)."""
    source = "".join(open(m.__file__, encoding="utf-8").read() for m in (reasons, reach))  # noqa: SIM115
    codes = set(re.findall(r'code="([a-z_]+)"', source))
    assert codes == {case[0].code for case in CASES}, codes ^ {case[0].code for case in CASES}


def test_an_unknown_wording_is_left_to_the_english_text() -> None:
    assert in_romanian(Reason(code="answer_record", kind="fit", text="something else"), candidate()) is None
    assert in_romanian(Reason(code="new_code", kind="fit", text="new"), candidate()) is None
