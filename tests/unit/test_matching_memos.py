"""What a directory and a record book remember between matches changes no result: the filters' columns per
service type and value, each row's capacity position and record fraction; and the vectorised shortlist and
nearest sites equal their plain loops."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referralnet.matching import filters
from referralnet.matching.directory import Candidate, Directory
from referralnet.matching.engine import _shortlist, match
from referralnet.matching.live import Capacity, CapacityColumns, ProviderRecord, RecordBook
from referralnet.matching.profile import Profile
from tests.unit.test_matching_engine import NOW, STALE_AFTER, TOWNS, candidate_lists, capacities, profiles

records = st.dictionaries(
    st.integers(1, 4),
    st.builds(ProviderRecord, offers=st.integers(0, 9), accepted=st.integers(0, 9), median_response_minutes=st.none() | st.floats(1, 3000)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    candidate_lists,
    st.lists(st.tuples(profiles, st.sampled_from(sorted(TOWNS)), st.integers(1, 20)), min_size=1, max_size=6),
    st.lists(capacities, min_size=14, max_size=14),
    records,
    st.sampled_from([filters.REMEMBERED_BYTES, 64]),
)
def test_matches_on_one_directory_equal_matches_on_a_fresh_one_each(
    candidates: list[Candidate],
    asked: list[tuple[Profile, str, int]],
    caps: list[Capacity],
    book: dict[int, ProviderRecord],
    budget: int,
) -> None:
    capacity = {c.service_id: caps[i] for i, c in enumerate(candidates)}
    shared, columns, shared_book = Directory.build(candidates), CapacityColumns.of(capacity), RecordBook(book)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(filters, "REMEMBERED_BYTES", budget)
        for profile, town, limit in asked * 2:  # the second round reads what the first left
            origin = TOWNS[town][1:]
            kept = match(profile, shared, origin, columns, shared_book, now=NOW, stale_after=STALE_AFTER, limit=limit)
            fresh = match(profile, Directory.build(candidates), origin, capacity, dict(book), now=NOW, stale_after=STALE_AFTER, limit=limit)
            assert msgspec.json.encode(kept) == msgspec.json.encode(fresh)
            kept_bytes = sum(a.nbytes for a in shared.verdicts.values())
            assert shared.verdict_bytes == kept_bytes
            assert kept_bytes <= budget or len(shared.verdicts) == 1  # past the budget only a column too big on its own


def _plain_shortlist(order: np.ndarray, need: np.ndarray, n_needs: int, limit: int) -> np.ndarray:
    """The shortlist as a loop over the order (the reference the vectorised one must equal)."""
    if order.size <= limit:
        return order
    quota = max(1, limit // (2 * max(n_needs, 1)))
    taken: dict[int, int] = {}
    reserved = []
    for position, k in enumerate(need[order].tolist()):
        if taken.get(k, 0) < quota:
            taken[k] = taken.get(k, 0) + 1
            reserved.append(position)
            if len(reserved) == quota * n_needs:
                break
    chosen = set(reserved[:limit])
    for position in range(order.size):
        if len(chosen) >= limit:
            break
        chosen.add(position)
    return order[sorted(chosen)]


@given(st.integers(1, 3).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.integers(0, n - 1), max_size=60))), st.integers(1, 30), st.randoms())
def test_the_shortlist_equals_the_plain_loop(needs: tuple[int, list[int]], limit: int, rng: object) -> None:
    n_needs, need = needs[0], np.array(needs[1], dtype=np.int64)
    order = np.arange(need.size)
    rng.shuffle(order)  # type: ignore[attr-defined]
    assert _shortlist(order, need, n_needs, limit).tolist() == _plain_shortlist(order, need, n_needs, limit).tolist()


def test_a_patch_keeps_the_rows_capacity_positions_and_new_columns_replace_them() -> None:
    d = Directory.build(
        [Candidate(service_id=i, organisation_id=1, organisation_name="O", service_type="legal_counselling", service_name="S") for i in (3, 5, 9)]
    )
    cached = CapacityColumns.of({3: Capacity(available=1), 9: Capacity(available=2)})
    match(_profile(), d, TOWNS["Iași"][1:], cached, {}, now=NOW, stale_after=STALE_AFTER)
    assert d.capacity_positions is not None and d.capacity_positions[1].tolist() == [0, -1, 1]
    patched = cached.merge(CapacityColumns.of({9: Capacity(available=0)}))
    match(_profile(), d, TOWNS["Iași"][1:], patched, {}, now=NOW, stale_after=STALE_AFTER)
    assert d.capacity_positions[0] is cached.service_id  # the same ids: nothing searched again
    wider = patched.merge(CapacityColumns.of({5: Capacity(available=4)}))
    result = match(_profile(), d, TOWNS["Iași"][1:], wider, {}, now=NOW, stale_after=STALE_AFTER)
    assert d.capacity_positions[1].tolist() == [0, 1, 2]
    assert [c.available for c in result.candidates if c.service_id == 5] == [4]


def _plain_nearest(d: Directory, lo: int, hi: int, q: filters.Query, alive: np.ndarray) -> tuple[list[float], list[int]]:
    """Nearest eligible site per row, measuring every site and taking the first at the smallest distance."""
    best, site = [], []
    for row in range(lo, hi):
        found, at = np.inf, -1
        for i in range(int(d.site_start[row]), int(d.site_start[row + 1])):
            if not alive[row - lo] or (q.high_security and not d.site_confidential[i]):
                continue
            km = filters.haversine_km(q.origin, d.site_phi[i : i + 1], d.site_lam[i : i + 1], d.site_cos_phi[i : i + 1])[0]
            if np.isfinite(km) and km < found:
                found, at = float(km), i
        best.append(found)
        site.append(at)
    return best, site


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidate_lists, profiles, st.sampled_from(sorted(TOWNS)), st.data())
def test_nearest_sites_equal_those_measured_one_by_one(candidates: list[Candidate], profile: Profile, town: str, data: st.DataObject) -> None:
    d, q = Directory.build(candidates), filters.Query.of(profile, TOWNS[town][1:])
    for lo, hi in d.type_range.values():
        alive = np.array(data.draw(st.lists(st.booleans(), min_size=hi - lo, max_size=hi - lo)), dtype=bool)
        km, site = filters._nearest(d, lo, hi, q, alive)
        assert (km.tolist(), site.tolist()) == _plain_nearest(d, lo, hi, q, alive)


def _profile() -> Profile:
    return msgspec.convert(
        {
            "age_band": "25-39",
            "gender": "female",
            "nationality_group": "romanian",
            "needs": [{"service_type": "legal_counselling", "priority": "required"}],
            "location": {"county": "RO-IS"},
        },
        Profile,
    )
