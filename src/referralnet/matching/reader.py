"""Cheap reads for the two look-ups every match makes (the snapshot version and live capacity).

On SQLite they run on the engine's reader threads (:class:`referralnet.sqlite_pool.PooledSQLiteEngine`,
persistent connections, the event loop never blocks), columns without a dict per row; an engine
without that pool (Piccolo's own) gets one long-lived connection on one worker thread here,
reopened when the database file changes. On PostgreSQL they go straight to asyncpg on Piccolo's
pool (or the current transaction), without a dict per row.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from referralnet import db
from referralnet.sqlite_pool import PooledSQLiteEngine

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="referralnet-match-read")
_local = threading.local()  # touched only by the executor's thread


def _connection(path: str) -> sqlite3.Connection:
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_dev, stat.st_ino)
    if getattr(_local, "key", None) != key:
        if getattr(_local, "connection", None) is not None:
            _local.connection.close()
        connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA query_only = ON")
        _local.connection, _local.key = connection, key
    return _local.connection  # type: ignore[no-any-return]


def _query(path: str, sql: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
    cursor = _connection(path).execute(sql, args)
    columns = [c[0] for c in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


async def _postgres(engine: Any, sql: str, args: tuple[Any, ...]) -> list[Any]:
    """asyncpg records, on the current transaction's connection or the pool (Piccolo's own routing)."""
    numbered = sql.split("{}")
    sql = "".join(part + (f"${i + 1}" if i < len(numbered) - 1 else "") for i, part in enumerate(numbered))
    transaction = engine.current_transaction.get()
    if transaction is not None:
        return await transaction.connection.fetch(sql, *args)  # type: ignore[no-any-return]
    if engine.pool is not None:  # plain SELECTs: the connection goes back without asyncpg's reset round trip
        async with db.plain_connection(engine) as connection:
            return await connection.fetch(sql, *args)  # type: ignore[no-any-return]
    connection = await engine.get_new_connection()
    try:
        return await connection.fetch(sql, *args)  # type: ignore[no-any-return]
    finally:
        await connection.close()


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of ``sql`` (Piccolo's ``{}`` placeholders) as dicts; SQLite timestamps stay text."""
    engine = db.current_engine()
    if isinstance(engine, PooledSQLiteEngine):
        return await engine.read(sql.replace("{}", "?"), args)  # type: ignore[no-any-return]
    if db.is_sqlite(engine):
        path = engine.path  # type: ignore[attr-defined]
        return await asyncio.get_running_loop().run_in_executor(_executor, _query, path, sql.replace("{}", "?"), args)
    return [dict(r) for r in await _postgres(engine, sql, args)]


def _columns(path: str, sql: str, args: tuple[Any, ...], width: int) -> list[tuple[Any, ...]]:
    rows = _connection(path).execute(sql, args).fetchall()
    return list(zip(*rows)) if rows else [()] * width


async def fetch_columns(sql: str, *args: Any, width: int, small: bool = False) -> list[tuple[Any, ...]]:
    """The ``width`` columns of ``sql``'s rows, each as a tuple: no object per row.

    ``small``: a few index look-ups, which on SQLite run on the loop's own reader connection
    (:meth:`PooledSQLiteEngine.read` with ``inline``) instead of a reader thread.
    """
    engine = db.current_engine()
    if isinstance(engine, PooledSQLiteEngine):
        rows = await engine.read(sql.replace("{}", "?"), args, plain=True, inline=small)
        return list(zip(*rows)) if rows else [()] * width
    if db.is_sqlite(engine):
        path = engine.path  # type: ignore[attr-defined]
        return await asyncio.get_running_loop().run_in_executor(_executor, _columns, path, sql.replace("{}", "?"), args, width)
    rows = await _postgres(engine, sql, args)
    return list(zip(*rows)) if rows else [()] * width


def reads_can_be_shared() -> bool:
    """Whether one read may serve several requests: not inside a transaction (it reads through its own
    connection), and not worth it on SQLite's pool (small reads run on the calling thread)."""
    engine = db.current_engine()
    return not isinstance(engine, PooledSQLiteEngine) and engine.current_transaction.get() is None

