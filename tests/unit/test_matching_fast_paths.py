"""Matching's shortcuts give what the plain computation gives: distances and caveats worked out for the
kept rows only, the capacity patch without a re-sort, remembered distances and privacy verdicts,
one versions read shared by the matches waiting for it, and the ranking without reasons that a
referral's offers are chosen from."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from referralnet.clock import FixedClock
from referralnet.errors import PrivacyViolation
from referralnet.matching import cache as matching_cache
from referralnet.matching import privacy, reader
from referralnet.matching.cache import Snapshot
from referralnet.matching.directory import Candidate, Directory
from referralnet.matching.engine import rank, rank_ids, select
from referralnet.matching.filters import Query, _language_fit, _nearest, _not_stated, filter_type
from referralnet.matching.geodesy import geodesic_km_many, geodesic_km_remembered
from referralnet.matching.live import Capacity, CapacityColumns
from referralnet.matching.privacy import screen
from referralnet.matching.profile import Need, Profile, check_profile
from referralnet.matching.services import match_profile, ranked_services
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES
from tests.unit.test_matching_engine import LEGAL, NOW, SHELTER, STALE_AFTER, TOWNS, candidate_lists, capacities, person, profiles, service

AT = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone.utc)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidate_lists, profiles, st.sampled_from(sorted(TOWNS)))
def test_survivor_columns_equal_those_worked_out_for_every_row(candidates: list[Candidate], profile: Profile, town: str) -> None:
    d, q = Directory.build(candidates), Query.of(profile, TOWNS[town][1:])
    for service_type in d.type_range:
        lo, hi = d.rows_of(service_type)
        bound, every = service_type in CAPACITY_BOUND_TYPES, np.arange(lo, hi)
        km, site = _nearest(d, lo, hi, q, np.ones(hi - lo, dtype=bool))
        found = filter_type(d, service_type, q)
        kept = found.columns["rows"] - lo
        assert found.columns["km"].tolist() == km[kept].tolist()
        assert found.columns["site"].tolist() == site[kept].tolist()
        assert found.columns["not_stated"].tolist() == _not_stated(d, every, q, bound)[kept].tolist()
        assert found.columns["language"].tolist() == _language_fit(d, every, q)[kept].tolist()
        if found.beyond is not None:
            row, at = found.beyond
            assert site[row - lo] == at and np.isfinite(km[row - lo])


capacity_maps = st.dictionaries(
    st.integers(1, 40),
    st.builds(Capacity, available=st.none() | st.integers(0, 9), total=st.none() | st.integers(0, 9), updated_at=st.none() | st.just(AT)),
    max_size=25,
)


@given(capacity_maps, capacity_maps)
def test_a_patch_merges_like_a_dictionary_update(cached: dict[int, Capacity], read: dict[int, Capacity]) -> None:
    merged = CapacityColumns.of(cached).merge(CapacityColumns.of(read))
    expected = CapacityColumns.of({**cached, **read})
    assert merged.service_id.tolist() == expected.service_id.tolist()
    assert [merged.capacity(i) for i in range(merged.service_id.size)] == [expected.capacity(i) for i in range(expected.service_id.size)]


def test_a_patch_of_cached_services_leaves_the_cache_itself_unchanged() -> None:
    cached = CapacityColumns.of({1: Capacity(available=1), 5: Capacity(available=5)})
    merged = cached.merge(CapacityColumns.of({5: Capacity(available=0, updated_at=AT)}))
    assert merged.available.tolist() == [1, 0] and cached.available.tolist() == [1, 5]


@given(st.lists(st.sampled_from(sorted(TOWNS)), min_size=1, max_size=8), st.sampled_from(sorted(TOWNS)))
def test_remembered_distances_are_the_computed_ones(towns: list[str], origin: str) -> None:
    lat = np.array([TOWNS[t][1] for t in towns])
    lon = np.array([TOWNS[t][2] for t in towns])
    here = TOWNS[origin][1:]
    first, again = geodesic_km_remembered(here, lat, lon), geodesic_km_remembered(here, lat, lon)
    assert np.abs(first - geodesic_km_many(here, lat, lon)).max() < 1e-9 and first.tolist() == again.tolist()


def test_a_profile_refused_once_is_refused_every_time() -> None:
    profile = person(note="sunați la 0722 123 456")
    for _ in range(2):
        with pytest.raises(PrivacyViolation):
            screen(profile, "profile", today=dt.date(2026, 3, 1))
    screen(person(note="prefers a female case worker"), "profile", today=dt.date(2026, 3, 1))


def test_only_clean_codes_and_places_are_remembered_never_free_text_or_an_identifier(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(privacy, "_clean", {})  # what other tests screened does not count here
    day = dt.date(2026, 3, 2)
    with pytest.raises(PrivacyViolation):
        check_profile(person(note="sunați la 0733 222 111"), today=day)
    check_profile(person(note="needs a quiet room"), today=day)
    screen("outside our age range", "", today=day)  # an answer's text, as referrals/offers.py screens it
    remembered = {text for text, _ in privacy._clean}
    assert not any("0733" in text for text in remembered)
    assert "Pașcani" in remembered  # a locality recurs: screened once a day
    assert "needs a quiet room" not in remembered and "outside our age range" not in remembered  # free text: never kept


async def test_matches_waiting_together_share_one_versions_read_begun_after_they_came(monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL's case: a read under way may have begun before a match arrived, so that match waits for the next."""
    began: list[int] = []
    release = [asyncio.Event(), asyncio.Event()]

    async def versions() -> Any:
        began.append(len(arrived))
        await release[len(began) - 1].wait()
        return matching_cache.Versions((len(began),), (None, 0), (len(began), 0))  # the read's number as its directory counter

    arrived: list[int] = []
    cache = matching_cache.DirectoryCache()

    async def call() -> Any:
        arrived.append(1)
        return await cache._versions()

    monkeypatch.setattr(matching_cache, "versions", versions)
    monkeypatch.setattr(reader, "reads_can_be_shared", lambda: True)
    first = asyncio.ensure_future(call())
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(call()) for _ in range(3)]
    await asyncio.sleep(0)
    release[0].set()
    assert (await first).directory == (1,)
    await asyncio.sleep(0)
    release[1].set()
    assert [v.directory for v in await asyncio.gather(*later)] == [(2,)] * 3
    assert began == [1, 4]  # the second read began after all four had arrived
    assert cache._reading is None and cache._queued is None


