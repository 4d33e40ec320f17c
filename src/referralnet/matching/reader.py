"""Cheap reads for the two look-ups every match makes (the snapshot version and live capacity).

On SQLite they run on the engine's reader threads (:class:`referralnet.sqlite_pool.PooledSQLiteEngine`,
persistent connections, the event loop never blocks), columns without a dict per row. On PostgreSQL
they go straight to asyncpg on Piccolo's pool (or the current transaction), without a dict per row.
"""

from __future__ import annotations

from typing import Any

from referralnet import db
from referralnet import sql as sql_module
from referralnet.sqlite_pool import PooledSQLiteEngine


async def fetch(sql: str, *args: Any) -> list[dict[str, Any]]:
    """Rows of ``sql`` (Piccolo's ``{}`` placeholders) as dicts; SQLite timestamps stay text."""
    engine = db.current_engine()
    if isinstance(engine, PooledSQLiteEngine):  # db.make_engine's only SQLite engine
        return await engine.read(sql.replace("{}", "?"), args)  # type: ignore[no-any-return]
    return [dict(r) for r in await sql_module.records(sql, *args)]


async def fetch_columns(sql: str, *args: Any, width: int, small: bool = False) -> list[tuple[Any, ...]]:
    """The ``width`` columns of ``sql``'s rows, each as a tuple: no object per row.

    ``small``: a few index look-ups, which on SQLite run on the loop's own reader connection
    (:meth:`PooledSQLiteEngine.read` with ``inline``) instead of a reader thread.
    """
    engine = db.current_engine()
    if isinstance(engine, PooledSQLiteEngine):
        rows = await engine.read(sql.replace("{}", "?"), args, plain=True, inline=small)
        return list(zip(*rows)) if rows else [()] * width
    rows = await sql_module.records(sql, *args)
    return list(zip(*rows)) if rows else [()] * width


def reads_can_be_shared() -> bool:
    """Whether one read may serve several requests: not inside a transaction (it reads through its own
    connection), and not worth it on SQLite's pool (small reads run on the calling thread)."""
    engine = db.current_engine()
    return not isinstance(engine, PooledSQLiteEngine) and engine.current_transaction.get() is None

