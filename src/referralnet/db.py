"""Database write transactions (``write_transaction``, ``at_commit``), the pool's start and stop, the health ping and
migrations, for SQLite and PostgreSQL. Engines and binding live in :mod:`referralnet.engines`, PostgreSQL's plain
connections in :mod:`referralnet.pgplain`; both are re-exported here, where callers take them from."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fcntl
import io
import logging
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

from referralnet import pgpool
from referralnet.engines import bind, current_engine, is_sqlite, make_engine, with_database
from referralnet.pgplain import _ReleasedPlain, _reset_session, plain_connection
from referralnet.sqlite_pool import PooledSQLiteEngine
from referralnet.sqlite_transaction import QueuedTransaction
from referralnet.sqlite_writes import writer_queue, writer_queues

T = TypeVar("T")
log = logging.getLogger(__name__)

# How long db.stop() waits for this process's SQLite write transactions under way before it closes the writer.
STOP_WAIT_SECONDS = 10.0
# Key of the PostgreSQL advisory lock that serialises migrations across instances.
MIGRATION_LOCK_KEY = 0x7265666E  # "refn"


# Work the outermost write transaction does last, just before it commits: function -> its collected ids.
_last_steps: contextvars.ContextVar[dict[Callable[[list[int]], Awaitable[None]], set[int]] | None] = contextvars.ContextVar(
    "referralnet_last_steps", default=None
)


async def at_commit(step: Callable[[list[int]], Awaitable[None]], ids: list[int]) -> None:
    """Run ``step(ids)`` as the last statement of the current write transaction (once, with every id
    collected for it), or at once outside one. For a row lock every writer takes (a change counter):
    taken last, it is held only until the commit."""
    pending = _last_steps.get()
    if pending is None:
        await step(ids)
    else:
        pending.setdefault(step, set()).update(ids)


@contextlib.asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """A write transaction; on SQLite ``BEGIN IMMEDIATE``, queued in this process (``QueuedTransaction``).

    Nothing inside may leave session state (a session ``SET``, ``LISTEN``, a session advisory lock): on
    PostgreSQL the connection goes back to the pool without asyncpg's reset (``_ReleasedPlain``).

    ``IMMEDIATE`` takes the write lock up front, so a transaction never fails upgrading a read to a
    write. Nested calls join the outer transaction (Piccolo's default), which already holds the queue.
    The steps registered with :func:`at_commit` run at the end of the outermost one.

    On SQLite, transactions that queue meanwhile share one ``COMMIT`` (``WriterQueue``): the block
    exits once its work is durable. An outermost block that raises has its work rolled back alone (its
    savepoint); a nested block is no savepoint (it joins its parent), so its work goes only if the
    exception leaves the outermost block. A cancelled block raises once its outcome is known: its work may
    have committed (as when cancelled just after the block). So a block must not wait inside for another
    writer's answer, nor read through another connection than its own (it would miss the group's earlier,
    not yet committed, work). ``GROUP_MAX_SECONDS`` bounds joining, not a body: a long body that joined
    (a purge, an import) holds back the answers of the members before it. Writes outside a
    ``write_transaction`` are not queued: they may wait (``busy_timeout``) for a whole group.
    """
    engine = current_engine()
    if isinstance(engine, SQLiteEngine) and not isinstance(engine, PooledSQLiteEngine):
        raise TypeError("write_transaction on SQLite needs make_engine's PooledSQLiteEngine (its persistent writer)")
    transaction = QueuedTransaction(engine, writer_queue(engine)) if isinstance(engine, PooledSQLiteEngine) else engine.transaction()
    outer = _last_steps.get() is None or (isinstance(transaction, QueuedTransaction) and transaction._parent is None)
    if isinstance(engine, PostgresEngine):
        transaction = _ReleasedPlain(transaction)
    async with _transaction_body(transaction, outer) as tx:
        yield tx


@contextlib.asynccontextmanager
async def _transaction_body(transaction: Any, outer: bool) -> AsyncIterator[Any]:
    """``transaction`` entered; in the outermost one, the :func:`at_commit` steps run before its commit."""
    async with transaction as tx:
        if not outer:
            yield tx
            return
        steps: dict[Callable[[list[int]], Awaitable[None]], set[int]] = {}
        token = _last_steps.set(steps)
        try:
            yield tx
            while steps:  # a step may register another
                step, ids = steps.popitem()
                await step(sorted(ids))
        finally:
            _last_steps.reset(token)


async def start(engine: Engine, *, pool_min: int = 1, pool_max: int = 10) -> None:
    """Open the PostgreSQL pool (SQLite's connections open on first use). Call inside the event loop that will use it."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=pool_min, max_size=pool_max, reset=_reset_session)
        if not isinstance(engine.pool, pgpool.FairPool):  # Piccolo keeps a pool already open
            engine.pool = pgpool.FairPool(engine.pool, pool_max)  # type: ignore[assignment]  # asyncpg's pool, first come first served


async def stop(engine: Engine) -> None:
    """Close the pool: PostgreSQL's once its connections are given back, or SQLite's reader and writer connections
    once this loop's SQLite write transactions under way have ended (new ones are refused meanwhile); on
    either, at most ``STOP_WAIT_SECONDS``."""
    if isinstance(engine, PostgresEngine):
        try:  # asyncpg's close waits for every connection handed out; one never given back would hold it for ever
            await asyncio.wait_for(engine.close_connection_pool(), STOP_WAIT_SECONDS)
        except TimeoutError:
            log.warning("closed the PostgreSQL pool with connections still in use (asyncpg terminated them)")
            engine.pool = None
    elif isinstance(engine, PooledSQLiteEngine):
        queues = writer_queues.get(asyncio.get_running_loop(), {})
        queue = queues.get(engine.path)
        if queue is not None:  # let the writes under way (and those queued) end, refusing new ones
            queue.closing = True
            done, _ = await asyncio.wait([queue.drained()], timeout=STOP_WAIT_SECONDS)
            if not done:
                log.warning("closing the SQLite writer with a write transaction still open (it will fail)")
            del queues[engine.path]  # a later write_transaction gets a new queue, on a new writer
        engine.close_pool()


# PostgreSQL pings under way, per event loop and engine: concurrent health checks share one round trip.
_pings: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Future[bool]]] = weakref.WeakKeyDictionary()


