"""The coverage matrix and the gaps on a hand-built directory: exact cells, reach, groups, distinct providers."""

from __future__ import annotations

import numpy as np
import pytest

from referralnet.coverage.gaps import Demand, demand_counts, find_gaps
from referralnet.coverage.groups import make_groups, single_group
from referralnet.coverage.matrix import COUNTY_INDEX, Cube, ServiceRecord, ServiceTable, SiteRecord, compute, reach
from referralnet.directory.schemas import Eligibility
from referralnet.vocabulary.codes import COUNTY_CODES

SHELTER, CHILD, COUNSEL = "residential_shelter", "child_residential", "psychological_counselling"

SERVICES = [
    # Organisation 1: a shelter for adult men in Iași (site without coordinates: the county seat).
    ServiceRecord(service_id=1, organisation_id=1, service_type=SHELTER, eligibility=Eligibility(age_min=18, genders=["male"]),
                  capacity_total=10, capacity_available=2),
    # Organisation 2: a shelter for adult women serving Iași and Vaslui by area, full...
    ServiceRecord(service_id=2, organisation_id=2, service_type=SHELTER, eligibility=Eligibility(age_min=18, genders=["female"]),
                  area_counties=("RO-IS", "RO-VS"), capacity_total=8, capacity_available=0),
    # ... and one in Bucharest, with a site at known coordinates.
    ServiceRecord(service_id=3, organisation_id=2, service_type=SHELTER, eligibility=Eligibility(age_min=18, genders=["female"]),
                  capacity_total=6, capacity_available=1),
    # Organisation 3: national care for children exploited through begging or labour; capacity not reported.
    ServiceRecord(service_id=4, organisation_id=3, service_type=CHILD, eligibility=Eligibility(age_max=17, exploitation_forms=["begging", "labour"]),
                  national=True),
    # Organisation 4: Ukrainian-speaking counsellors in Cluj; organisation 5: national, languages not stated.
    ServiceRecord(service_id=5, organisation_id=4, service_type=COUNSEL, eligibility=Eligibility(languages=["ro", "uk"])),
    ServiceRecord(service_id=6, organisation_id=5, service_type=COUNSEL, national=True),
    # Inactive: never counted.
    ServiceRecord(service_id=7, organisation_id=6, service_type=SHELTER, national=True, active=False, capacity_total=99),
]
SITES = [
    SiteRecord(service_id=1, county="RO-IS"),
    SiteRecord(service_id=3, county="RO-B", lat=44.4268, lon=26.1025),
    SiteRecord(service_id=5, county="RO-CJ", lat=46.7712, lon=23.6236),
]


@pytest.fixture(scope="module")
def table() -> ServiceTable:
    return ServiceTable.build(SERVICES, SITES)


def cell(cube: Cube, county: str, service_type: str, age_group: str, gender: str, form: str | None = None) -> dict[str, int]:
    t = cube.types.index(service_type)
    k = next(i for i, g in enumerate(cube.groups) if (g.age_group, g.gender, g.form) == (age_group, gender, form))
    c = COUNTY_INDEX[county]
    return {
        name: int(getattr(cube, name)[c, t, k])
        for name in ("providers", "providers_stated", "services", "services_stated", "capacity_total", "capacity_free", "capacity_unknown")
    }


def test_adult_men_in_iasi(table: ServiceTable) -> None:
    cube = compute(table, make_groups())
    assert cell(cube, "RO-IS", SHELTER, "adult", "male") == {
        "providers": 1, "providers_stated": 1, "services": 1, "services_stated": 1,
        "capacity_total": 10, "capacity_free": 2, "capacity_unknown": 0,
    }
    # Adult women in Iași: the full shelter of organisation 2 (by service area).
    assert cell(cube, "RO-IS", SHELTER, "adult", "female")["capacity_free"] == 0
    assert cell(cube, "RO-IS", SHELTER, "adult", "female")["providers"] == 1
    # Nobody shelters adults of other genders, nor minors, nor any adult man in Cluj.
    assert cell(cube, "RO-IS", SHELTER, "adult", "other")["providers"] == 0
    assert cell(cube, "RO-IS", SHELTER, "minor", "male")["providers"] == 0
    assert cell(cube, "RO-CJ", SHELTER, "adult", "male")["providers"] == 0


def test_reach_by_distance_and_distinct_organisations(table: ServiceTable) -> None:
    near = compute(table, make_groups(), distance_km=50)
    # Bucharest's shelter is ~20 km from Buftea, Ilfov's seat, and far from Iași.
    assert cell(near, "RO-IF", SHELTER, "adult", "female")["providers"] == 1
    assert cell(near, "RO-IF", SHELTER, "adult", "female")["capacity_total"] == 6
    assert cell(near, "RO-IS", SHELTER, "adult", "female")["services"] == 1
    far = compute(table, make_groups(), distance_km=400)
    # Within 400 km both shelters of organisation 2 reach Iași: one provider, two services.
    assert cell(far, "RO-IS", SHELTER, "adult", "female") == {
        "providers": 1, "providers_stated": 1, "services": 2, "services_stated": 2,
        "capacity_total": 14, "capacity_free": 1, "capacity_unknown": 0,
    }
    r = reach(table, 50)
    assert r.shape == (6, 42)  # the inactive service is left out


