"""Matching's entry points over the cached snapshot (:mod:`referralnet.matching.cache`): rank the providers
for a profile, or say why one service cannot be asked for it now."""

from __future__ import annotations

import datetime as dt

import numpy as np

from referralnet.clock import Clock
from referralnet.matching.cache import DirectoryCache, Snapshot
from referralnet.matching.capacity_reads import live_capacity
from referralnet.matching.engine import rank, rank_ids, select
from referralnet.matching.live import CapacityColumns
from referralnet.matching.profile import Profile, check_profile
from referralnet.matching.reach import demote_unreachable, reachable_first
from referralnet.matching.schemas import MatchResult
from referralnet.matching.selection import Selection


async def _selected(profile: Profile, cache: DirectoryCache, clock: Clock) -> tuple[dt.datetime, Snapshot, Selection, CapacityColumns]:
    """The profile checked, the current snapshot, the services passing the static filters and their capacity."""
    origin = check_profile(profile, today=clock.now().date())
    now = clock.now()
    snapshot = await cache.get(now)
    selection = select(profile, snapshot.directory, origin)
    capacity = await cache.capacity(
        snapshot.capacity_version, snapshot.directory.service_id[selection.rows], begun=snapshot.capacity_reads
    )
    return now, snapshot, selection, capacity


async def match_profile(
    profile: Profile, cache: DirectoryCache, clock: Clock, *, stale_days: int, limit: int = 20
) -> MatchResult:
    """Rank the providers for ``profile``; nothing about the profile is stored."""
    now, snapshot, selection, capacity = await _selected(profile, cache, clock)
    result = rank(
        selection, capacity, snapshot.records, now=now, stale_after=dt.timedelta(days=stale_days), limit=limit
    )
    return demote_unreachable(result, snapshot.unreachable)


async def ranked_services(
    profile: Profile, cache: DirectoryCache, clock: Clock, *, stale_days: int, limit: int = 20
) -> list[tuple[int, str]]:
    """(service id, service type) of :func:`match_profile`'s candidates, in its order, without their reasons."""
    now, snapshot, selection, capacity = await _selected(profile, cache, clock)
    found = rank_ids(
        selection, capacity, snapshot.records, now=now, stale_after=dt.timedelta(days=stale_days), limit=limit
    )
    return [(service_id, service_type) for service_id, service_type, _ in reachable_first(found, snapshot.unreachable, lambda c: c[2])]


async def not_eligible_reason(profile: Profile, service_id: int, cache: DirectoryCache, clock: Clock) -> str:
    """Why ``service_id`` cannot be asked for ``profile`` now, for the error a person reads."""
    from referralnet.matching.why import why_not_eligible

    origin = check_profile(profile, today=clock.now().date())
    snapshot = await cache.get(clock.now())
    columns = await live_capacity([service_id])
    position = int(columns.positions(np.array([service_id], dtype=np.int64))[0])
    available = columns.capacity(position).available if position >= 0 else None
    reason = why_not_eligible(snapshot.directory, service_id, profile, origin, available)
    return f"is not eligible for this profile right now: {reason}" if reason else "is not eligible for this profile right now"
