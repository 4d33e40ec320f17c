"""Database engines, binding, write transactions and migrations for SQLite and PostgreSQL."""

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
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType
from piccolo.table import Table

from referralnet.sqlite_pool import PooledSQLiteEngine

T = TypeVar("T")
log = logging.getLogger(__name__)

# Key of the PostgreSQL advisory lock that serialises migrations across instances.
MIGRATION_LOCK_KEY = 0x7265666E  # "refn"


class _DurableConnection(sqlite3.Connection):
    """Every SQLite connection: WAL-safe durability and waiting on locks instead of failing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA synchronous = FULL")
        self.execute("PRAGMA busy_timeout = 30000")


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://...``."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///") or "referralnet.sqlite"
        return PooledSQLiteEngine(path=path, factory=_DurableConnection, timeout=30)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(config={"dsn": url})
    raise ValueError("REFERRALNET_DATABASE_URL must start with sqlite:/// or postgresql://")


def is_sqlite(engine: Engine) -> bool:
    return engine.engine_type == "sqlite"


def bind(engine: Engine) -> None:
    """Point every table (and Piccolo's migration machinery) at ``engine``."""
    from piccolo.apps.migrations.tables import Migration

    from referralnet import piccolo_conf
    from referralnet.tables import TABLES

    piccolo_conf.DB = engine
    tables: list[type[Table]] = [*TABLES, Migration]
    for table in tables:
        table._meta.db = engine


def current_engine() -> Engine:
    from referralnet.tables import Organisation

    return Organisation._meta.db


# Per event loop and SQLite file: the FIFO queue of this process's write transactions.
_sqlite_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


class _QueuedTransaction(SQLiteTransaction):
    """``BEGIN IMMEDIATE`` once this process's earlier SQLite writers are done, in arrival order.

    SQLite's busy handler polls with growing sleeps instead of queueing, so under load late writers
    overtook early ones and the slowest waited seconds. The queue holds from ``BEGIN`` to ``COMMIT``
    or ``ROLLBACK`` only: opening and closing connections stay concurrent. ``busy_timeout`` still
    covers other processes and writes outside :func:`write_transaction`.
    """

    def __init__(self, engine: SQLiteEngine, queue: asyncio.Lock) -> None:
        super().__init__(engine, transaction_type=TransactionType.immediate)
        self.queue = queue

    async def get_connection(self) -> Any:
        # The loop's persistent writer (PooledSQLiteEngine), else a new connection as Piccolo does.
        if isinstance(self.engine, PooledSQLiteEngine):
            return self.engine.writer()
        return await super().get_connection()

    async def begin(self) -> None:
        await self.queue.acquire()
        try:
            await super().begin()
        except BaseException:
            self.queue.release()
            raise

    async def commit(self) -> None:
        try:
            await super().commit()
        except BaseException:
            # A persistent writer must not stay inside the failed transaction.
            with contextlib.suppress(Exception):
                await self.connection.execute("ROLLBACK")
            raise
        finally:
            self.queue.release()

    async def rollback(self) -> None:
        try:
            await super().rollback()
        finally:
            self.queue.release()


def _sqlite_queue(engine: SQLiteEngine) -> asyncio.Lock:
    locks = _sqlite_writers.setdefault(asyncio.get_running_loop(), {})
    return locks.setdefault(engine.path, asyncio.Lock())


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
    """A write transaction; on SQLite ``BEGIN IMMEDIATE``, queued in this process (``_QueuedTransaction``).

    ``IMMEDIATE`` takes the write lock up front, so a transaction never fails upgrading a read to a
    write. Nested calls join the outer transaction (Piccolo's default), which already holds the queue.
    The steps registered with :func:`at_commit` run at the end of the outermost one.
    """
    engine = current_engine()
    outer = _last_steps.get() is None
    transaction = _QueuedTransaction(engine, _sqlite_queue(engine)) if isinstance(engine, SQLiteEngine) else engine.transaction()
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
        await engine.start_connection_pool(min_size=pool_min, max_size=pool_max)


async def stop(engine: Engine) -> None:
    """Close the pool: PostgreSQL's, or SQLite's reader and writer connections."""
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()
    elif isinstance(engine, PooledSQLiteEngine):
        engine.close_pool()


async def ping(engine: Engine) -> bool:
    try:
        if isinstance(engine, SQLiteEngine):
            await engine._run_in_new_connection("SELECT 1")
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
