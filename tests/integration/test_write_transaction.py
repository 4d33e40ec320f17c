"""``db.write_transaction`` on SQLite: the process's writers take turns, nesting joins, failures free the queue."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from referralnet import db, sql
from referralnet.matching import reader
from referralnet.tables import SweepLock
from tests.conftest import PG_URL


async def test_sqlite_writers_take_turns_and_a_failure_frees_the_queue(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'queue.sqlite'}")
    await db.migrate(engine)
    db.bind(engine)
    trace: list[tuple[str, int]] = []

    async def writer(i: int) -> None:
        async with db.write_transaction():
            trace.append(("begin", i))
            await asyncio.sleep(0.01)  # other writers run meanwhile, and must wait for this one
            async with db.write_transaction():  # nested: joins, does not wait for itself
                await SweepLock.insert(SweepLock(name=f"writer {i}"))
            trace.append(("commit", i))

    await asyncio.wait_for(asyncio.gather(*(writer(i) for i in range(8))), timeout=30)
    assert [kind for kind, _ in trace] == ["begin", "commit"] * 8
    assert all(trace[k][1] == trace[k + 1][1] for k in range(0, 16, 2))
    assert await SweepLock.count() == 8

    with pytest.raises(RuntimeError):
        async with db.write_transaction():
            await SweepLock.insert(SweepLock(name="rolled back"))
            raise RuntimeError("fails inside the transaction")
    async with asyncio.timeout(5):
        async with db.write_transaction():
            assert not await SweepLock.exists().where(SweepLock.name == "rolled back")


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: REFERRALNET_TEST_POSTGRES_URL is not set")
async def test_postgres_pool_resets_a_session_except_after_a_write_transaction_or_a_plain_read(postgres_url: str) -> None:
    """A connection used for other work comes back reset (a SET of one request never reaches the next);
    a write transaction's, which leaves no session state, is given back without that round trip."""
    engine = db.make_engine(postgres_url)
    await db.start(engine, pool_min=1, pool_max=1)  # one connection: every use below gets the same one
    db.bind(engine)
    try:
        assert engine.pool is not None
        async with engine.pool.acquire() as conn:
            await conn.execute("SET application_name = 'ordinary use'")
        async with engine.pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") != "ordinary use"

        async with db.write_transaction() as tx:
            await tx.connection.execute("SET application_name = 'inside a write'")
        assert await reader.fetch("SELECT 1 AS one") == [{"one": 1}]  # matching's plain reads: no reset either
        async with engine.pool.acquire() as conn:
            assert await conn.fetchval("SHOW application_name") == "inside a write"  # no reset: no round trip
    finally:
        await db.stop(engine)


async def test_sqlite_writes_outside_a_transaction_never_run_on_the_loops_reader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a plain SELECT runs on the event loop's own connection; a write there would hold the loop through its fsync."""
    engine = db.make_engine(f"sqlite:///{tmp_path / 'inline.sqlite'}")
    await db.migrate(engine)
    db.bind(engine)
    inline: list[bool] = []
    original = type(engine).read

    async def spy(self: Any, statement: str, args: Any = (), **kw: Any) -> Any:
        inline.append(kw.get("inline", False))
        return await original(self, statement, args, **kw)

    monkeypatch.setattr(type(engine), "read", spy)
    await sql.fetch("SELECT count(*) AS n FROM sweep_lock")
    await sql.fetch("WITH n AS (SELECT count(*) AS n FROM sweep_lock) SELECT n FROM n")
    await sql.fetch("INSERT INTO sweep_lock (name) VALUES ({})", "outside a transaction")
    await sql.fetch("WITH x AS (SELECT {} AS name) INSERT INTO sweep_lock (name) SELECT name FROM x", "with a CTE")
    assert inline == [True, True, False, False]
    assert (await sql.fetch("SELECT count(*) AS n FROM sweep_lock"))[0]["n"] == 2
    with pytest.raises(sqlite3.OperationalError, match="readonly"):  # the loop's reader refuses any write
        await engine.read("INSERT INTO sweep_lock (name) VALUES (?)", ("on the loop",), inline=True)


