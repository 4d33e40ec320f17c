"""The matching engine on hand-built directories: each hard filter, ranking, reasons, bundles,
the "nothing fits" explanation, and a property test against a slow reference implementation."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import re
from typing import Any

import msgspec
import pytest
from geopy.distance import geodesic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referralnet.directory.schemas import Eligibility
from referralnet.matching.directory import Candidate, CandidateSite, Directory
from referralnet.matching.engine import match, select
from referralnet.matching.filters import EARTH_RADIUS_KM
from referralnet.matching.live import Capacity, ProviderRecord
from referralnet.matching.profile import Child, Location, Need, Profile
from referralnet.matching.schemas import MatchCandidate, MatchResult, Reason
from referralnet.vocabulary.codes import ACCESSIBILITY, CAPACITY_BOUND_TYPES, EXPLOITATION_FORMS, NATIONALITY_GROUPS

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
STALE_AFTER = dt.timedelta(days=7)
SHELTER, LEGAL, PSYCH = "emergency_accommodation", "legal_counselling", "psychological_counselling"
TOWNS = {
    "Iași": ("RO-IS", 47.16, 27.59),
    "Pașcani": ("RO-IS", 47.25, 26.72),
    "Vaslui": ("RO-VS", 46.64, 27.73),
    "Suceava": ("RO-SV", 47.65, 26.26),
    "Cluj-Napoca": ("RO-CJ", 46.77, 23.59),
    "București": ("RO-B", 44.43, 26.10),
    "Bacău": ("RO-BC", 46.57, 26.91),
}
PASCANI = TOWNS["Pașcani"][1:]
ORGS = {
    1: "Asociația Nord",
    2: "Fundația Femina",
    3: "Asociația Moldova",
    4: "Centrul Transilvania",
    5: "Fundația Capitala",
    6: "Asociația Închisă",
    7: "Asociația Bacău",
}
# Fully stated eligibility of an adults' service, so a test sees only the caveats it adds.
OPEN: dict[str, Any] = {
    "age_min": 18,
    "genders": ["female", "male", "other"],
    "nationality_groups": list(NATIONALITY_GROUPS),
    "victim_statuses": ["potential", "presumed", "identified"],
    "exploitation_forms": list(EXPLOITATION_FORMS),
    "accepts_children": True,
    "languages": ["ro"],
    "accessibility": list(ACCESSIBILITY),
}
FREE = Capacity(available=3, total=10, updated_at=NOW - dt.timedelta(days=1))
_site_ids = itertools.count(1)


def sites(*towns: str, confidential: bool = False) -> tuple[CandidateSite, ...]:
    return tuple(
        CandidateSite(site_id=next(_site_ids), county=TOWNS[t][0], lat=TOWNS[t][1], lon=TOWNS[t][2], confidential=confidential)
        for t in towns
    )


def service(
    sid: int,
    org: int,
    *towns: str,
    kind: str = SHELTER,
    confidential: bool = False,
    extra_sites: tuple[CandidateSite, ...] = (),
    active: bool = True,
    org_active: bool = True,
    national: bool = False,
    counties: tuple[str, ...] = (),
    **eligibility: Any,
) -> Candidate:
    return Candidate(
        service_id=sid,
        organisation_id=org,
        organisation_name=ORGS[org],
        service_type=kind,
        service_name=f"Service {sid}",
        active=active,
        organisation_active=org_active,
        eligibility=Eligibility(**{**OPEN, **eligibility}),
        area_national=national,
        area_counties=counties,
        sites=sites(*towns, confidential=confidential) + extra_sites,
        capacity_unit="beds" if kind in CAPACITY_BOUND_TYPES else None,
    )


def person(**changes: Any) -> Profile:
    needs = [n if isinstance(n, Need) else Need(service_type=n) for n in changes.pop("needs", [SHELTER])]
    base: dict[str, Any] = {
        "age_band": "25-39",
        "gender": "male",
        "nationality_group": "romanian",
        "needs": needs,
        "location": Location(county="RO-IS", locality="Pașcani"),
        "max_distance_km": 150.0,
        "languages": ["ro"],
    }
    return Profile(**{**base, **changes})


def run(
    candidates: list[Candidate],
    profile: Profile | None = None,
    *,
    capacity: dict[int, Capacity] | None = None,
    records: dict[int, ProviderRecord] | None = None,
    limit: int = 20,
) -> MatchResult:
    live = {c.service_id: FREE for c in candidates} | (capacity or {})
    return match(
        profile or person(), Directory.build(candidates), PASCANI, live, records or {}, now=NOW, stale_after=STALE_AFTER, limit=limit
    )


def ids(result: MatchResult) -> list[int]:
    return [c.service_id for c in result.candidates]


def codes(c: MatchCandidate, kind: str | None = None) -> list[str]:
    return [r.code for r in c.reasons if kind is None or r.kind == kind]


def by_id(result: MatchResult, sid: int) -> MatchCandidate:
    return next(c for c in result.candidates if c.service_id == sid)


# ---- each hard filter ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "excluding", "keeping", "constraint"),
    [
        pytest.param({"gender": "male"}, {"genders": ["female"]}, {"genders": ["male"]}, "gender", id="women-only shelter, man"),
        pytest.param({"age_band": "14-17"}, {"age_min": 18}, {"age_min": 14, "age_max": 17}, "age", id="adults-only, minor"),
        pytest.param({"age_band": "25-39"}, {"age_min": 0, "age_max": 17}, {"age_min": 18}, "age", id="minors-only, adult"),
        pytest.param({"age_band": "unknown"}, {"age_min": 18}, {"age_min": 14, "age_max": 17}, "age", id="unknown age is a minor"),
        pytest.param({"age_band": "unknown"}, {"age_min": 16, "age_max": 17}, {"age_min": 0, "age_max": 17}, "age", id="unknown age is 14-17"),
        pytest.param({"nationality_group": "third_country"}, {"nationality_groups": ["romanian"]}, {"nationality_groups": ["third_country"]}, "nationality", id="nationality"),
        pytest.param({"victim_status": "identified"}, {"victim_statuses": ["potential"]}, {"victim_statuses": ["identified"]}, "victim_status", id="victim status"),
        pytest.param({"exploitation_forms": ["labour"]}, {"exploitation_forms": ["sexual"]}, {"exploitation_forms": ["sexual", "labour"]}, "exploitation_form", id="exploitation form"),
        pytest.param({"children": [Child(age_band="0-5")]}, {"accepts_children": False}, {"accepts_children": True}, "children", id="children"),
        pytest.param({"languages": ["ar"]}, {"languages": ["ro"], "interpretation_available": False}, {"languages": ["ro"], "interpretation_available": True}, "language", id="language"),
        pytest.param({"accessibility": ["wheelchair"]}, {"accessibility": ["hearing"]}, {"accessibility": ["hearing", "wheelchair"]}, "accessibility", id="accessibility"),
        pytest.param({"conditions": ["pregnancy"]}, {"excludes": ["pregnancy"]}, {"requires": ["pregnancy"]}, "conditions", id="excluded condition"),
        pytest.param({"conditions": []}, {"requires": ["pregnancy"]}, {"excludes": ["pregnancy"]}, "conditions", id="required condition"),
    ],
)  # fmt: skip
def test_each_eligibility_rule_excludes_what_it_must(
    who: dict[str, Any], excluding: dict[str, Any], keeping: dict[str, Any], constraint: str
) -> None:
    result = run([service(1, 1, "Iași", **excluding), service(2, 2, "Iași", **keeping)], person(**who))
    assert ids(result) == [2]
    assert result.excluded.by_constraint == {constraint: 1}
    assert result.excluded.by_need == {SHELTER: {constraint: 1}}


@pytest.mark.parametrize(
    ("who", "unstated", "attribute"),
    [
        ({}, {"age_min": None}, "age"),
        ({}, {"genders": None}, "genders"),
        ({}, {"nationality_groups": None}, "nationality_groups"),
        ({"victim_status": "presumed"}, {"victim_statuses": None}, "victim_statuses"),
        ({"exploitation_forms": ["begging"]}, {"exploitation_forms": None}, "exploitation_forms"),
        ({"children": [Child(age_band="6-13")]}, {"accepts_children": None}, "accepts_children"),
        ({"languages": ["uk", "ro"]}, {"languages": None}, "languages"),
        ({"accessibility": ["visual"]}, {"accessibility": None}, "accessibility"),
    ],
)
def test_unstated_eligibility_never_excludes_but_is_a_caveat(who: dict[str, Any], unstated: dict[str, Any], attribute: str) -> None:
    result = run([service(1, 1, "Iași", **unstated), service(2, 1, "Iași")], person(**who))
    assert ids(result) == [2, 1]  # the same service, minus the small penalty
    caveat = [r for r in by_id(result, 1).reasons if r.code == "not_stated"]
    assert [r.attribute for r in caveat] == [attribute] and caveat[0].kind == "caveat"
    assert caveat[0].text.endswith("not stated by the provider")
    assert "not_stated" not in codes(by_id(result, 2))


def test_profile_without_status_forms_or_languages_is_not_filtered_on_them() -> None:
    narrow = {"victim_statuses": ["potential"], "exploitation_forms": ["sexual"], "languages": ["hu"]}
    result = run([service(1, 1, "Iași", **narrow)], person(victim_status=None, exploitation_forms=[], languages=[]))
    assert ids(result) == [1]


def test_children_matter_only_for_capacity_bound_services() -> None:
    profile = person(children=[Child(age_band="0-5")], needs=[SHELTER, LEGAL])
    result = run([service(1, 1, "Iași", accepts_children=False), service(2, 1, "Iași", kind=LEGAL, accepts_children=False)], profile)
    assert ids(result) == [2]
    assert result.excluded.by_need == {SHELTER: {"children": 1}, LEGAL: {}}


def test_language_fit_is_explained() -> None:
    profile = person(languages=["ar", "ro"])
    result = run([service(1, 1, "Iași", languages=["en", "ar"]), service(2, 2, "Iași", languages=["en"], interpretation_available=True)], profile)
    assert ids(result) == [1, 2]
    assert "language_shared" in codes(by_id(result, 1)) and "speaks Arabic" in [r.text for r in by_id(result, 1).reasons]
    assert "interpretation" in codes(by_id(result, 2))


def test_full_shelter_is_never_offered() -> None:
    result = run([service(1, 1, "Iași"), service(2, 2, "Pașcani")], capacity={2: Capacity(available=0, total=8, updated_at=NOW)})
    assert ids(result) == [1]
    assert result.excluded.by_constraint == {"full": 1}


def test_no_free_capacity_only_cautions_for_services_without_places() -> None:
    result = run([service(1, 1, "Iași", kind=LEGAL)], person(needs=[LEGAL]), capacity={1: Capacity(available=0, updated_at=NOW)})
    assert ids(result) == [1] and "no_free_capacity" in codes(result.candidates[0], "caveat")


def test_a_site_in_an_avoided_county_excludes_the_service() -> None:
    both = service(1, 1, "Iași", extra_sites=sites("Vaslui"))
    result = run([both, service(2, 2, "Suceava")], person(avoid_counties=["RO-VS"]))
    assert ids(result) == [2]
    assert result.excluded.by_constraint == {"avoided_county": 1}


def test_inactive_services_and_organisations_are_excluded() -> None:
    candidates = [service(1, 1, "Iași", active=False), service(2, 6, "Iași", org_active=False), service(3, 2, "Iași")]
    result = run(candidates)
    assert ids(result) == [3] and result.excluded.by_constraint == {"inactive": 2}


def test_high_security_meets_only_confidential_sites() -> None:
    candidates = [
        service(1, 1, "Pașcani", extra_sites=sites("Iași", confidential=True)),  # open site near, confidential farther
        service(2, 2, "Pașcani"),  # no confidential site
        service(3, 3, "Pașcani", extra_sites=sites("Cluj-Napoca", confidential=True)),  # confidential site out of reach
    ]
    high = run(candidates, person(security_risk="high"))
    assert ids(high) == [1]
    assert high.excluded.by_constraint == {"security": 1, "distance": 1}
    assert 60 < high.candidates[0].distance_km < 75  # to the confidential site in Iași, not the open one
    assert "confidential_site" in codes(high.candidates[0], "fit")
    low = run(candidates, person(security_risk="low"))
    assert sorted(ids(low)) == [1, 2, 3] and by_id(low, 1).distance_km == 0.0
    medium = run(candidates, person(security_risk="medium"))
    assert ids(medium)[0] == 1 and by_id(medium, 1).score > by_id(medium, 2).score


def test_reach_by_distance_area_or_national() -> None:
    candidates = [
        service(1, 1, "Cluj-Napoca"),  # 240 km away
        service(2, 2, "Cluj-Napoca", counties=("RO-IS",)),  # far, but serves Iași county
        service(3, 3, "București", national=True),
        service(4, 4, kind=SHELTER),  # no site, no area
        service(5, 5, national=True),  # no site, national
        service(6, 7, "Bacău"),  # 80 km away
    ]
    result = run(candidates)
    assert sorted(ids(result)) == [2, 3, 5, 6]
    assert result.excluded.by_constraint == {"distance": 2}
    assert by_id(result, 5).distance_km is None and by_id(result, 5).site_county is None
    assert "in_area" in codes(by_id(result, 2)) and "national" in codes(by_id(result, 3))
    anywhere = run(candidates, person(max_distance_km=None))
    assert sorted(ids(anywhere)) == [1, 2, 3, 4, 5, 6]


def test_two_phases_read_capacity_only_for_static_survivors() -> None:
    candidates = [service(1, 1, "Iași"), service(2, 2, "Iași", genders=["female"]), service(3, 3, "Iași", kind=PSYCH)]
    selection = select(person(), Directory.build(candidates), PASCANI)
    assert selection.service_ids == [1]


def test_the_directory_is_read_only_and_may_be_empty() -> None:
    directory = Directory.build([service(1, 1, "Iași")])
    with pytest.raises(ValueError):
        directory.age_min[0] = 0
    empty = match(person(), Directory.build([]), PASCANI, {}, {}, now=NOW, stale_after=STALE_AFTER)
    assert empty.candidates == [] and empty.excluded.messages == ["no emergency accommodation in the directory"]


# ---- capacity, ranking and reasons -----------------------------------------------------------


def test_unknown_capacity_ranks_below_known_free_capacity() -> None:
    candidates = [service(1, 1, "Pașcani"), service(2, 2, "Bacău", languages=None), service(3, 3, "Pașcani")]
    result = run(candidates, capacity={1: Capacity(), 3: Capacity(total=10)})
    assert ids(result) == [2, 1, 3]
    assert by_id(result, 1).score < by_id(result, 2).score
    assert "capacity_not_reported" in codes(by_id(result, 1), "caveat") and by_id(result, 1).available is None


def test_capacity_missing_from_the_mapping_counts_as_not_reported() -> None:
    directory = Directory.build([service(1, 1, "Iași"), service(2, 2, "Iași")])
    result = match(person(), directory, PASCANI, {2: FREE}, {}, now=NOW, stale_after=STALE_AFTER)
    assert ids(result) == [2, 1] and "capacity_not_reported" in codes(by_id(result, 1))


def test_stale_capacity_is_a_caveat() -> None:
    old = Capacity(available=2, total=5, updated_at=NOW - dt.timedelta(days=20))
    result = run([service(1, 1, "Iași"), service(2, 2, "Iași")], capacity={2: old})
    assert ids(result) == [1, 2]
    stale = by_id(result, 2)
    assert stale.capacity_stale and not by_id(result, 1).capacity_stale
    assert Reason(code="capacity_stale", kind="caveat", text="capacity figure is 20 days old", value=20.0) in stale.reasons
    assert "capacity_fresh" in codes(by_id(result, 1), "fit")


def test_answer_record_moves_a_provider_up() -> None:
    records = {2: ProviderRecord(offers=10, accepted=9, median_response_minutes=30)}
    result = run([service(1, 1, "Iași"), service(2, 2, "Iași")], records=records)
    assert ids(result) == [2, 1]
    reasons = by_id(result, 2).reasons
    assert Reason(code="answer_record", kind="fit", text="accepted 9 of 10 referral offers", value=0.9) in reasons
    assert Reason(code="answer_time", kind="fit", text="median answer to a referral offer in 30 min", value=30.0) in reasons
    assert not {"answer_record", "answer_time"} & set(codes(by_id(result, 1)))  # no record yet: neutral, no reason


def test_a_poor_or_slow_record_is_a_caveat_and_ranks_lower() -> None:
    records = {
        1: ProviderRecord(offers=4, accepted=1, expired=2, median_response_minutes=20 * 60),
        2: ProviderRecord(offers=4, accepted=3, median_response_minutes=150),
    }
    result = run([service(1, 1, "Iași"), service(2, 2, "Iași"), service(3, 3, "Iași")], records=records)
    assert ids(result) == [2, 3, 1]  # good record, none yet, poor record
    poor = {r.code: r for r in by_id(result, 1).reasons}
    assert poor["answer_record"].kind == "caveat" and poor["answer_record"].value == 0.25
    assert poor["answer_record"].text == "accepted 1 of 4 referral offers, 2 left unanswered until the deadline"
    assert poor["answer_time"].kind == "caveat" and poor["answer_time"].text.endswith("in 20 h")
    assert "in 2.5 h" in {r.code: r for r in by_id(result, 2).reasons}["answer_time"].text


def small_directory() -> list[Candidate]:
    return [
        service(101, 1, "Iași", confidential=True),
        service(102, 2, "Iași", genders=["female"]),
        service(103, 3, "Suceava"),  # capacity not reported
        service(104, 3, "Vaslui"),  # avoided county
        service(105, 4, "Cluj-Napoca"),  # out of reach
        service(106, 5, "București", national=True),  # stale capacity
        service(107, 6, "Iași", org_active=False),
        service(108, 7, "Bacău"),  # full
        service(109, 1, "Pașcani", languages=["hu"], interpretation_available=True),
        service(201, 1, kind=LEGAL, national=True),
        service(202, 2, "Iași", kind=LEGAL, genders=None),
        service(203, 4, "Cluj-Napoca", kind=LEGAL, counties=("RO-IS",)),
        service(204, 5, "București", kind=LEGAL, age_min=None, age_max=17),
        service(301, 3, "Suceava", kind=PSYCH),
    ]


SMALL_CAPACITY = {
    103: Capacity(),
    106: Capacity(available=1, total=4, updated_at=NOW - dt.timedelta(days=20)),
    108: Capacity(available=0, total=6, updated_at=NOW),
    201: Capacity(),
}
GOOD_RECORD = {1: ProviderRecord(offers=10, accepted=9, median_response_minutes=30)}


def small_match(**changes: Any) -> MatchResult:
    needs = [Need(service_type=SHELTER), Need(service_type=LEGAL, priority="desired")]
    profile = person(**{"needs": needs, "avoid_counties": ["RO-VS"], **changes})
    return run(small_directory(), profile, capacity=SMALL_CAPACITY, records=GOOD_RECORD)


def test_ranking_order_and_reasons_on_a_small_directory() -> None:
    result = small_match()
    assert ids(result) == [109, 101, 106, 103, 202, 201, 203]
    expected = {
        109: {"covers_need", "distance", "free_capacity", "capacity_fresh", "interpretation", "answer_record", "answer_time"},
        101: {"covers_need", "distance", "free_capacity", "capacity_fresh", "language_shared", "answer_record", "answer_time"},
        106: {"covers_need", "distance", "national", "free_capacity", "capacity_stale", "language_shared"},
        103: {"covers_need", "distance", "capacity_not_reported", "language_shared"},
        202: {"covers_need", "distance", "free_capacity", "capacity_fresh", "language_shared", "not_stated"},
        201: {"covers_need", "national", "language_shared", "answer_record", "answer_time"},
        203: {"covers_need", "distance", "in_area", "free_capacity", "capacity_fresh", "language_shared"},
    }
    assert {c.service_id: set(codes(c)) for c in result.candidates} == expected
    assert [c.priority for c in result.candidates] == ["required"] * 4 + ["desired"] * 3
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 100 for s in scores)
    assert by_id(result, 103).score < by_id(result, 106).score  # unknown capacity below known, though nearer
    assert result.excluded.by_constraint == {"inactive": 1, "age": 1, "gender": 1, "avoided_county": 1, "distance": 1, "full": 1}
    assert result.total_considered == 13 and result.excluded.messages == []


def test_distance_is_geodesic_and_no_coordinates_leak() -> None:
    result = small_match()
    km = geodesic(PASCANI, TOWNS["Iași"][1:]).km
    assert by_id(result, 202).distance_km == round(km, 1)
    shelter = by_id(result, 101)  # a confidential site: its distance is shown in 5 km steps
    assert shelter.distance_km == 5 * round(km / 5)
    assert shelter.site_county == "RO-IS"
    for struct in (MatchCandidate, Reason):
        assert not {"lat", "lon", "latitude", "longitude", "address", "site_id"} & set(struct.__struct_fields__)
    body = msgspec.json.encode(result).decode()
    assert "47.16" not in body and "27.59" not in body


def test_a_plentiful_need_does_not_crowd_out_another() -> None:
    legal = [service(sid, 1, "Pașcani", kind=LEGAL) for sid in range(1, 31)]
    far_shelter = service(99, 2, "Bacău")
    profile = person(needs=[Need(service_type=LEGAL), Need(service_type=SHELTER, priority="desired")])
    result = run([*legal, far_shelter], profile, limit=5)
    assert len(result.candidates) == 5 and ids(result)[-1] == 99


# ---- bundles and explanations ----------------------------------------------------------------


def test_one_organisation_covering_all_required_needs_is_the_first_bundle() -> None:
    result = small_match(needs=[SHELTER, LEGAL])
    assert [b.size for b in result.bundles] == [1]
    bundle = result.bundles[0]
    assert bundle.organisations[0].organisation_id == 1 and bundle.covers == [SHELTER, LEGAL]
    assert {s.service_id for s in bundle.organisations[0].services} == {109, 201}


def test_two_organisations_when_no_single_one_covers_everything() -> None:
    candidates = [service(1, 1, "Iași"), service(2, 2, "Iași", kind=LEGAL), service(3, 3, "Suceava", kind=LEGAL)]
    result = run(candidates, person(needs=[SHELTER, LEGAL]))
    assert result.bundles and all(b.size == 2 for b in result.bundles)
    assert [sorted(o.organisation_id for o in b.organisations) for b in result.bundles] == [[1, 3], [1, 2]]  # Suceava is nearer


def test_no_bundle_when_a_required_need_has_no_candidate() -> None:
    result = run([service(1, 1, "Iași"), service(2, 2, "Cluj-Napoca", kind=LEGAL)], person(needs=[SHELTER, LEGAL]))
    assert result.bundles == [] and result.excluded.unmet == [LEGAL]
    assert result.excluded.messages == ["no legal counselling for adult men within 150 km; nearest: Fundația Femina (Service 2) at 244 km"]


def test_nothing_fits_names_the_dominant_constraint_and_the_nearest_beyond_reach() -> None:
    candidates = [service(1, 2, "Iași", genders=["female"]), service(2, 4, "Cluj-Napoca"), service(3, 5, "București")]
    result = run(candidates)
    assert result.candidates == [] and result.bundles == []
    assert result.excluded.by_constraint == {"gender": 1, "distance": 2}
    (message,) = result.excluded.messages
    assert re.fullmatch(r"no emergency accommodation for adult men within 150 km; nearest: Centrul Transilvania \(Service 2\) at 2\d\d km", message)


def test_nothing_fits_for_other_constraints() -> None:
    girls = run([service(1, 1, "Iași"), service(2, 2, "Iași")], person(age_band="14-17", gender="female"))
    assert girls.excluded.messages == ["no emergency accommodation for girls: 2 of 2 excluded by age eligibility"]
    none = run([service(1, 1, "Iași", kind=LEGAL)])
    assert none.excluded.messages == ["no emergency accommodation in the directory"] and none.total_considered == 0


# ---- property: a match never returns a service the profile is not eligible for ---------------


def haversine(origin: tuple[float, float], lat: float, lon: float) -> float:
    p1, p2 = math.radians(origin[0]), math.radians(lat)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon - origin[1]) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def eligible(c: Candidate, p: Profile, origin: tuple[float, float], capacity: Capacity) -> bool:  # noqa: C901
    """The hard filters, written out one by one."""
    e, bound = c.eligibility, c.service_type in CAPACITY_BOUND_TYPES
    lo, hi = p.age_range()
    checks = [
        c.service_type in {n.service_type for n in p.needs},
        c.active and c.organisation_active,
        (e.age_min or 0) <= lo and hi <= (120 if e.age_max is None else e.age_max),
        e.genders is None or p.gender in e.genders,
        e.nationality_groups is None or p.nationality_group in e.nationality_groups,
        p.victim_status is None or e.victim_statuses is None or p.victim_status in e.victim_statuses,
        not p.exploitation_forms or e.exploitation_forms is None or bool(set(p.exploitation_forms) & set(e.exploitation_forms)),
        not (p.children and bound and e.accepts_children is False),
        not p.languages or e.languages is None or bool(set(p.languages) & set(e.languages)) or e.interpretation_available is True,
        not p.accessibility or e.accessibility is None or set(p.accessibility) <= set(e.accessibility),
        not set(e.excludes) & set(p.conditions) and set(e.requires) <= set(p.conditions),
        not any(s.county in p.avoid_counties for s in c.sites),
        not (bound and capacity.available == 0),
    ]
    if not all(checks):
        return False
    usable = [s for s in c.sites if s.confidential or p.security_risk != "high"]
    if p.security_risk == "high" and not usable:
        return False
    if p.max_distance_km is None or c.area_national or p.location.county in c.area_counties:
        return True
    return any(haversine(origin, s.lat, s.lon) <= p.max_distance_km for s in usable if s.lat is not None and s.lon is not None)


def maybe(values: list[str]) -> st.SearchStrategy[list[str] | None]:
    return st.none() | st.lists(st.sampled_from(values), unique=True)


FEW_COUNTIES = ["RO-IS", "RO-SV", "RO-VS", "RO-CJ", "RO-B"]
eligibilities = st.builds(
    Eligibility,
    age_min=st.none() | st.integers(0, 30),
    age_max=st.none() | st.integers(10, 70),
    genders=maybe(["female", "male", "other"]),
    nationality_groups=maybe(["romanian", "eu_eea", "third_country"]),
    victim_statuses=maybe(["potential", "presumed", "identified"]),
    exploitation_forms=maybe(["sexual", "labour", "begging"]),
    accepts_children=st.none() | st.booleans(),
    languages=maybe(["ro", "en", "ar"]),
    interpretation_available=st.none() | st.booleans(),
    accessibility=maybe(["wheelchair", "hearing"]),
    excludes=st.lists(st.sampled_from(["pregnancy", "active_substance_use"]), unique=True),
    requires=st.lists(st.sampled_from(["pregnancy", "active_substance_use"]), unique=True, max_size=1),
)
site_lists = st.lists(
    st.tuples(st.sampled_from(sorted(TOWNS)), st.booleans()).map(lambda t: sites(t[0], confidential=t[1])[0]), max_size=3
)
candidate_lists = st.lists(
    st.builds(
        Candidate,
        service_id=st.just(0),
        organisation_id=st.integers(1, 4),
        organisation_name=st.just("Org"),
        service_type=st.sampled_from([SHELTER, LEGAL, PSYCH]),
        service_name=st.just("Service"),
        active=st.booleans(),
        organisation_active=st.booleans(),
        eligibility=eligibilities,
        area_national=st.booleans(),
        area_counties=st.lists(st.sampled_from(FEW_COUNTIES), unique=True, max_size=2).map(tuple),
        sites=site_lists,
    ),
    max_size=14,
).map(lambda cs: [msgspec.structs.replace(c, service_id=i + 1) for i, c in enumerate(cs)])
profiles = st.builds(
    Profile,
    age_band=st.sampled_from(["0-5", "6-13", "14-17", "18-24", "25-39", "40-64", "65+", "unknown"]),
    gender=st.sampled_from(["female", "male", "other"]),
    nationality_group=st.sampled_from(["romanian", "eu_eea", "third_country"]),
    needs=st.lists(
        st.builds(Need, service_type=st.sampled_from([SHELTER, LEGAL]), priority=st.sampled_from(["required", "desired"])),
        min_size=1,
        max_size=2,
        unique_by=lambda n: n.service_type,
    ),
    location=st.builds(Location, county=st.sampled_from(FEW_COUNTIES)),
    victim_status=st.none() | st.sampled_from(["potential", "presumed", "identified"]),
    exploitation_forms=st.lists(st.sampled_from(["sexual", "labour", "begging"]), unique=True, max_size=2),
    security_risk=st.sampled_from(["low", "medium", "high"]),
    max_distance_km=st.none() | st.floats(20, 400),
    avoid_counties=st.lists(st.sampled_from(FEW_COUNTIES), unique=True, max_size=2),
    children=st.lists(st.just(Child(age_band="0-5")), max_size=1),
    languages=st.lists(st.sampled_from(["ro", "en", "ar"]), unique=True, max_size=2),
    accessibility=st.lists(st.sampled_from(["wheelchair", "hearing"]), unique=True, max_size=1),
    conditions=st.lists(st.sampled_from(["pregnancy", "active_substance_use"]), unique=True, max_size=1),
)
capacities = st.builds(Capacity, available=st.none() | st.integers(0, 3), total=st.just(3), updated_at=st.just(NOW))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidate_lists, profiles, st.sampled_from(sorted(TOWNS)), st.lists(capacities, min_size=14, max_size=14))
def test_a_match_never_returns_a_service_the_profile_is_not_eligible_for(
    candidates: list[Candidate], profile: Profile, town: str, caps: list[Capacity]
) -> None:
    origin = TOWNS[town][1:]
    capacity = {c.service_id: caps[i] for i, c in enumerate(candidates)}
    result = match(profile, Directory.build(candidates), origin, capacity, {}, now=NOW, stale_after=STALE_AFTER, limit=100)
    expected = {c.service_id for c in candidates if eligible(c, profile, origin, capacity[c.service_id])}
    assert set(ids(result)) == expected
    assert sum(result.excluded.by_constraint.values()) == result.total_considered - len(result.candidates)
    for i, c in enumerate(result.candidates):  # unknown capacity never above known free places of the same need
        if c.service_type in CAPACITY_BOUND_TYPES and c.available is None:
            assert not any(d.service_type == c.service_type and d.available for d in result.candidates[i:])
