"""asyncpg's connection pool, handed out in the order requests asked for a connection, and kept at hand
between plain uses.

asyncpg waits for a free connection on an ``asyncio.Queue``, which is not first-come first-served: a
waiter woken for a connection given back finds it already taken by a task that asked later (a task
that finds the queue non-empty never waits), and goes back to the end of the line. Under load, with
more requests than connections, a few requests lost their turn again and again: on a list page
with 32 clients and 10 connections the median was 17 ms and the 99th percentile 120-160 ms.

In front of the pool, a semaphore with one turn per connection (asyncio's lets no newcomer pass a
waiter): a request that has a turn finds a connection free. A turn comes back when its connection is
given back, or when the connection is closed under its holder (asyncpg then takes the connection back
by itself), so a server that went away does not cost the line its turns.

A connection given back *clean* (``park=True``, or inside :func:`parking`: a plain statement or a
committed transaction, no transaction left open, no session state by the caller's contract) is kept
here, still checked out of asyncpg, for the next request: asyncpg's own checkout and give-back (a
task for its ``shield``, a timer, a proxy: about 40 µs of CPU a use) are skipped. Kept connections
go back to asyncpg after ``RECYCLE_USES`` uses, so that its checks (``max_queries``, expired
connections) still apply, and after ``IDLE_SECONDS`` to twice that unused (one timer), so that its idle
timer still closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import time
from collections.abc import Generator, Iterator
from typing import Any

RECYCLE_USES = 1000
IDLE_SECONDS = 30.0

# True while a connection is given back clean though its holder does not say so itself (Piccolo's
# transaction releases its connection from inside its own __aexit__).
_parking: contextvars.ContextVar[bool] = contextvars.ContextVar("referralnet_pgpool_parking", default=False)


@contextlib.contextmanager
def parking() -> Iterator[None]:
    """Connections given back inside this block are clean: :class:`FairPool` may keep them."""
    token = _parking.set(True)
    try:
        yield
    finally:
        _parking.reset(token)


def _clean(connection: Any) -> bool:
    """Whether ``connection`` is open and outside a transaction (one asyncpg took back raises: not clean)."""
    try:
        return not connection.is_closed() and not connection.is_in_transaction()
    except Exception:  # noqa: BLE001 - a proxy asyncpg has detached
        return False


class FairPool:
    """``pool`` (an ``asyncpg.Pool`` of at most ``size`` connections) with its connections taken first come
    first served, and clean ones kept between uses.

    ``acquire()`` works as asyncpg's does (an ``async with``, or awaited and given back with ``release``);
    everything else (``get_size``...) is ``pool``'s own, passed through.
    """

    def __init__(self, pool: Any, size: int) -> None:
        self.pool = pool
        self._turns = asyncio.BoundedSemaphore(size)  # a turn given twice would raise, not widen the pool
        self._out: dict[int, _Turn] = {}  # by id() of the connections handed out
        self._kept: list[tuple[Any, int, float]] = []  # (connection, uses, kept since); the newest last
        self._sweep: asyncio.TimerHandle | None = None
        self._sweeping: asyncio.Future[None] | None = None  # held: the loop keeps only a weak reference to a task
        self._closing = False
        self._generation = 0  # moved by expire_connections: a connection handed out before is not kept

    def acquire(self, *, timeout: float | None = None, park: bool = False) -> _Acquire:
        """A connection, once every request that asked before this one has had its own; with ``park``, an
        ``async with`` block that ends without an exception gives it back clean."""
        return _Acquire(self, timeout, park)

    async def release(self, connection: Any, *, timeout: float | None = None, park: bool = False) -> None:
        """Give ``connection`` back: kept for the next request if it is clean (``park``, or inside
        :func:`parking`), else to asyncpg's pool; then its turn to the next in line."""
        turn = self._out.get(id(connection))
        try:
            if turn is not None and not turn.given:
                with contextlib.suppress(Exception):  # a connection already closed has no listeners left
                    connection.remove_termination_listener(turn.give)
                if (park or _parking.get()) and self._keeps(turn) and _clean(connection):
                    self._keep(connection, turn.uses)
                    return
            await self.pool.release(connection, timeout=timeout)
        finally:
            if turn is not None:
                turn.give()

    async def close(self) -> None:
        """asyncpg's ``close`` (it waits for the connections in use), once the kept ones are back in it."""
        self._stop_keeping()
        try:
            await self._give_back_kept(0.0)
            await self.pool.close()
        except BaseException:  # cancelled (a stop's time limit) or failed, perhaps before asyncpg's close began
            self.pool.terminate()
            raise

    def terminate(self) -> None:
        """asyncpg's ``terminate``: every connection ended at once, the kept ones with the others."""
        self._stop_keeping()
        self._kept.clear()
        self.pool.terminate()

    async def expire_connections(self) -> None:
        """asyncpg's: connections in use are replaced once given back; none handed out now is kept again."""
        self._generation += 1
        await self._give_back_kept(0.0)
        await self.pool.expire_connections()

    def _stop_keeping(self) -> None:
        """No connection is kept from now on, and the idle sweep stops."""
        self._closing = True
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None

    def _keeps(self, turn: _Turn) -> bool:
        return turn.uses < RECYCLE_USES and turn.generation == self._generation and not self._closing

    def _keep(self, connection: Any, uses: int) -> None:
        self._kept.append((connection, uses, time.monotonic()))
        if self._sweep is None:
            self._sweep = asyncio.get_running_loop().call_later(IDLE_SECONDS, self._sweep_idle)

    def _sweep_idle(self) -> None:
        """Kept connections unused for ``IDLE_SECONDS`` back to asyncpg (its idle timer closes those above its minimum)."""
        self._sweep = None
        if self._kept and not self._closing:
            self._sweeping = asyncio.ensure_future(self._give_back_kept(IDLE_SECONDS))
            self._sweep = asyncio.get_running_loop().call_later(IDLE_SECONDS, self._sweep_idle)

    async def _give_back_kept(self, idle: float) -> None:
        """Kept connections unused for ``idle`` seconds or more back to asyncpg (the oldest are first in the list)."""
        since = time.monotonic() - idle
        n = 0
        while n < len(self._kept) and self._kept[n][2] <= since:
            n += 1
        stale, self._kept[:n] = self._kept[:n], []
        for connection, _, _ in stale:
            with contextlib.suppress(Exception):  # one asyncpg took back (closed) has nothing to give
                await self.pool.release(connection)

    async def _take(self, timeout: float | None) -> Any:
        async with asyncio.timeout(timeout) if timeout is not None else contextlib.nullcontext():  # the whole wait
            await self._turns.acquire()
            try:
                connection, uses = self._kept_one()
                if connection is None:
                    connection = await self.pool.acquire()
            except BaseException:
                self._turns.release()
                raise
        turn = self._out[id(connection)] = _Turn(self, connection, uses + 1, self._generation)
        connection.add_termination_listener(turn.give)
        return connection

    def _kept_one(self) -> tuple[Any, int]:
        """The most recently kept connection still open (asyncpg took back those whose server closed them)."""
        while self._kept:
            connection, uses, _ = self._kept.pop()
            if _clean(connection):
                return connection, uses
        return None, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.pool, name)


class _Turn:
    """The turn of one connection handed out, given back once: on release, or when the connection is closed."""

    __slots__ = ("connection", "generation", "given", "pool", "uses")

    def __init__(self, pool: FairPool, connection: Any, uses: int, generation: int) -> None:
        self.pool, self.connection, self.given, self.uses, self.generation = pool, connection, False, uses, generation

    def give(self, *_: object) -> None:
        if not self.given:
            self.given = True
            self.pool._out.pop(id(self.connection), None)
            self.pool._turns.release()


class _Acquire:
    """What ``acquire()`` returns: awaited, a connection (give it back with ``release``); or an ``async with``."""

    def __init__(self, pool: FairPool, timeout: float | None, park: bool) -> None:
        self.pool, self.timeout, self.park = pool, timeout, park
        self.connection: Any = None

    def __await__(self) -> Generator[Any, None, Any]:
        return self.pool._take(self.timeout).__await__()

    async def __aenter__(self) -> Any:
        self.connection = await self.pool._take(self.timeout)
        return self.connection

    async def __aexit__(self, exc_type: object, *_: object) -> None:
        connection, self.connection = self.connection, None
        await self.pool.release(connection, park=self.park and exc_type is None)