async def test_write_transaction_refuses_a_sqlite_engine_without_the_persistent_writer(tmp_path: Path) -> None:
    """Group commit needs make_engine's engine (its writer per loop); Piccolo's plain one would write outside the queue."""
    from piccolo.engine.sqlite import SQLiteEngine

    previous = db.current_engine()
    db.bind(SQLiteEngine(path=str(tmp_path / "plain.sqlite")))
    try:
        with pytest.raises(TypeError, match="PooledSQLiteEngine"):
            async with db.write_transaction():
                pytest.fail("the block must not run")
    finally:
        db.bind(previous)


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: REFERRALNET_TEST_POSTGRES_URL is not set")
async def test_postgres_connections_are_taken_in_turn_through_every_path(postgres_url: str) -> None:
    """Piccolo's queries and transactions, the plain reads and the health check all go through the pool's
    first-come first-served line (``pgpool.FairPool``), many at once on two connections."""
    from referralnet.pgpool import FairPool

    engine = db.make_engine(postgres_url)
    await db.migrate(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    db.bind(engine)
    try:
        assert isinstance(engine.pool, FairPool)

        async def request(i: int) -> None:
            async with db.write_transaction():
                await SweepLock.insert(SweepLock(name=f"turn {i}"))
            assert await SweepLock.exists().where(SweepLock.name == f"turn {i}")
            assert await sql.records("SELECT name FROM sweep_lock WHERE name = $1", f"turn {i}")
            assert await db.ping(engine)

        async with asyncio.timeout(30):
            await asyncio.gather(*(request(i) for i in range(30)))
        assert await SweepLock.count().where(SweepLock.name.like("turn %")) == 30
    finally:
        await db.stop(engine)


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: REFERRALNET_TEST_POSTGRES_URL is not set")
async def test_postgres_connections_lost_in_transactions_go_back_to_the_pool(postgres_url: str) -> None:
    """Every pooled connection's server process killed inside a write transaction (a restart, a failover),
    three times over: those requests fail; the next ones are served, and the pool closes, instead of
    waiting for ever for connections a failed ``ROLLBACK`` never gave back."""
    import asyncpg

    engine = db.make_engine(postgres_url)
    await db.migrate(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    db.bind(engine)
    admin = await asyncpg.connect(postgres_url)
    stopped = False
    try:

        async def killed(i: int) -> None:
            async with db.write_transaction() as tx:
                await admin.execute("SELECT pg_terminate_backend($1)", await tx.connection.fetchval("SELECT pg_backend_pid()"))
                await SweepLock.insert(SweepLock(name=f"lost {i}"))

        async with asyncio.timeout(20):
            for _ in range(3):
                for outcome in await asyncio.gather(*(killed(i) for i in range(2)), return_exceptions=True):
                    assert isinstance(outcome, Exception)
            await asyncio.gather(*(SweepLock.insert(SweepLock(name=f"after {i}")) for i in range(4)))
            assert await SweepLock.count().where(SweepLock.name.like("after %")) == 4
            assert not await SweepLock.exists().where(SweepLock.name.like("lost %"))
            await db.stop(engine)
            stopped = True
    finally:
        await admin.close()
        if not stopped:
            assert engine.pool is not None
            engine.pool.terminate()


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: REFERRALNET_TEST_POSTGRES_URL is not set")
async def test_postgres_stop_does_not_wait_for_ever_for_a_connection_never_given_back(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.make_engine(postgres_url)
    await db.start(engine, pool_min=1, pool_max=2)
    assert engine.pool is not None
    await engine.pool.acquire()  # never released
    monkeypatch.setattr(db, "STOP_WAIT_SECONDS", 0.2)
    async with asyncio.timeout(5):
        await db.stop(engine)
    assert engine.pool is None


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: REFERRALNET_TEST_POSTGRES_URL is not set")
async def test_postgres_connections_kept_between_requests_are_not_handed_out_once_their_server_is_gone(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool keeps connections given back clean (plain reads, committed transactions) for the next request;
    when their server processes are killed while kept (a restart, a failover), the next requests get live
    ones, and stopping does not wait for the kept ones."""
    import asyncpg

    engine = db.make_engine(postgres_url)
    await db.migrate(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    db.bind(engine)
    admin = await asyncpg.connect(postgres_url)
    monkeypatch.setattr(db, "STOP_WAIT_SECONDS", 60.0)
    try:

        async def request(i: int) -> int:
            async with db.write_transaction():
                await SweepLock.insert(SweepLock(name=f"kept {i}"))
            rows = await sql.records("SELECT pg_backend_pid() AS pid, count(*) AS n FROM sweep_lock WHERE name = $1", f"kept {i}")
            assert rows[0]["n"] == 1
            return int(rows[0]["pid"])

        async with asyncio.timeout(20):
            pids = set(await asyncio.gather(*(request(i) for i in range(6))))
            checkouts = 0

            class Counted:
                """asyncpg's pool, its checkouts counted."""

                def __init__(self, pool: Any) -> None:
                    self.pool = pool

                def acquire(self, *args: Any, **kwargs: Any) -> Any:
                    nonlocal checkouts
                    checkouts += 1
                    return self.pool.acquire(*args, **kwargs)

                def __getattr__(self, name: str) -> Any:
                    return getattr(self.pool, name)

            line: Any = engine.pool
            line.pool = Counted(line.pool)
            for i in range(20, 25):  # one after another: each reuses what the one before gave back
                assert await request(i) in pids
            line.pool = line.pool.pool
            assert checkouts == 0
            await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", list(pids))
            while await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", list(pids)):
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)  # the client side sees its sockets closed
            after = set(await asyncio.gather(*(request(i) for i in range(6, 12))))
            assert not after & pids
            await db.stop(engine)  # not STOP_WAIT_SECONDS: the kept connections go back first
    finally:
        await admin.close()
