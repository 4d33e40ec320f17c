"""asyncpg's connection pool, handed out in the order requests asked for a connection.

asyncpg waits for a free connection on an ``asyncio.Queue``, which is not first-come first-served: a
waiter woken for a connection given back finds it already taken by a task that asked later (a task
that finds the queue non-empty never waits), and goes back to the end of the line. Under load, with
more requests than connections, a few requests lost their turn again and again: on a list page
with 32 clients and 10 connections the median was 17 ms and the 99th percentile 120-160 ms.

In front of the pool, a semaphore with one turn per connection (asyncio's lets no newcomer pass a
waiter): a request that has a turn finds a connection free in asyncpg's queue. A turn comes back when
its connection is given back, or when the connection is closed under its holder (asyncpg then takes
the connection back by itself), so a server that went away does not cost the line its turns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator
from typing import Any


class FairPool:
    """``pool`` (an ``asyncpg.Pool`` of at most ``size`` connections) with its connections taken first come first served.

    ``acquire()`` works as asyncpg's does (an ``async with``, or awaited and given back with ``release``);
    everything else (``close``, ``get_size``...) is ``pool``'s own, passed through.
    """

    def __init__(self, pool: Any, size: int) -> None:
        self.pool = pool
        self._turns = asyncio.BoundedSemaphore(size)  # a turn given twice would raise, not widen the pool
        self._out: dict[int, _Turn] = {}  # by id() of the connections handed out

    def acquire(self, *, timeout: float | None = None) -> _Acquire:
        """A connection, once every request that asked before this one has had its own."""
        return _Acquire(self, timeout)

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:
        """Give ``connection`` back to the pool, then its turn to the next in line."""
        turn = self._out.get(id(connection))
        try:
            if turn is not None and not turn.given:
                with contextlib.suppress(Exception):  # a connection already closed has no listeners left
                    connection.remove_termination_listener(turn.give)
            await self.pool.release(connection, timeout=timeout)
        finally:
            if turn is not None:
                turn.give()

    async def _take(self, timeout: float | None) -> Any:
        async with asyncio.timeout(timeout) if timeout is not None else contextlib.nullcontext():  # the whole wait
            await self._turns.acquire()
            try:
                connection = await self.pool.acquire()
            except BaseException:
                self._turns.release()
                raise
        turn = self._out[id(connection)] = _Turn(self, connection)
        connection.add_termination_listener(turn.give)
        return connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


class _Turn:
    """The turn of one connection handed out, given back once: on release, or when the connection is closed."""

    __slots__ = ("connection", "given", "pool")

    def __init__(self, pool: FairPool, connection: Any) -> None:
        self.pool, self.connection, self.given = pool, connection, False

    def give(self, *_: object) -> None:
        if not self.given:
            self.given = True
            self.pool._out.pop(id(self.connection), None)
            self.pool._turns.release()


class _Acquire:
    """What ``acquire()`` returns: awaited, a connection (give it back with ``release``); or an ``async with``."""

    def __init__(self, pool: FairPool, timeout: float | None) -> None:
        self.pool, self.timeout = pool, timeout
        self.connection: Any = None

    def __await__(self) -> Generator[Any, None, Any]:
        return self.pool._take(self.timeout).__await__()

    async def __aenter__(self) -> Any:
        self.connection = await self.pool._take(self.timeout)
        return self.connection

    async def __aexit__(self, *exc: object) -> None:
        connection, self.connection = self.connection, None
        await self.pool.release(connection)
