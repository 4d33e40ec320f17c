"""The need-profile form: every missing choice named at once, wrong choices named, a round trip
through the form's values, and the relaxations offered when a choice excluded every service."""

from __future__ import annotations

import pytest

from referralnet.errors import PrivacyViolation
from referralnet.web import forms

FORM = {"age_band": ["25-39"], "gender": ["female"], "nationality_group": ["romanian"], "needs": ["residential_shelter", "legal_counselling"],
        "county": ["RO-IS"], "locality": ["Iași"], "accessibility": ["wheelchair"], "exploitation_forms": ["labour"]}  # fmt: skip


def test_missing_choices_are_all_named() -> None:
    with pytest.raises(forms.FormErrors) as info:
        forms.to_profile(forms.read({"county": ["RO-IS"]}))
    assert set(info.value.errors) == {"age_band", "gender", "nationality_group", "needs"}


def test_a_choice_outside_the_vocabulary_names_its_field() -> None:
    for field, bad in (("gender", "martian"), ("needs", "spa_weekend"), ("county", "RO-XX"), ("accessibility", "lift")):
        with pytest.raises(forms.FormErrors) as info:
            forms.to_profile(forms.read({**FORM, field: [bad]}))
        assert set(info.value.errors) == {field}, (field, info.value.errors)


def test_values_round_trip_and_relaxations() -> None:
    profile = forms.to_profile(forms.read(FORM))
    assert forms.to_profile(forms.from_profile(profile)) == profile
    relaxed = forms.relaxations(profile, {"accessibility": 3, "distance": 2})
    assert [(c, v["accessibility"], v["exploitation_forms"]) for c, _, v in relaxed] == [("accessibility", [], ["labour"])]
    assert forms.relaxations(profile, {"victim_status": 4}) == []  # not chosen, nothing to relax


def test_identifier_refusal_names_the_kind_not_the_text() -> None:
    errors = forms.field_errors(PrivacyViolation(field="profile.note", kind="phone number"))
    assert errors.kinds == {"note": "phone number"} and "%(kind)s" in errors.errors["note"]
    assert "locality" in forms.localities_of("RO-IS") or "Iași" in forms.localities_of("RO-IS")
    assert forms.localities_of("RO-XX") == []
