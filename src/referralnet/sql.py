"""Fixed SQL statements run straight on the engine's connections, for the request path's hot reads and writes.

Piccolo builds a statement from its column objects on every call (0.5-1 ms of CPU for a service
row with its organisation, more than the database takes to answer). A statement written once as
text and run here skips that: on SQLite on the current transaction's connection or a pooled
reader (:class:`referralnet.sqlite_pool.PooledSQLiteEngine`, the same type converters as
Piccolo's), on PostgreSQL on the current transaction's connection or asyncpg's pool. Rows come
back as dicts with the same values Piccolo's ``raw`` gives. Placeholders are Piccolo's ``{}``.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine

from referralnet import db
from referralnet.sqlite_pool import PooledSQLiteEngine


@functools.lru_cache(maxsize=512)
def _numbered(sql: str) -> str:
    """``{}`` placeholders as asyncpg's ``$1, $2 ...``."""
    parts = sql.split("{}")
    return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))


@functools.lru_cache(maxsize=512)
def _qmarks(sql: str) -> str:
    return sql.replace("{}", "?")


_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|PRAGMA|VACUUM|ATTACH)\b", re.IGNORECASE)


@functools.lru_cache(maxsize=512)
def _reads_only(sql: str) -> bool:
    """Whether ``sql`` only reads (a ``SELECT``, or ``WITH ... SELECT``): only those run on the loop's own reader.

    A write there would hold the loop through its fsync; the reader is also ``query_only``, so one that got
    past this check would fail rather than write.
    """
    head = sql.lstrip()[:6].upper()
    return head == "SELECT" or (head[:4] == "WITH" and not _WRITES.search(sql))


async def fetch(sql: str, *args: Any, scan: bool = False) -> list[dict[str, Any]]:
    """Rows of ``sql`` as dicts, inside the current transaction when there is one.

    On SQLite a ``SELECT`` outside a transaction runs on the loop's own reader connection (a short read,
    see :mod:`referralnet.sqlite_pool`); with ``scan`` (one that reads many rows, e.g. a count), and any
    other statement, on a reader thread.
    """
    engine = db.current_engine()
    transaction = engine.current_transaction.get()
    if isinstance(engine, SQLiteEngine):
        if transaction is not None:
            return await engine._run_in_existing_connection(transaction.connection, _qmarks(sql), list(args))  # type: ignore[no-any-return]
        assert isinstance(engine, PooledSQLiteEngine)  # db.make_engine's; write_transaction refuses any other
        return await engine.read(_qmarks(sql), args, inline=not scan and _reads_only(sql))
    return [dict(r) for r in await records(sql, *args)]


async def records(sql: str, *args: Any) -> list[Any]:
    """PostgreSQL: rows of ``sql`` as asyncpg records (no dict per row), routed as :func:`fetch` routes them: the
    current transaction's connection, else the pool's, given back without asyncpg's reset (a plain statement)."""
    engine: Any = db.current_engine()
    transaction = engine.current_transaction.get()
    if transaction is not None:
        return await transaction.connection.fetch(_numbered(sql), *args)  # type: ignore[no-any-return]
    if engine.pool is not None:
        async with db.plain_connection(engine) as connection:
            return await connection.fetch(_numbered(sql), *args)  # type: ignore[no-any-return]
    connection = await engine.get_new_connection()
    try:
        return await connection.fetch(_numbered(sql), *args)  # type: ignore[no-any-return]
    finally:
        await connection.close()


async def first(sql: str, *args: Any) -> dict[str, Any] | None:
    rows = await fetch(sql, *args)
    return rows[0] if rows else None