async def test_a_patch_landing_during_a_read_by_id_is_not_undone_when_it_leaves_the_version_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL's case: a patch may leave the cache's version where it was (the reach held back by an open
    transaction); the rows a match read by id meanwhile were merged into the capacity before the patch."""
    directory = (7, "incarnation")
    cache = matching_cache.DirectoryCache()
    cache._capacity = CapacityColumns.of({1: Capacity(available=2, total=2, updated_at=AT)})
    cache._capacity_version = (*directory, 5)
    reading, read_done = asyncio.Event(), asyncio.Event()

    async def live_capacity(ids: list[int]) -> CapacityColumns:
        assert ids == [2]
        reading.set()
        await read_done.wait()
        return CapacityColumns.of({2: Capacity(available=1, total=1, updated_at=AT)})

    async def capacity_since(version: int) -> tuple[CapacityColumns, int]:
        assert version == 5
        return CapacityColumns.of({1: Capacity(available=0, total=2, updated_at=AT)}), 5  # the reach stays at 5

    monkeypatch.setattr(matching_cache, "live_capacity", live_capacity)
    monkeypatch.setattr(matching_cache, "capacity_since", capacity_since)
    monkeypatch.setattr(matching_cache, "sqlite", lambda: False)
    match = asyncio.ensure_future(cache.capacity((*directory, 5), [1, 2]))
    await reading.wait()
    await cache._catch_up((*directory, 6))  # the shelter (service 1) filled meanwhile
    read_done.set()
    await match
    patched = cache._capacity
    assert patched.available[patched.positions(np.array([1]))[0]] == 0  # was 2: the full shelter offered again
    assert cache.capacity_patches == 1


def test_a_distance_that_comes_back_nan_is_shown_as_none_and_not_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    """geographiclib's fallback can give NaN (coordinates out of range): the candidate shows no distance, as one
    without a site, and the directory's memo does not keep it (so a later match asks again)."""
    from referralnet.matching import engine
    from tests.unit.test_matching_engine import FREE, NOW, PASCANI, STALE_AFTER, by_id, service

    candidates = [service(1, 1, "Iași"), service(2, 2, "Pașcani")]
    d = Directory.build(candidates)
    monkeypatch.setattr(engine, "geodesic_km_remembered", lambda origin, lat, lon: np.full(lat.size, np.nan))
    result = engine.match(person(), d, PASCANI, {1: FREE, 2: FREE}, {}, now=NOW, stale_after=STALE_AFTER)
    assert sorted(c.service_id for c in result.candidates) == [1, 2]
    for sid in (1, 2):
        shown = by_id(result, sid)
        assert shown.distance_km is None
        assert all(r.code != "distance" for r in shown.reasons)
    assert d.geodesics == {}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(candidate_lists, profiles, st.lists(capacities, min_size=14, max_size=14), st.sets(st.integers(1, 4), max_size=2), st.integers(1, 20))
