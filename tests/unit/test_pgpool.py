"""The PostgreSQL pool's line: connections go to requests in the order they asked (``referralnet.pgpool``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from typing import Any

import pytest

from referralnet import pgpool
from referralnet.pgpool import FairPool, parking


class Connection(str):
    """A pooled connection as far as the line uses one (as asyncpg's, a new object each time it is handed
    out, naming the same server connection): it tells listeners when it is closed."""

    def __init__(self, name: str) -> None:
        self.listeners: set[Callable[[Any], None]] = set()
        self.back = False
        self.in_transaction = False

    def is_closed(self) -> bool:
        if self.back:  # as asyncpg's proxy once the pool has it back
            raise RuntimeError("connection has been released back to the pool")
        return False

    def is_in_transaction(self) -> bool:
        return self.in_transaction

    def add_termination_listener(self, callback: Callable[[Any], None]) -> None:
        self.listeners.add(callback)

    def remove_termination_listener(self, callback: Callable[[Any], None]) -> None:
        self.listeners.discard(callback)


class QueuePool:
    """What asyncpg's pool does with its connections: an ``asyncio.Queue``, where a task that finds a
    connection waiting takes it at once, even if others have been waiting longer."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.LifoQueue[str] = asyncio.LifoQueue()
        for n in range(size):
            self.queue.put_nowait(f"connection {n}")
        self.closed = self.terminated = False
        self.taken = self.given = self.expired = 0  # checkouts, give-backs and expiries through this pool
        self.slow_release = 0.0  # seconds a give-back takes (a server that stopped answering)

    def closed_under_its_holder(self, connection: Connection) -> None:
        """What asyncpg does when the server closes a connection someone holds: listeners told, connection taken back."""
        for listener in connection.listeners:
            asyncio.get_running_loop().call_soon(listener, connection)
        connection.listeners.clear()
        connection.back = True
        self.queue.put_nowait(str(connection))

    def acquire(self, *, timeout: float | None = None) -> Taken:
        return Taken(self)

    async def release(self, connection: Connection, *, timeout: float | None = None) -> None:
        await asyncio.sleep(self.slow_release)
        if not connection.back:  # given back before (or taken back when closed): nothing to do
            connection.back = True
            self.given += 1
            self.queue.put_nowait(str(connection))

    async def close(self) -> None:
        self.closed = True

    def terminate(self) -> None:
        self.terminated = True

    async def expire_connections(self) -> None:
        self.expired += 1


class Taken:
    """Like asyncpg's ``acquire()``: awaited, or an ``async with``."""

    def __init__(self, pool: QueuePool) -> None:
        self.pool = pool
        self.connection = Connection("")

    def __await__(self) -> Generator[Any, None, Connection]:
        return self._take().__await__()

    async def _take(self) -> Connection:
        connection = Connection(await self.pool.queue.get())
        self.pool.taken += 1
        return connection

    async def __aenter__(self) -> Connection:
        self.connection = await self
        return self.connection

    async def __aexit__(self, *exc: object) -> None:
        await self.pool.release(self.connection)


async def _overtaken(pool: Any) -> list[str]:
    """B waits for the one connection A holds; A gives it back and at once asks again: who gets it first?"""
    order: list[str] = []
    held = await pool.acquire()

    async def b() -> None:
        async with pool.acquire():
            order.append("B")

    waiting = asyncio.create_task(b())
    await asyncio.sleep(0.01)
    await pool.release(held)
    async with pool.acquire():
        order.append("A")
    await waiting
    return order


async def test_a_request_waiting_for_a_connection_gets_it_before_a_later_one() -> None:
    """The queue alone lets the later request pass (which made a few requests wait again and again
    under load); through the line the one that waited goes first."""
    assert await _overtaken(QueuePool(1)) == ["A", "B"]
    assert await _overtaken(FairPool(QueuePool(1), 1)) == ["B", "A"]


