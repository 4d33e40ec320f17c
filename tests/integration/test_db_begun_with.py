"""``db.write_transaction(first=...)`` on PostgreSQL: ``BEGIN`` and the first statement in one round trip, inside the
transaction; a first statement that fails or is cancelled gives its connection back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest
from piccolo.engine.postgres import PostgresEngine

from referralnet import db
from referralnet.tables import SweepLock
from tests.conftest import PG_URL

LOCK = "SELECT id FROM sweep_lock WHERE name = 'held' FOR NO KEY UPDATE"


async def _started(postgres_url: str, pool_max: int = 2) -> PostgresEngine:
    engine = db.make_engine(postgres_url)
    assert isinstance(engine, PostgresEngine)
    await db.start(engine, pool_min=1, pool_max=pool_max)
    db.bind(engine)
    await SweepLock.delete(force=True)
    await SweepLock.insert(SweepLock(name="held"))
    return engine


async def _stop(engine: PostgresEngine) -> None:
    """``db.stop``, which waits for every connection to come back: a kept one fails the test instead of hanging it."""
    try:
        await asyncio.wait_for(db.stop(engine), timeout=10)
    except TimeoutError:
        assert engine.pool is not None
        engine.pool.terminate()
        raise AssertionError("a connection was not given back to the pool") from None


async def _locked_elsewhere(postgres_url: str) -> bool:
    """Whether the ``held`` row is locked by another transaction (``NOWAIT`` on a connection of its own)."""
    conn = await asyncpg.connect(postgres_url)
    try:
        async with conn.transaction():
            await conn.execute("SELECT id FROM sweep_lock WHERE name = 'held' FOR UPDATE NOWAIT")
        return False
    except asyncpg.LockNotAvailableError:
        return True
    finally:
        await conn.close()


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: REFERRALNET_TEST_POSTGRES_URL is not set")
async def test_first_statement_goes_with_begin_and_holds_until_the_end(postgres_url: str) -> None:
    engine = await _started(postgres_url)
    try:
        async with db.write_transaction(first=LOCK):
            assert await _locked_elsewhere(postgres_url)
            await SweepLock.insert(SweepLock(name="committed"))
        assert not await _locked_elsewhere(postgres_url)
        assert await SweepLock.exists().where(SweepLock.name == "committed")

        with pytest.raises(RuntimeError):
            async with db.write_transaction(first=LOCK):
                await SweepLock.insert(SweepLock(name="rolled back"))
                raise RuntimeError("fails inside the transaction")
        assert not await SweepLock.exists().where(SweepLock.name == "rolled back")
        assert not await _locked_elsewhere(postgres_url)

        async with db.write_transaction():
            async with db.write_transaction(first=LOCK):  # nested: runs in the outer transaction
                assert await _locked_elsewhere(postgres_url)
            assert await _locked_elsewhere(postgres_url)  # held until the outer one ends
        assert not await _locked_elsewhere(postgres_url)
    finally:
        await _stop(engine)


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: REFERRALNET_TEST_POSTGRES_URL is not set")
async def test_begin_and_first_statement_are_one_round_trip(postgres_url: str) -> None:
    engine = await _started(postgres_url, pool_max=1)  # one connection: every use below gets the same one
    try:
        assert engine.pool is not None
        async with engine.pool.acquire() as conn:
            protocol = conn._con._protocol
        before = protocol.queries_count
        async with db.write_transaction(first=LOCK):
            sent = protocol.queries_count - before
        assert sent == 1
    finally:
        await _stop(engine)


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: REFERRALNET_TEST_POSTGRES_URL is not set")
async def test_a_failed_or_cancelled_first_statement_gives_its_connection_back(postgres_url: str) -> None:
    engine = await _started(postgres_url, pool_max=1)
    try:
        for _ in range(3):  # with the connection kept, the second would wait for it for ever
            with pytest.raises(asyncpg.DivisionByZeroError):
                async with asyncio.timeout(5):
                    async with db.write_transaction(first="SELECT 1 / 0"):
                        pytest.fail("the body must not run")

        blocker = await asyncpg.connect(postgres_url)
        try:
            async with blocker.transaction():
                await blocker.execute("SELECT id FROM sweep_lock WHERE name = 'held' FOR UPDATE")
                for _ in range(2):  # the lock's wait cancelled
                    with pytest.raises(TimeoutError):
                        async with asyncio.timeout(0.3):
                            async with db.write_transaction(first=LOCK):
                                pytest.fail("the body must not run")
        finally:
            await blocker.close()

        async with asyncio.timeout(10):
            async with db.write_transaction(first=LOCK):
                await SweepLock.insert(SweepLock(name="after"))
        assert await SweepLock.exists().where(SweepLock.name == "after")
    finally:
        await _stop(engine)


async def test_first_is_refused_on_sqlite(tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'first.sqlite'}")
    await db.migrate(engine)
    db.bind(engine)
    try:
        with pytest.raises(ValueError, match="PostgreSQL only"):
            async with db.write_transaction(first="SELECT 1"):
                pass
    finally:
        await db.stop(engine)