def test_whom_to_ask_is_the_matchs_order_without_its_reasons(
    candidates: list[Candidate], profile: Profile, caps: list[Capacity], unreachable: set[int], limit: int
) -> None:
    """``ranked_services``, which a referral's automatic offers are chosen from: the services and types of the match's
    candidates in its order (providers with no referral channel last), for any limit."""
    _whom_to_ask_is_the_match(candidates, profile, caps, unreachable, limit)


open_services = st.lists(
    st.tuples(st.integers(1, 4), st.sampled_from([SHELTER, LEGAL]), st.sampled_from(["Iași", "Pașcani", "Vaslui"])), min_size=2, max_size=10
).map(lambda specs: [service(i + 1, org, town, kind=kind) for i, (org, kind, town) in enumerate(specs)])
need_lists = st.permutations([Need(service_type=SHELTER), Need(service_type=LEGAL, priority="desired")]).map(list) | st.just(
    [Need(service_type=SHELTER)]
)
FULL = Capacity(available=2, total=3, updated_at=NOW)


@example(  # three shelters rank above the one legal service: a limit of 2 keeps one place for the legal need
    [service(1, 1, "Iași"), service(2, 2, "Iași"), service(3, 3, "Iași"), service(4, 4, "Iași", kind=LEGAL)],
    [Need(service_type=SHELTER), Need(service_type=LEGAL, priority="desired")], [FULL] * 10, set(), 2,
)  # fmt: skip
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(open_services, need_lists, st.lists(capacities, min_size=10, max_size=10), st.sets(st.integers(1, 4), max_size=2), st.integers(1, 5))
def test_whom_to_ask_keeps_each_needs_share_as_the_match_does(
    candidates: list[Candidate], needs: list[Need], caps: list[Capacity], unreachable: set[int], limit: int
) -> None:
    """The same with services open to everyone, so that most survive and a short ``limit`` cuts them by need."""
    _whom_to_ask_is_the_match(candidates, person(needs=needs), caps, unreachable, limit)


class _Snapshots:
    """A ``DirectoryCache`` that always has this directory, capacity and unreachable organisations."""

    def __init__(self, directory: Directory, capacity: dict[int, Capacity], unreachable: set[int]) -> None:
        self.snapshot = Snapshot(directory, {}, (1,), frozenset(unreachable))
        self.figures = capacity

    async def get(self, now: dt.datetime) -> Snapshot:
        return self.snapshot

    async def capacity(self, version: Any, service_ids: Any, *, begun: int | None = None) -> dict[int, Capacity]:
        return self.figures


def _whom_to_ask_is_the_match(candidates: list[Candidate], profile: Profile, caps: list[Capacity], unreachable: set[int], limit: int) -> None:
    capacity = {c.service_id: caps[i] for i, c in enumerate(candidates)}
    d, clock, stale = Directory.build(candidates), FixedClock(NOW), STALE_AFTER.days
    cache: Any = _Snapshots(d, capacity, unreachable)
    asked = asyncio.run(ranked_services(profile, cache, clock, stale_days=stale, limit=limit))
    shown = asyncio.run(match_profile(profile, cache, clock, stale_days=stale, limit=limit)).candidates
    assert asked == [(c.service_id, c.service_type) for c in shown]
    selection = select(profile, d, check_profile(profile, today=NOW.date()))
    assert rank_ids(selection, capacity, {}, now=NOW, stale_after=STALE_AFTER, limit=limit) == [
        (c.service_id, c.service_type, c.organisation_id) for c in rank(selection, capacity, {}, now=NOW, stale_after=STALE_AFTER, limit=limit).candidates
    ]
