"""Cheap reads for the two look-ups every match makes (the snapshot version and live capacity).

On SQLite they run on the engine's reader threads (:class:`referralnet.sqlite_pool.PooledSQLiteEngine`,
persistent connections, the event loop never blocks), columns without a dict per row. On PostgreSQL
they go straight to asyncpg on Piccolo's pool (or the current transaction), without a dict per row.
"""

from __future__ import annotations

from typing import Any

from referralnet import db
from referralnet.sqlite_pool import PooledSQLiteEngine


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
    if isinstance(engine, PooledSQLiteEngine):  # db.make_engine's only SQLite engine
        return await engine.read(sql.replace("{}", "?"), args)  # type: ignore[no-any-return]
    return [dict(r) for r in await _postgres(engine, sql, args)]


async def fetch_columns(sql: str, *args: Any, width: int, small: bool = False) -> list[tuple[Any, ...]]:
    """The ``width`` columns of ``sql``'s rows, each as a tuple: no object per row.

    ``small``: a few index look-ups, which on SQLite run on the loop's own reader connection
    (:meth:`PooledSQLiteEngine.read` with ``inline``) instead of a reader thread.
    """
    engine = db.current_engine()
    if isinstance(engine, PooledSQLiteEngine):
        rows = await engine.read(sql.replace("{}", "?"), args, plain=True, inline=small)
        return list(zip(*rows)) if rows else [()] * width
    rows = await _postgres(engine, sql, args)
    return list(zip(*rows)) if rows else [()] * width


def reads_can_be_shared() -> bool:
    """Whether one read may serve several requests: not inside a transaction (it reads through its own
    connection), and not worth it on SQLite's pool (small reads run on the calling thread)."""
    engine = db.current_engine()
    return not isinstance(engine, PooledSQLiteEngine) and engine.current_transaction.get() is None

