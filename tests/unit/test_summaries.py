"""A referral's summary reads in Romanian on the pages, for any profile (``web/summaries``)."""

from __future__ import annotations

import re
from typing import Any, get_args

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from referralnet.matching.profile import Profile
from referralnet.referrals.creation import summarise
from referralnet.vocabulary.codes import COUNTY_CODES, EXPLOITATION_FORMS, GENDERS, NATIONALITY_GROUPS, SERVICE_TYPES, AgeBand
from referralnet.vocabulary.geo import counties
from referralnet.web.summaries import NO_COMBINATION, explanation_in_romanian, in_english, in_romanian

ENGLISH = re.compile(r"\b(age|unknown|female|male|exploitation|needs|required|desired|accompanying|from|security|risk)\b")

profiles = st.builds(
    lambda age, gender, nationality, forms, needs, children, county, risk: msgspec.convert(
        {
            "age_band": age, "gender": gender, "nationality_group": nationality, "exploitation_forms": forms,
            "needs": [{"service_type": t, "priority": p} for t, p in needs], "children": [{"age_band": "0-5"}] * children,
            "location": {"county": county}, "security_risk": risk,
        },
        Profile,
    ),  # fmt: skip
    st.sampled_from(get_args(AgeBand)),
    st.sampled_from(list(GENDERS)),
    st.sampled_from(list(NATIONALITY_GROUPS)),
    st.lists(st.sampled_from(list(EXPLOITATION_FORMS)), unique=True, max_size=3),
    st.lists(st.tuples(st.sampled_from(list(SERVICE_TYPES)), st.sampled_from(["required", "desired"])), min_size=1, max_size=4,
             unique_by=lambda n: n[0]),  # fmt: skip
    st.integers(0, 3),
    st.sampled_from(COUNTY_CODES),
    st.sampled_from(["low", "medium", "high"]),
)


@given(profiles)
def test_every_summary_reads_in_romanian(profile: Profile) -> None:
    english = summarise(profile)
    romanian = in_romanian(english)
    assert not ENGLISH.search(romanian), (english, romanian)
    assert romanian.count("; ") == english.count("; ")  # every part, none dropped
    assert f"din {counties()[profile.location.county].name}" in romanian
    for need in profile.needs:
        assert SERVICE_TYPES[need.service_type][2].lower() in romanian


def test_an_example_and_an_unknown_part() -> None:
    profile = msgspec.convert(
        {"age_band": "25-39", "gender": "female", "nationality_group": "eu_eea", "exploitation_forms": ["sexual"],
         "needs": [{"service_type": "residential_shelter", "priority": "required"}], "location": {"county": "RO-IS"},
         "children": [{"age_band": "0-5"}], "security_risk": "high"},
        Profile,
    )  # fmt: skip
    assert in_romanian(summarise(profile)) == (
        "vârsta 25-39, feminin, cetățean UE/SEE; exploatare: exploatare sexuală; nevoi: centru rezidențial / adăpost (obligatorie); "
        "1 copil însoțitor; din Iași; risc de securitate ridicat"
    )
    assert in_english(summarise(profile)).endswith("; 1 accompanying child(ren); from Iași; security risk high")
    assert in_romanian("age 25-39, female, romanian; something new") == "age 25-39, female, romanian; something new"


def _selection(minor: bool, gender: str, considered: int = 5, max_km: float | None = 50.0) -> Any:
    from types import SimpleNamespace

    profile = SimpleNamespace(is_minor=minor, gender=gender)
    return SimpleNamespace(profile=profile, considered=dict.fromkeys(SERVICE_TYPES, considered), query=SimpleNamespace(max_km=max_km),
                           beyond={})  # fmt: skip


@pytest.mark.parametrize("service_type", sorted(SERVICE_TYPES))
def test_why_nothing_fits_reads_in_romanian(service_type: str) -> None:
    """Every message ``matching.explain`` writes, for every need, person and constraint."""
    from referralnet.matching.explain import CONSTRAINT_TEXT, nothing_fits

    for minor, gender in [(m, g) for m in (True, False) for g in GENDERS]:
        s = _selection(minor, gender)
        messages = [nothing_fits(s, service_type, {code: 2}) for code in CONSTRAINT_TEXT]
        messages += [nothing_fits(_selection(minor, gender, considered=0), service_type, {})]
        for message in messages:
            romanian = explanation_in_romanian(message)
            assert romanian != message and SERVICE_TYPES[service_type][2].lower() in romanian, message
            assert not re.search(r"\b(no|for|excluded|by|within|directory|of)\b", romanian), (message, romanian)
    near = f"no {SERVICE_TYPES[service_type][1].lower()} for adult women within 50 km; nearest: Asociația Alfa (Casa) at 73 km"
    assert explanation_in_romanian(near).endswith("; cel mai apropiat: Asociația Alfa (Casa), la 73 km")
    assert explanation_in_romanian(NO_COMBINATION).startswith("nicio combinație")
    assert explanation_in_romanian("something else") == "something else"
