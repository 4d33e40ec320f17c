"""Verified token -> actor, kept in the serving process so that a request need not read its token row.

An entry lives at most ``ttl`` seconds. Revoking a token or deactivating an organisation drops
every cache of this process at once (:func:`forget_everywhere`, called after the change commits)
and bumps the ``access`` counter (:mod:`referralnet.counters`) in the same transaction; each cache
reads that counter at most once per ``check_every`` second and empties itself when it moved, so
another instance honours the change within about a second. Unknown and revoked tokens are never
cached: a refused token costs its database read every time.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Awaitable, Callable

from referralnet.accounts.schemas import Actor

# Every cache of this process (one per app), so that a revocation here drops them all.
_caches: weakref.WeakSet[TokenCache] = weakref.WeakSet()


class TokenCache:
    """Token hash -> actor for ``ttl`` seconds, emptied when the shared ``access`` counter moves."""

    def __init__(
        self,
        *,
        ttl: float = 30.0,
        check_every: float = 1.0,
        max_entries: int = 10_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.check_every, self.max_entries, self.now = ttl, check_every, max_entries, now
        self.lookups = 0  # token rows read so far (for tests and benchmarks)
        self._entries: dict[str, tuple[float, Actor]] = {}
        # Bumped by every invalidation: a lookup that began before one must not store its older answer.
        self._generation = 0
        self._counter: int | None = None
        self._checked_at = float("-inf")
        _caches.add(self)

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    async def _check(self, read_counter: Callable[[], Awaitable[int]]) -> None:
        now = self.now()
        if now - self._checked_at < self.check_every:
            return
        self._checked_at = now  # first: concurrent requests do not all read the counter
        value = await read_counter()
        if value != self._counter:
            if self._counter is not None:
                self.clear()
            self._counter = value

    async def actor(
        self,
        token_hash: str,
        lookup: Callable[[], Awaitable[Actor | None]],
        read_counter: Callable[[], Awaitable[int]],
    ) -> Actor | None:
        """The cached actor of ``token_hash``, or ``lookup()``'s answer (stored when it is an actor)."""
        await self._check(read_counter)
        entry = self._entries.get(token_hash)
        if entry is not None:
            if entry[0] > self.now():
                return entry[1]
            del self._entries[token_hash]
        generation = self._generation
        self.lookups += 1
        actor = await lookup()
        if actor is not None and generation == self._generation:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()  # bounded memory; refilled by the next requests
            self._entries[token_hash] = (self.now() + self.ttl, actor)
        return actor


def forget_everywhere() -> None:
    """Drop every cached actor in this process (after a revocation or a deactivation commits)."""
    for cache in list(_caches):
        cache.clear()
