"""Matching's cached snapshots of the directory, of providers' answer records and of live capacity,
and the versions that tell whether they are current.

One query per match (:data:`VERSION_SQL`, index look-ups only) tells whether the snapshots are
current. The directory is rebuilt when the ``directory`` counter moves: every organisation or
service change bumps it in its own transaction (:mod:`referralnet.counters`), so two edits in one
microsecond, or clocks that disagree between instances, cannot leave a stale snapshot.
Answer records are recomputed when offers move (a new offer raises the
highest id; an answer, always from ``pending``, lowers the pending count), at most once per
``records_every``: they only nudge the ranking, and computing them reads the offer table.

Capacity must be exact (a full shelter is never offered) and does not move the directory counter.
Every change of it is written by :mod:`referralnet.directory.places`, which stamps the service's
``capacity_version`` in the same transaction: with the ``capacity`` counter's new value on SQLite, with
the transaction's id on PostgreSQL (no shared row for every writer to queue on). A match reads the
capacity of the services that pass its static filters and are not cached yet; when the highest stamp
(the counter on SQLite) is above what the cache is current to, it first re-reads the services stamped
since (an index range), never the whole cache. On PostgreSQL the cache is current to the oldest
transaction holding an id on the whole server when it read (``capacity_reads``): while one that took its id
before the newest stamp is still open, in any database, each versions read re-reads the services stamped
since it (one read for all the matches that share it).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from referralnet.dialect import sqlite
from referralnet.matching import reader
from referralnet.matching.answer_records import provider_records
from referralnet.matching.capacity_reads import TOP_STAMP_PG, capacity_since, live_capacity
from referralnet.matching.directory import Directory
from referralnet.matching.live import CapacityColumns, ProviderRecord
from referralnet.matching.loading import build_directory, directory_rows, unreachable_organisations

Version = tuple[Any, ...]

_VERSIONS = (
    "SELECT (SELECT value FROM change_counter WHERE name = 'directory') AS directory, "
    "(SELECT max(id) FROM offer) AS offer_id, (SELECT count(*) FROM offer WHERE status = 'pending') AS pending, "
    "{capacity} AS capacity{incarnation}"
)
VERSION_SQL = _VERSIONS.format(capacity="(SELECT value FROM change_counter WHERE name = 'capacity')", incarnation="")
# PostgreSQL: the highest capacity stamp of this server's transactions (an index look-up) instead of the counter; and
# which database this is (its oid, the server's start): a database restored, recreated, or a replica failed over to
# may come back with the same directory counter and stamps no higher than those cached, and must be read afresh.
INCARNATION_PG = "(SELECT oid FROM pg_database WHERE datname = current_database())::text || ' ' || pg_postmaster_start_time()::text"
VERSION_SQL_PG = _VERSIONS.format(capacity=TOP_STAMP_PG, incarnation=f", {INCARNATION_PG} AS incarnation")


class Versions(NamedTuple):
    directory: Version  # the directory counter (on PostgreSQL with the database's incarnation)
    offers: Version
    capacity: Version  # the directory's version, then the highest capacity stamp
    # Capacity reads this process had begun when these versions were read (``DirectoryCache``): one begun later
    # holds every stamp they saw, even where PostgreSQL's reach stays below the highest stamp. None: not counted.
    capacity_reads: int | None = None


async def versions() -> Versions:
    """The versions of the directory, of the offers and of capacity, in one round trip."""
    postgres = not sqlite()
    columns = await reader.fetch_columns(VERSION_SQL_PG if postgres else VERSION_SQL, width=5 if postgres else 4, small=True)
    (directory_counter,), (offer_id,), (pending,), (capacity,) = columns[:4]
    directory = (directory_counter, columns[4][0]) if postgres else (directory_counter,)
    return Versions(directory, (offer_id, pending), (*directory, capacity or 0))


class Snapshot(NamedTuple):
    directory: Directory
    records: Mapping[int, ProviderRecord]  # organisation id -> its answer record
    capacity_version: Version
    unreachable: frozenset[int] = frozenset()  # organisations with no referral channel (directory data)
    capacity_reads: int | None = None  # Versions.capacity_reads of the versions it was made for


class DirectoryCache:
    """This process's latest directory, answer records and capacity; refreshed when the database's versions move."""

    def __init__(self, records_every: dt.timedelta = dt.timedelta(seconds=60)) -> None:
        self.records_every = records_every
        self.builds = 0  # directory builds so far (for tests and benchmarks)
        self.record_loads = 0  # answer-record computations so far
        self._directory: Directory | None = None
        self._directory_version: Version | None = None
        self._unreachable: frozenset[int] = frozenset()
        self._records: Mapping[int, ProviderRecord] = {}
        self._records_version: Version | None = None
        self._records_at: dt.datetime | None = None
        self._capacity = CapacityColumns.empty()
        self._capacity_version: Version | None = None
        self._whole = False  # the cache holds every service of the directory version it is for
        self._lock: asyncio.Lock | None = None
        self._capacity_lock: asyncio.Lock | None = None
        self._reading: asyncio.Task[Versions] | None = None  # the versions read under way
        self._queued: asyncio.Task[Versions] | None = None  # the read that starts when it ends
        self._reads_loop: asyncio.AbstractEventLoop | None = None
        self.capacity_patches = 0  # capacity changes patched in so far (for tests and benchmarks)
        self._reads_begun = 0  # capacity reads (fresh or patch) begun so far
        self._covers = 0  # 1 + the number of the latest-begun capacity read applied to the cache
        self._replaced = 0  # fresh reads and patches applied to the cached capacity so far

    def _current(self, v: Versions, now: dt.datetime) -> bool:
        fresh = self._directory is not None and v.directory == self._directory_version
        return fresh and not self._records_due(v.offers, now)

    def _records_due(self, offers_version: Version, now: dt.datetime) -> bool:
        if self._records_at is None:
            return True
        return offers_version != self._records_version and now - self._records_at >= self.records_every

    async def get(self, now: dt.datetime) -> Snapshot:
        """The current snapshot; ``now`` (the injected clock) paces the record refreshes."""
        v = await self._versions()
        if not self._current(v, now):
            if self._lock is None:
                self._lock = asyncio.Lock()  # created on the serving loop, not at import
            async with self._lock:
                # Refreshed by a holder before us for the versions read after this call began: take it. A read of
                # each waiting match's own here, one after another, held the last of many for tens of ms.
                if self._current(v, now):
                    return self._snapshot(v)
                v = await self._versions()
                if self._directory is None or v.directory != self._directory_version:
                    # Seconds of CPU at 100k services: off the event loop, so other requests go on.
                    self._directory = await asyncio.to_thread(build_directory, *await directory_rows())
                    self._unreachable = await unreachable_organisations()
                    self._directory_version = v.directory
                    self.builds += 1
                if self._records_due(v.offers, now):
                    self._records = await provider_records()
                    self._records_version, self._records_at = v.offers, now
                    self.record_loads += 1
        return self._snapshot(v)

    def _snapshot(self, v: Versions) -> Snapshot:
        assert self._directory is not None
        return Snapshot(self._directory, self._records, v.capacity, self._unreachable, v.capacity_reads)

    async def _versions(self) -> Versions:
        """:func:`versions`, read after this call began; calls arriving while a read is under way share the next one.

        On PostgreSQL each read is a pool round trip (and the pool's reset of the connection); with
        many matches at once one read serves all that arrived before it began. A read that finds capacity
        moved patches the cache before it answers (:meth:`_catch_up`), once for all of them: left to each
        match, the patch lined them up at the capacity lock and broke up the sharing of the reads after it.
        Not shared inside a transaction (its own connection) nor on SQLite (read in microseconds on this thread).
        """
        if not reader.reads_can_be_shared():
            return self._counted(await versions())
        loop = asyncio.get_running_loop()
        if self._reads_loop is not loop:
            self._reading, self._queued, self._reads_loop = None, None, loop
        if self._reading is None:
            self._reading = loop.create_task(self._read_versions(None))
            return await asyncio.shield(self._reading)
        if self._queued is None:  # the read under way may have begun before this call: wait for the next one
            self._queued = loop.create_task(self._read_versions(self._reading))
        return await asyncio.shield(self._queued)

    async def _read_versions(self, after: asyncio.Task[Versions] | None) -> Versions:
        me = asyncio.current_task()
        if after is not None:
            await asyncio.wait([after])
            self._reading = me  # type: ignore[assignment]  # from here on, callers queue behind this read
            if self._queued is me:
                self._queued = None
        try:
            v = self._counted(await versions())
            # _whole first: nothing is cached before the first match, and v is not read until something is.
            if self._whole and self._holds_every_service(v.capacity):
                await self._catch_up(v.capacity, v.capacity_reads)
            return v
        finally:
            if self._reading is me:
                self._reading = None

    def _counted(self, v: Versions) -> Versions:
        """``v``, just read, with the number of capacity reads begun so far."""
        return Versions(v.directory, v.offers, v.capacity, self._reads_begun)  # not _replace: several times slower

    def _current_for(self, version: Version, begun: int | None) -> bool:
        """Whether the cached capacity holds every stamp of ``version`` (read when ``begun`` capacity reads had begun):
        it is current up to the highest stamp, or a capacity read begun after that versions read was applied since.
        The second matters on PostgreSQL, where the reach stays below the highest stamp while a transaction older than
        it is open anywhere on the server: each match would otherwise read the changes again, one after another."""
        seen = self._capacity_version
        if seen is None or seen[:-1] != version[:-1]:
            return False
        return bool(seen[-1] >= version[-1] or (begun is not None and self._covers > begun))

    async def capacity(self, version: Version, service_ids: list[int] | np.ndarray, *, begun: int | None = None) -> CapacityColumns:
        """Live capacity of ``service_ids`` under capacity ``version`` (directory counter, highest capacity stamp).

        The first call (and the first after a move of the directory counter: services added or changed)
        reads every service's capacity at once; when the highest stamp is above the one the cache is current
        to, only the services stamped since (``capacity_version`` above it) are read again and patched in,
        one patch at a time. Services the cache lacks all the same (added since) are read by id. ``begun``: the
        ``capacity_reads`` of the versions ``version`` comes from (:meth:`_current_for`).
        """
        cached, ids = self._capacity, np.asarray(service_ids, dtype=np.int64)
        current = self._current_for(version, begun)
        if current and (self._whole or bool((cached.positions(ids) >= 0).all())):
            return cached
        if not current:
            await self._catch_up(version, begun)
        cached = self._capacity
        if self._holds_every_service(version):
            return cached  # nothing to look up
        missing = ids[cached.positions(ids) < 0]
        if missing.size == 0:
            return cached
        # Read without the lock. The rows hold every stamp up to the value seen when the read began; one
        # stamped during the read is re-read by the next patch, so they are kept unless a patch (or a
        # fresh start) landed meanwhile. Counted, not told by the version: a patch may leave the version as it
        # was (on PostgreSQL the reach can stay put), and the rows, merged into the capacity from before it, would undo it.
        replaced, merged_into = self._replaced, self._capacity
        merged = merged_into.merge(await live_capacity(missing.tolist()))
        if self._replaced == replaced:
            self._capacity = merged
        return merged

    def _holds_every_service(self, version: Version) -> bool:
        """Whether the cached capacity holds every service of ``version``'s directory (none needs reading by id)."""
        seen = self._capacity_version
        return self._whole and seen is not None and seen[:-1] == version[:-1]

    async def _catch_up(self, version: Version, begun: int | None = None) -> None:
        """Bring the cached capacity up to ``version``: afresh after a move of the directory counter, else a patch
        of the services stamped since the last value seen (none if one begun after ``version`` was read landed meanwhile)."""
        if self._capacity_lock is None:
            self._capacity_lock = asyncio.Lock()
        async with self._capacity_lock:  # patches one after another: a later one never lands under an earlier one
            seen = self._capacity_version
            if seen is None or seen[:-1] != version[:-1]:
                # Afresh: every service's capacity in one read (an index range from the lowest stamp),
                # current up to the stamp it returns, so a match never reads its survivors one set
                # at a time (thousands of rows per new profile at 100k services).
                read = self._begin_read()
                everything, counter = await capacity_since(-1)
                self._capacity, self._replaced = everything, self._replaced + 1
                self._capacity_version = (*version[:-1], _reach(counter, version))
                self._covers = read + 1
                # Every service of this directory version is in it (adding one moves the directory
                # counter), unless SQLite's counter row is missing and nothing was read.
                self._whole = counter >= 0
            elif not self._current_for(version, begun):
                # One read serves every match queued here: it is current up to the stamp it returns, and holds every
                # stamp of the versions read before it began.
                read = self._begin_read()
                changed, counter = await capacity_since(seen[-1])
                self._capacity, self._replaced = self._capacity.merge(changed), self._replaced + 1
                self._capacity_version = (*version[:-1], _reach(counter, version))
                self._covers = read + 1
                self.capacity_patches += 1

    def _begin_read(self) -> int:
        """The number of a capacity read about to begin (reads run one at a time, under the capacity lock)."""
        self._reads_begun += 1
        return self._reads_begun - 1


def _reach(counter: int, version: Version) -> int:
    """The stamp a capacity read leaves the cache current to. On SQLite at least ``version``'s counter (read before
    it; a missing counter row reads as 0 there); on PostgreSQL the read's own, which may stay below the highest
    stamp ``version`` saw while a transaction older than that stamp's is still open."""
    return max(counter, version[-1]) if sqlite() else counter