def test_forms_and_not_stated_eligibility(table: ServiceTable) -> None:
    cube = compute(table, make_groups(by_form=True), types=[CHILD])
    begging = cell(cube, "RO-TL", CHILD, "minor", "male", "begging")
    # Genders not stated: counted as admitting, but not "on a statement".
    assert begging == {"providers": 1, "providers_stated": 0, "services": 1, "services_stated": 0,
                       "capacity_total": 0, "capacity_free": 0, "capacity_unknown": 1}
    assert cell(cube, "RO-TL", CHILD, "minor", "male", "sexual")["providers"] == 0
    assert cell(cube, "RO-TL", CHILD, "adult", "male", "begging")["providers"] == 0
    assert len(cube.groups) == 2 * 3 * 11


def test_language_filter_counts_stated_separately(table: ServiceTable) -> None:
    cube = compute(table, make_groups(), types=[COUNSEL], language="uk")
    assert cell(cube, "RO-CJ", COUNSEL, "adult", "female")["providers"] == 2
    assert cell(cube, "RO-CJ", COUNSEL, "adult", "female")["providers_stated"] == 0  # ages/genders not stated
    ukrainian = compute(table, [single_group()], types=[COUNSEL], language="uk")
    assert int(ukrainian.providers_stated[COUNTY_INDEX["RO-CJ"], 0, 0]) == 1
    assert int(ukrainian.providers_stated[COUNTY_INDEX["RO-TL"], 0, 0]) == 0
    assert int(ukrainian.providers[COUNTY_INDEX["RO-TL"], 0, 0]) == 1  # the national one, languages not stated


def test_bands_use_matchings_age_rule(table: ServiceTable) -> None:
    cube = compute(table, make_groups("bands", gender="male"), types=[SHELTER, CHILD])
    assert [cell(cube, "RO-IS", SHELTER, band, "male")["providers"] for band in ("14-17", "18-24", "65+")] == [0, 1, 1]
    assert cell(cube, "RO-IS", CHILD, "14-17", "male")["providers"] == 1


def test_many_services_of_one_organisation_count_once() -> None:
    services = [ServiceRecord(service_id=i, organisation_id=1 + i % 3, service_type=SHELTER, national=i % 2 == 0,
                              area_counties=("RO-CJ",), capacity_total=i, capacity_available=1) for i in range(1, 31)]
    cube = compute(ServiceTable.build(services, []), make_groups(), types=[SHELTER])
    assert cube.providers[COUNTY_INDEX["RO-CJ"], 0].tolist() == [3] * 6
    assert cube.services[COUNTY_INDEX["RO-CJ"], 0].tolist() == [30] * 6
    assert cube.providers[COUNTY_INDEX["RO-IS"], 0].tolist() == [3] * 6  # the national ones: even ids, all 3 orgs
    assert cube.services[COUNTY_INDEX["RO-IS"], 0].tolist() == [15] * 6
    assert int(cube.capacity_total[COUNTY_INDEX["RO-CJ"], 0, 0]) == sum(range(1, 31))


def test_gaps_are_ordered_by_unplaced_referrals(table: ServiceTable) -> None:
    cube = compute(table, make_groups(), types=[SHELTER])
    demand = [
        *[Demand("RO-IS", "25-39", "female", ("sexual",), (SHELTER,))] * 3,
        *[Demand("RO-IS", "40-64", "other", (), (SHELTER, COUNSEL))] * 12,
        Demand("RO-IS", "unknown", "male", (), (SHELTER,)),  # presumed a minor
        Demand("RO-XX", "25-39", "male", (), (SHELTER,)),  # unknown county: ignored
    ]
    unplaced = demand_counts(demand, cube.types, cube.groups)
    rows = find_gaps(cube, unplaced, counties=["RO-IS"])
    top = [(r.county, r.service_type, r.group.age_group, r.group.gender, r.reason, r.referrals_unplaced) for r in rows[:3]]
    assert top == [
        ("RO-IS", SHELTER, "adult", "other", "no_provider", 12),
        ("RO-IS", SHELTER, "adult", "female", "no_free_capacity", 3),
        ("RO-IS", SHELTER, "minor", "male", "no_provider", 1),
    ]
    assert {(r.group.age_group, r.group.gender) for r in rows[3:]} == {("minor", "female"), ("minor", "other")}
    # Safe ordering: figures from 1 to 9 rank equal, so county/type/group order decides among them.
    safe = find_gaps(cube, unplaced, counties=["RO-IS"], safe=True)
    assert [(r.group.age_group, r.group.gender) for r in safe[:4]] == [
        ("adult", "other"), ("minor", "male"), ("adult", "female"), ("minor", "female")
    ]
    assert all(r.reason == "no_provider" for r in find_gaps(cube, unplaced, reason="no_provider"))
    assert len(find_gaps(cube, unplaced)) == int(((cube.providers == 0) | ((cube.capacity_free == 0) & (cube.capacity_unknown == 0))).sum())


def test_empty_directory_is_all_gaps() -> None:
    cube = compute(ServiceTable.build([], []), make_groups())
    assert cube.providers.shape == (42, 30, 6) and not cube.providers.any()
    assert len(find_gaps(cube, np.zeros(cube.providers.shape, dtype=np.int64))) == 42 * 30 * 6
    assert len(COUNTY_CODES) == 42