async def _turns(pool: Any, workers: int = 5, rounds: int = 10) -> list[int]:
    """Who had the one connection, in order, when each worker asks again as soon as it gives it back."""
    served: list[int] = []

    async def worker(n: int) -> None:
        for _ in range(rounds):
            async with pool.acquire():
                served.append(n)
                await asyncio.sleep(0)

    await asyncio.gather(*(worker(n) for n in range(workers)))
    return served


async def test_a_busy_worker_does_not_keep_the_connection_from_the_others() -> None:
    """The queue alone lets whoever gives a connection back take it again at once; the line takes turns."""

    def in_turn(order: list[int]) -> bool:
        return all(sorted(order[i : i + 5]) == [0, 1, 2, 3, 4] for i in range(0, 50, 5))

    unfair = await _turns(QueuePool(1))
    assert not in_turn(unfair) and unfair[:2] == [0, 0], unfair
    fair = await _turns(FairPool(QueuePool(1), 1))
    assert in_turn(fair), fair


async def test_a_cancelled_or_failed_wait_gives_its_turn_on() -> None:
    """A request cancelled while waiting, or whose connection could not be had, does not keep a turn."""
    inner = QueuePool(1)
    pool = FairPool(inner, 1)
    held = await pool.acquire()
    cancelled = asyncio.create_task(pool._take(None))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await pool.release(held)

    async def refused() -> str:
        raise ConnectionError("the server went away")

    def refuse(*, timeout: float | None = None) -> Any:
        return refused()

    inner.acquire = refuse  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await pool.acquire()
    del inner.acquire
    async with asyncio.timeout(1):  # the one turn is free again
        async with pool.acquire() as connection:
            assert connection == "connection 0"


async def test_a_connection_closed_under_its_holder_gives_its_turn_on() -> None:
    """asyncpg takes a connection back on its own when its server closes it (a restart, a failover): the
    turn comes back with it, whether or not its holder ever gives it back, and only once."""
    inner = QueuePool(1)
    pool = FairPool(inner, 1)
    dead = await pool.acquire()
    waiting = asyncio.create_task(pool._take(None))
    await asyncio.sleep(0.01)
    inner.closed_under_its_holder(dead)
    async with asyncio.timeout(1):
        again = await waiting
        assert again == dead and again is not dead  # the same server connection, handed out anew
        await pool.release(dead)  # the first holder, late: its turn was given already
        assert pool._turns.locked()  # the second holder has the one turn: not given twice
        await pool.release(again)
        async with pool.acquire():
            assert pool._turns.locked()
        assert not pool._turns.locked() and not pool._out


async def test_a_timeout_bounds_the_wait_in_line_too() -> None:
    pool = FairPool(QueuePool(1), 1)
    held = await pool.acquire()
    with pytest.raises(TimeoutError):
        await pool.acquire(timeout=0.05)
    await pool.release(held)
    async with asyncio.timeout(1), pool.acquire(timeout=0.05) as connection:
        assert connection == held


async def test_what_the_line_does_not_answer_goes_to_the_pool() -> None:
    inner = QueuePool(1)
    await FairPool(inner, 1).close()
    assert inner.closed


async def test_a_connection_given_back_clean_serves_the_next_request_without_the_pool() -> None:
    """A plain use that ends well keeps its connection for the next one (asyncpg's checkout and give-back,
    about 40 µs of CPU, skipped); closing gives the kept ones back first, so the pool's close does not wait."""
    inner = QueuePool(2)
    pool = FairPool(inner, 2)
    async with pool.acquire(park=True) as first:
        pass
    async with pool.acquire(park=True) as second:
        assert second is first
    held = await pool.acquire()
    assert held is first and (inner.taken, inner.given) == (1, 0)
    await pool.release(held, park=True)
    assert not pool._turns.locked() and not pool._out
    await pool.close()
    assert inner.closed and (inner.taken, inner.given) == (1, 1) and not pool._kept


