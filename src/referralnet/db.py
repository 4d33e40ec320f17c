"""Database engines, binding, write transactions and migrations for SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

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
        return SQLiteEngine(path=path, factory=_DurableConnection, timeout=30)
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
    for table in [*TABLES, Migration]:
        table._meta.db = engine


def current_engine() -> Engine:
    from referralnet.tables import Organisation

    return Organisation._meta.db


@contextlib.asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """A write transaction: ``BEGIN IMMEDIATE`` on SQLite so writers queue instead of deadlocking."""
    engine = current_engine()
    if is_sqlite(engine):
        async with engine.transaction(transaction_type=TransactionType.immediate) as tx:
            yield tx
    else:
        async with engine.transaction() as tx:
            yield tx


async def start(engine: Engine, *, pool_min: int = 1, pool_max: int = 10) -> None:
    """Open the PostgreSQL pool (a no-op on SQLite). Call inside the event loop that will use it."""
    if isinstance(engine, PostgresEngine):
        await engine.start_connection_pool(min_size=pool_min, max_size=pool_max)


async def stop(engine: Engine) -> None:
    if isinstance(engine, PostgresEngine):
        await engine.close_connection_pool()


async def ping(engine: Engine) -> bool:
    try:
        await engine._run_in_new_connection("SELECT 1") if is_sqlite(engine) else await engine.run_ddl("SELECT 1")
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
            await _run()
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    for line in lines:
        log.debug("migrate: %s", line)
    return lines
