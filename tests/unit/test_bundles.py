"""Bundles: the fewest organisations covering every required need, best-scoring first; and the pre-filter
that leaves out the offers that cannot change them."""

from __future__ import annotations

import itertools
import time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from referralnet.matching.bundles import MAX_BUNDLES, Offer, group_ids, propose, relevant
from referralnet.matching.schemas import Bundle

SHELTER, LEGAL, MEDICAL, PSYCH = "emergency_accommodation", "legal_counselling", "medical_care", "psychological_counselling"
_ids = itertools.count(1)


def offer(org: int, service_type: str, score: float, priority: str = "required") -> Offer:
    return Offer(service_type, priority, org, f"Org {org}", next(_ids), f"{service_type} of {org}", score)


def best_first(*offers: Offer) -> list[Offer]:
    return sorted(offers, key=lambda o: -o.score)


def members(bundle: Bundle) -> list[int]:
    return sorted(o.organisation_id for o in bundle.organisations)


def test_one_organisation_covering_everything_beats_a_better_scoring_pair() -> None:
    offers = best_first(offer(1, SHELTER, 90), offer(2, LEGAL, 90), offer(3, SHELTER, 50), offer(3, LEGAL, 40))
    bundles = propose(offers, [SHELTER, LEGAL])
    assert [members(b) for b in bundles] == [[3]]
    assert bundles[0].size == 1 and bundles[0].covers == [SHELTER, LEGAL] and bundles[0].score == 45.0
    assert [s.service_type for s in bundles[0].organisations[0].services] == [SHELTER, LEGAL]


def test_pairs_when_no_single_organisation_covers_everything() -> None:
    offers = best_first(offer(1, SHELTER, 80), offer(2, LEGAL, 70), offer(3, LEGAL, 60), offer(4, SHELTER, 20))
    bundles = propose(offers, [SHELTER, LEGAL])
    assert [members(b) for b in bundles] == [[1, 2], [1, 3], [2, 4]]
    assert [b.score for b in bundles] == [75.0, 70.0, 45.0]
    first = bundles[0]
    assert {o.organisation_id: [s.service_type for s in o.services] for o in first.organisations} == {1: [SHELTER], 2: [LEGAL]}


def test_three_organisations_for_three_scattered_needs() -> None:
    offers = best_first(offer(1, SHELTER, 80), offer(2, LEGAL, 70), offer(3, MEDICAL, 60))
    bundles = propose(offers, [SHELTER, LEGAL, MEDICAL])
    assert [(b.size, members(b), b.score) for b in bundles] == [(3, [1, 2, 3], 70.0)]


def test_the_smallest_size_wins_even_with_a_weak_service() -> None:
    offers = best_first(offer(1, SHELTER, 80), offer(2, LEGAL, 70), offer(3, MEDICAL, 60), offer(4, MEDICAL, 50), offer(4, LEGAL, 10))
    bundles = propose(offers, [SHELTER, LEGAL, MEDICAL])
    assert [(b.size, members(b)) for b in bundles] == [(2, [1, 4])]  # org 4 covers two needs


def test_no_bundle_when_a_required_need_has_no_offer_or_more_than_three_are_needed() -> None:
    assert propose(best_first(offer(1, SHELTER, 80)), [SHELTER, LEGAL]) == []
    scattered = best_first(offer(1, SHELTER, 80), offer(2, LEGAL, 70), offer(3, MEDICAL, 60), offer(4, PSYCH, 50))
    assert propose(scattered, [SHELTER, LEGAL, MEDICAL, PSYCH]) == []
    assert propose(scattered, []) == []


def test_desired_needs_ride_along_and_break_ties() -> None:
    offers = best_first(
        offer(1, SHELTER, 70),
        offer(2, SHELTER, 70),
        offer(2, PSYCH, 30, "desired"),
    )
    bundles = propose(offers, [SHELTER])
    assert [members(b) for b in bundles] == [[2], [1]]
    assert bundles[0].also_covers == [PSYCH] and bundles[0].covers == [SHELTER]
    assert [s.priority for s in bundles[0].organisations[0].services] == ["required", "desired"]


def test_each_need_is_served_by_the_best_service_in_the_bundle() -> None:
    offers = best_first(offer(1, SHELTER, 90), offer(1, LEGAL, 10), offer(2, LEGAL, 80), offer(2, MEDICAL, 70))
    (bundle, *_) = propose(offers, [SHELTER, LEGAL, MEDICAL])
    assert members(bundle) == [1, 2]
    assert {s.service_type: o.organisation_id for o in bundle.organisations for s in o.services} == {SHELTER: 1, LEGAL: 2, MEDICAL: 2}
    assert bundle.score == 80.0


def test_work_stays_bounded_for_many_organisations_and_needs() -> None:
    needs = [f"need_{k}" for k in range(8)]
    offers = best_first(*(offer(org, needs[(org + k) % 8], (org * 37 + k) % 100) for org in range(1, 2001) for k in range(3)))
    started = time.perf_counter()
    bundles = propose(offers, needs)
    assert time.perf_counter() - started < 1.0
    assert len(bundles) == MAX_BUNDLES and all(b.size == 3 for b in bundles)
    assert all(sorted(b.covers) == sorted(needs) for b in bundles)


NEEDS = [SHELTER, LEGAL, MEDICAL, PSYCH]
offer_sets = st.lists(
    st.tuples(st.integers(1, 40), st.sampled_from(NEEDS), st.integers(0, 40).map(lambda x: x * 2.5)),
    max_size=120,
    unique_by=lambda t: (t[0], t[1]),
)


@settings(max_examples=1000, deadline=None)
@given(offer_sets, st.lists(st.sampled_from(NEEDS), min_size=1, max_size=3, unique=True), st.data(), st.sampled_from([1, 10**9]))
def test_leaving_out_irrelevant_offers_changes_nothing(
    triples: list[tuple[int, str, float]], required: list[str], data: st.DataObject, spread: int
) -> None:
    desired = [t for t in NEEDS if t not in required and data.draw(st.booleans())]
    needs = required + desired
    offers = best_first(*(offer(org * spread, t, score, "required" if t in required else "desired") for org, t, score in triples if t in needs))
    keep = relevant(
        np.array([needs.index(o.service_type) for o in offers], dtype=np.int64),
        np.array([o.organisation_id for o in offers], dtype=np.int64),
        np.array([o.score for o in offers]),
        np.array([t in required for t in needs], dtype=bool),
    )
    assert propose([o for o, k in zip(offers, keep) if k], required) == propose(offers, required)


def test_only_the_best_covering_organisations_are_kept() -> None:
    offers = best_first(*(offer(org, SHELTER, 100 - org) for org in range(1, 1001)))
    keep = relevant(np.zeros(1000, dtype=np.int64), np.array([o.organisation_id for o in offers]), np.array([o.score for o in offers]), np.array([True]))
    assert keep.sum() == MAX_BUNDLES


@given(st.lists(st.integers(1, 40), min_size=1, max_size=60), st.sampled_from([1, 10**9]))
def test_group_numbers_keep_the_values_order_and_equality(values: list[int], spread: int) -> None:
    ids = np.array(values, dtype=np.int64) * spread
    who, groups = group_ids(ids)
    _, ranks = np.unique(ids, return_inverse=True)
    assert 0 <= who.min() and who.max() < groups
    assert [np.sign(a - b) for a in who.tolist() for b in who.tolist()] == [np.sign(a - b) for a in ranks.tolist() for b in ranks.tolist()]