async def ping(engine: Engine) -> bool:
    """Whether the database answers ``SELECT 1`` (``GET /health``): straight on a pooled connection,
    without Piccolo's query machinery or, on SQLite, a hop to a reader thread. On PostgreSQL a check
    that arrives while another is waiting for its answer takes that answer (sent at most one round
    trip before it), instead of a connection and a round trip of its own."""
    if not isinstance(engine, PostgresEngine):
        return await _ping(engine)
    pending = _pings.setdefault(asyncio.get_running_loop(), {})
    future = pending.get(id(engine))
    if future is None:
        future = pending[id(engine)] = asyncio.ensure_future(_ping(engine))
        future.add_done_callback(lambda _: pending.pop(id(engine), None))
    return await asyncio.shield(future)  # a cancelled caller leaves the others' ping alone


async def _ping(engine: Engine) -> bool:
    try:
        if isinstance(engine, PooledSQLiteEngine):
            await engine.read("SELECT 1", inline=True)
        elif isinstance(engine, PostgresEngine) and engine.pool is not None:
            async with plain_connection(engine) as connection:
                await connection.fetchval("SELECT 1")
        else:
            await engine.run_ddl("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        log.exception("database ping failed")
        return False
    return True


@contextlib.contextmanager
def _sqlite_file_lock(path: str) -> Any:
    lock_path = Path(path).with_suffix(Path(path).suffix + ".migrate-lock")
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


async def migrate(engine: Engine) -> list[str]:
    """Apply pending migrations; safe when several instances start together.

    PostgreSQL: a session advisory lock held on its own connection serialises migrators.
    SQLite: a file lock beside the database does the same, and WAL is switched on.
    Returns Piccolo's progress lines (it prints them; they are captured for logging).
    """
    from piccolo.apps.migrations.commands.forwards import run_forwards

    bind(engine)
    out = io.StringIO()

    async def _run() -> None:
        with contextlib.redirect_stdout(out):
            result = await run_forwards(app_name="referralnet")
        if not result.success:
            raise RuntimeError(f"migration failed: {result.message}")

    if isinstance(engine, PostgresEngine):
        import asyncpg

        conn = await asyncpg.connect(**engine.config)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            try:
                await _run()
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        finally:
            await conn.close()
    else:
        path = engine.path  # type: ignore[attr-defined]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with _sqlite_file_lock(path):
            con = sqlite3.connect(path)
            try:
                con.execute("PRAGMA journal_mode = WAL")
            finally:
                con.close()
            try:
                await _run()
            finally:
                # Closing the last connection checkpoints the WAL: the file alone then holds the schema.
                if isinstance(engine, PooledSQLiteEngine):
                    engine.close_pool()
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    for line in lines:
        log.debug("migrate: %s", line)
    return lines


async def run_with(database_url: str, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` against a migrated database with a small pool (the CLI's commands)."""
    engine = make_engine(database_url)
    await migrate(engine)
    await start(engine, pool_min=1, pool_max=2)
    try:
        return await work()
    finally:
        await stop(engine)


__all__ = [
    "MIGRATION_LOCK_KEY",
    "STOP_WAIT_SECONDS",
    "at_commit",
    "bind",
    "current_engine",
    "is_sqlite",
    "make_engine",
    "migrate",
    "ping",
    "plain_connection",
    "run_with",
    "start",
    "stop",
    "with_database",
    "write_transaction",
]
