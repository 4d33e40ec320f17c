"""The eligibility registry drives every rule: the maximum stay, added as one row, filters a match,
becomes a caveat when not stated, explains an exclusion and narrows the coverage matrix."""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet.coverage.groups import make_groups
from referralnet.coverage.matrix import COUNTY_INDEX, ServiceRecord, ServiceTable, SiteRecord, compute
from referralnet.directory.schemas import Eligibility
from referralnet.matching import explain
from referralnet.matching.directory import Candidate, CandidateSite, Directory
from referralnet.matching.eligibility import ATTRIBUTES, CAVEATS
from referralnet.matching.engine import match
from referralnet.matching.live import Capacity
from referralnet.matching.profile import Location, Need, Profile

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
SHELTER = "residential_shelter"
IASI = (47.16, 27.59)
STATED: dict[str, Any] = {"age_min": 18, "genders": ["male", "female", "other"], "languages": ["ro"]}


def shelter(sid: int, **eligibility: Any) -> Candidate:
    return Candidate(
        service_id=sid, organisation_id=sid, organisation_name=f"Org {sid}", service_type=SHELTER,
        service_name=f"Shelter {sid}", eligibility=Eligibility(**{**STATED, **eligibility}),
        sites=(CandidateSite(site_id=sid, county="RO-IS", lat=IASI[0], lon=IASI[1]),), capacity_unit="beds",
    )  # fmt: skip


def person(**changes: Any) -> Profile:
    base: dict[str, Any] = {
        "age_band": "25-39", "gender": "male", "nationality_group": "romanian", "languages": ["ro"],
        "needs": [Need(service_type=SHELTER)], "location": Location(county="RO-IS"),
    }  # fmt: skip
    return Profile(**{**base, **changes})


def run(candidates: list[Candidate], profile: Profile) -> Any:
    free = {c.service_id: Capacity(available=2, total=5, updated_at=NOW) for c in candidates}
    return match(profile, Directory.build(candidates), IASI, free, {}, now=NOW, stale_after=dt.timedelta(days=7))


SHELTERS = [shelter(1, max_stay_days=90), shelter(2, max_stay_days=365), shelter(3)]


def test_a_stay_longer_than_the_service_allows_excludes_it() -> None:
    result = run(SHELTERS, person(expected_stay_days=180))
    assert sorted(c.service_id for c in result.candidates) == [2, 3]
    assert result.excluded.by_constraint == {"stay": 1}
    assert result.excluded.by_need == {SHELTER: {"stay": 1}}


def test_without_an_expected_stay_the_limit_is_not_asked() -> None:
    result = run(SHELTERS, person())
    assert sorted(c.service_id for c in result.candidates) == [1, 2, 3]
    assert all(r.attribute != "max_stay_days" for c in result.candidates for r in c.reasons)


def test_an_unstated_limit_is_a_caveat_and_costs_points() -> None:
    result = run(SHELTERS, person(expected_stay_days=180))
    caveats = {c.service_id: [r for r in c.reasons if r.attribute == "max_stay_days"] for c in result.candidates}
    assert caveats[2] == []
    assert [(r.code, r.kind, r.text) for r in caveats[3]] == [
        ("not_stated", "caveat", "the longest stay allowed not stated by the provider")
    ]
    scores = {c.service_id: c.score for c in result.candidates}
    assert scores[2] > scores[3]


def test_the_exclusion_is_explained_when_nothing_fits() -> None:
    result = run([shelter(1, max_stay_days=90)], person(expected_stay_days=180))
    assert result.candidates == []
    assert result.excluded.unmet == [SHELTER]
    assert result.excluded.messages == [
        "no residential shelter for adult men: 1 of 1 excluded by a maximum stay shorter than the stay needed"
    ]


def test_coverage_follows_the_same_row() -> None:
    services = [
        ServiceRecord(service_id=c.service_id, organisation_id=c.organisation_id, service_type=SHELTER,
                      eligibility=c.eligibility, capacity_total=5, capacity_available=2)
        for c in SHELTERS
    ]  # fmt: skip
    table = ServiceTable.build(services, [SiteRecord(service_id=c.service_id, county="RO-IS") for c in SHELTERS])
    groups = make_groups(age_group="adult", gender="male")

    def cell(**person: Any) -> tuple[int, int]:
        cube = compute(table, groups, types=[SHELTER], person=person)
        at = (COUNTY_INDEX["RO-IS"], 0, 0)
        return int(cube.services[at]), int(cube.services_stated[at])

    assert cell() == (3, 3)  # nothing asked: the unstated limit does not matter (all state age and gender)
    assert cell(expected_stay_days=60) == (3, 2)  # every stated limit reaches 60 days; 3 admits without a statement
    assert cell(expected_stay_days=180) == (2, 1)  # shelter 1 (90 days) drops out; only 2 says it admits
    assert cell(expected_stay_days=400) == (1, 0)  # only the shelter that states no limit is left


def test_every_row_is_a_filter_an_explanation_and_at_most_one_caveat() -> None:
    codes = [a.code for a in ATTRIBUTES]
    assert list(explain.CONSTRAINTS) == ["inactive", *codes, "avoided_county", "security", "distance", "full"]
    assert all(explain.CONSTRAINT_TEXT[c] for c in codes)
    assert [attribute for attribute, _ in explain.NOT_STATED] == [a.attribute for a in CAVEATS]
    assert len(set(codes)) == len(codes)


def test_every_attribute_explains_itself_in_romanian_and_english() -> None:
    """Each row carries its texts in both languages: an exclusion and, where it can be unstated, a caveat."""
    from referralnet.matching.eligibility import ATTRIBUTES, caveat_text
    from referralnet.matching.explain import CONSTRAINT_TEXT_RO, CONSTRAINTS, constraint_text

    for a in ATTRIBUTES:
        assert a.excluded_by and a.excluded_by_ro, a.code
        assert (a.caveat is None) == (a.caveat_ro is None), a.code
        if a.caveat is not None:
            assert caveat_text(a.attribute) == f"{a.caveat} not stated by the provider"
            assert caveat_text(a.attribute, "ro") == f"furnizorul nu a precizat {a.caveat_ro}"
    for code in CONSTRAINTS:  # every hard filter, eligibility or not, reads in both languages
        assert CONSTRAINT_TEXT_RO.get(code), code
    assert constraint_text("stay", "ro") == "o ședere maximă mai scurtă decât cea necesară"
