"""PostgreSQL connections used without session state, given back to the pool without asyncpg's reset query:
a write transaction's (``_ReleasedPlain``) and :func:`plain_connection`'s. Used by :mod:`referralnet.db`."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from referralnet import pgpool


class _ReleasedPlain:
    """A PostgreSQL transaction whose connection goes back to the pool without asyncpg's reset round trip:
    a transaction leaves no session state (row locks and ``SET LOCAL`` end with it; no write transaction
    takes a session advisory lock). After a ``COMMIT`` the pool keeps it for the next request.

    Its connection goes back even when ``BEGIN``, ``COMMIT`` or ``ROLLBACK`` fails (the server went away):
    Piccolo's transaction then skips its release, and the pool would lose that connection for good (its
    ``close`` waiting for it for ever).
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __aenter__(self) -> Any:
        try:
            return await self.inner.__aenter__()
        except BaseException:
            await self._give_back()
            raise

    async def __aexit__(self, *exc: Any) -> Any:
        token = _plain_use.set(True)  # read by _reset_session when the connection is released
        try:
            with pgpool.parking() if exc[0] is None else contextlib.nullcontext():  # committed: kept for reuse
                return await self.inner.__aexit__(*exc)
        except BaseException:
            if (context := getattr(self.inner, "context", None)) is not None:  # first: a second cancel cannot skip it
                self.inner.engine.current_transaction.reset(context)
            await self._give_back()
            raise
        finally:
            _plain_use.reset(token)

    async def _give_back(self) -> None:
        """The transaction's connection back to the pool (asyncpg ends a dead one; a second release does nothing),
        or closed if it came from outside a pool."""
        connection, pool = getattr(self.inner, "connection", None), self.inner.engine.pool
        if connection is not None:
            with contextlib.suppress(Exception):
                await (pool.release(connection) if pool is not None else connection.close())


# True while a connection is used through plain_connection() (its release then skips the session reset).
_plain_use: contextvars.ContextVar[bool] = contextvars.ContextVar("referralnet_plain_use", default=False)


async def _reset_session(connection: Any) -> None:
    """What the PostgreSQL pool does to a connection given back (after asyncpg's own rollback of an open
    transaction): asyncpg's full session reset, one round trip, skipped after :func:`plain_connection`."""
    if not _plain_use.get() and (query := connection.get_reset_query()):
        await connection.execute(query)


@contextlib.asynccontextmanager
async def plain_connection(engine: PostgresEngine) -> AsyncIterator[Any]:
    """A pooled PostgreSQL connection for statements that leave no session state (no ``SET``, ``LISTEN``,
    advisory lock or cursor): given back without asyncpg's reset query (a round trip per request), and
    kept by the pool for the next request when the block ends without an exception (:mod:`referralnet.pgpool`)."""
    assert engine.pool is not None, "db.start() opens the pool"
    token = _plain_use.set(True)
    try:
        async with engine.pool.acquire(park=True) as connection:  # type: ignore[call-arg]  # a FairPool (start())
            yield connection
    finally:
        _plain_use.reset(token)