async def test_only_a_connection_given_back_clean_is_kept() -> None:
    inner = QueuePool(1)
    pool = FairPool(inner, 1)
    with pytest.raises(ValueError):
        async with pool.acquire(park=True):
            raise ValueError("the block failed: the connection may be mid-statement")
    async with pool.acquire():  # not said to be clean
        pass
    async with pool.acquire(park=True) as connection:
        connection.in_transaction = True  # left a transaction open
    assert (inner.taken, inner.given) == (3, 3) and not pool._kept
    with parking():  # a committed transaction, given back from inside Piccolo's own code
        connection = await pool.acquire()
        await pool.release(connection)
    assert inner.given == 3 and pool._kept


async def test_a_kept_connection_the_server_closed_is_not_handed_out() -> None:
    inner = QueuePool(1)
    pool = FairPool(inner, 1)
    async with pool.acquire(park=True) as kept:
        pass
    inner.closed_under_its_holder(kept)  # asyncpg has it back, its proxy detached
    async with asyncio.timeout(1), pool.acquire() as connection:
        assert connection is not kept and connection == kept  # a new checkout of the same server connection
    assert not pool._kept and not pool._turns.locked()


async def test_kept_connections_go_back_after_so_many_uses_and_when_idle(monkeypatch: pytest.MonkeyPatch) -> None:
    """asyncpg's own checks (queries per connection, expired connections, its idle timer) still see them."""
    monkeypatch.setattr(pgpool, "RECYCLE_USES", 3)
    monkeypatch.setattr(pgpool, "IDLE_SECONDS", 0.05)
    inner = QueuePool(2)
    pool = FairPool(inner, 2)
    for _ in range(3):
        async with pool.acquire(park=True):
            pass
    assert (inner.taken, inner.given) == (1, 1) and not pool._kept  # the third use gave it back
    async with pool.acquire(park=True):
        pass
    assert pool._kept
    await asyncio.sleep(0.2)
    assert (inner.taken, inner.given) == (2, 2) and not pool._kept


async def test_a_connection_given_back_while_the_pool_closes_is_not_kept() -> None:
    inner = QueuePool(1)
    pool = FairPool(inner, 1)
    held = await pool.acquire()
    await pool.close()
    await pool.release(held, park=True)
    assert inner.given == 1 and not pool._kept


async def test_a_waiting_request_gets_a_kept_connection_before_a_later_one() -> None:
    order: list[str] = []
    pool = FairPool(QueuePool(1), 1)
    held = await pool.acquire()

    async def b() -> None:
        async with pool.acquire(park=True):
            order.append("B")

    waiting = asyncio.create_task(b())
    await asyncio.sleep(0.01)
    await pool.release(held, park=True)
    async with pool.acquire(park=True):
        order.append("A")
    await waiting
    assert order == ["B", "A"]


async def test_a_cancelled_block_gives_its_connection_to_the_pool() -> None:
    """A request cancelled while its statement runs leaves the connection mid-statement: asyncpg's give-back
    waits for the cancellation; it is not kept."""
    inner = QueuePool(1)
    pool = FairPool(inner, 1)

    async def request() -> None:
        async with pool.acquire(park=True):
            await asyncio.sleep(10)

    task = asyncio.create_task(request())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert inner.given == 1 and not pool._kept and not pool._turns.locked()


async def test_a_close_cut_short_while_kept_connections_go_back_ends_the_pool() -> None:
    """Stopping has a time limit: cancelled while a kept connection goes back (a server that stopped answering),
    before asyncpg's own close began, the pool is ended all the same, not left open."""
    inner = QueuePool(1)
    pool = FairPool(inner, 1)
    async with pool.acquire(park=True):
        pass
    inner.slow_release = 10
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(pool.close(), 0.05)
    assert inner.terminated


async def test_connections_in_use_when_the_pool_expires_its_connections_are_not_kept() -> None:
    inner = QueuePool(2)
    pool = FairPool(inner, 2)
    async with pool.acquire(park=True):
        pass
    held = await pool.acquire()  # the kept one
    await pool.expire_connections()
    await pool.release(held, park=True)
    assert inner.expired == 1 and inner.given == 1 and not pool._kept
    async with pool.acquire(park=True) as fresh:  # handed out after: kept as before
        pass
    assert [kept for kept, _, _ in pool._kept] == [fresh]
