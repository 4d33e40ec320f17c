"""What a directory and a record book remember between matches changes no result: the filters' columns per
service type and value, the nearest sites per service type and origin, each row's capacity position and record
fraction; and the vectorised shortlist, nearest sites and bundle offers, the shown candidates' capacity read as
columns and the remembered reasons equal their plain computations."""

from __future__ import annotations

import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referralnet.matching import bundles, filters, reasons
from referralnet.matching.directory import Candidate, Directory
from referralnet.matching.engine import _as_offers, _offers, _shortlist, match, select
from referralnet.matching.live import Capacity, CapacityColumns, ProviderRecord, RecordBook
from referralnet.matching.profile import Profile
from referralnet.matching.scoring import live_figures
from referralnet.matching.selection import Selection
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
        patch.setattr(filters, "NEAREST_BYTES", budget)
        for profile, town, limit in asked * 2:  # the second round reads what the first left
            origin = TOWNS[town][1:]
            kept = match(profile, shared, origin, columns, shared_book, now=NOW, stale_after=STALE_AFTER, limit=limit)
            fresh = match(profile, Directory.build(candidates), origin, capacity, dict(book), now=NOW, stale_after=STALE_AFTER, limit=limit)
            assert msgspec.json.encode(kept) == msgspec.json.encode(fresh)
            for memo in (shared.verdicts, shared.nearest):
                kept_bytes = sum(a.nbytes for kept_arrays in memo.values() for a in kept_arrays)
                assert memo.nbytes == kept_bytes
                assert kept_bytes <= budget or len(memo) == 1  # past the budget only what is too big on its own


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


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidate_lists, profiles, st.lists(capacities, min_size=14, max_size=14), st.integers(0, 13))
def test_the_shown_capacity_read_as_columns_equals_one_read_at_a_time(
    candidates: list[Candidate], profile: Profile, caps: list[Capacity], unread: int
) -> None:
    d = Directory.build(candidates)
    # One service left unread (live_figures needs columns that are not empty).
    columns = CapacityColumns.of({c.service_id: caps[i] for i, c in enumerate(candidates) if i != unread or len(candidates) == 1})
    s = select(profile, d, TOWNS["Iași"][1:])
    live = live_figures(s, columns, NOW, STALE_AFTER)
    shown = np.arange(s.rows.size)
    total, updated_at = reasons._capacity_of(live, shown)
    one_by_one = [live.columns.capacity(int(live.position[i])) for i in shown.tolist()]
    assert total == [c.total for c in one_by_one] and updated_at == [c.updated_at for c in one_by_one]


@given(st.booleans(), st.floats(-3, 40, allow_nan=False), st.booleans())
def test_remembered_capacity_reasons_equal_those_made_afresh(fresh: bool, days: float, twice: bool) -> None:
    made = reasons._capacity_reasons("beds", True, 2, fresh, days)
    again = reasons._capacity_reasons("beds", True, 2, fresh, days) if twice else made
    plain = [reasons._free("beds", 2), reasons._dated.__wrapped__(fresh, int(days), round(days, 1))]
    assert msgspec.json.encode(made) == msgspec.json.encode(again) == msgspec.json.encode(plain)
    when = "today" if days < 1 else "1 day ago" if days < 2 else f"{int(days)} days ago"
    assert made[1].text == (f"capacity updated {when}" if fresh else f"capacity figure is {int(days)} days old")


def test_a_capacity_figure_from_the_future_keeps_its_negative_zero() -> None:
    reasons._capacity_reasons("beds", True, 2, True, 0.01)  # remembered as 0.0
    assert msgspec.json.encode(reasons._capacity_reasons("beds", True, 2, True, -0.01)[1].value) == b"-0.0"


def _plain_offers(s: Selection, order: np.ndarray, scores: np.ndarray) -> list[bundles.Offer]:
    """The first place of each (need, organisation) in ``order``, found by a loop, as ``engine._offers`` hands them on."""
    seen: set[tuple[int, int]] = set()
    best = []
    for i in order.tolist():
        key = (int(s.need[i]), int(s.directory.organisation_id[s.rows[i]]))
        if key not in seen:
            seen.add(key)
            best.append(i)
    at = np.array(best, dtype=np.int64)
    required = np.array([p == "required" for _, p in s.needs], dtype=bool)
    keep = bundles.relevant(s.need[at], s.directory.organisation_id[s.rows[at]], scores[at], required)
    return _as_offers(s, at[keep], scores)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidate_lists, profiles, st.randoms(), st.lists(st.integers(0, 1000), min_size=14, max_size=14))
def test_the_offers_are_the_first_place_of_each_need_and_organisation(
    candidates: list[Candidate], profile: Profile, rng: object, points: list[int]
) -> None:
    s = select(profile, Directory.build(candidates), TOWNS["Iași"][1:])
    order = np.arange(s.rows.size)
    rng.shuffle(order)  # type: ignore[attr-defined]
    scores = np.array(points[: s.rows.size], dtype=np.float64) / 10
    assert _offers(s, order, scores) == _plain_offers(s, order, scores)
