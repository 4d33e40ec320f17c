"""SQLite with persistent connections: a few reader threads and one writer per event loop.

Piccolo's SQLite engine opens a new connection, on a new thread, for every query and every
transaction (about 1.5 ms on a loaded 2-core machine, where most statements take 0.01-0.3 ms).
:class:`PooledSQLiteEngine` instead runs a query outside a transaction on one of ``readers``
threads, each keeping its own connection (WAL: readers never wait for the writer), and a
:func:`referralnet.db.write_transaction` on this loop's one writer connection, kept by its own
thread. Connections are made with Piccolo's own arguments (its type converters, three of them in
quicker form: :mod:`referralnet.sqlite_types`; autocommit), so rows come back exactly as before;
:meth:`PooledSQLiteEngine.close_pool` closes them all.

Short reads (a row by its key, a page of rows) run on the loop's own reader connection instead
(:meth:`PooledSQLiteEngine.read` with ``inline=True``): in WAL mode a reader almost never waits for a
lock, and such a statement takes 0.01-0.5 ms, less than the hop to a thread and back (0.1-0.3 ms of
CPU). That connection never waits (``busy_timeout`` 0): in the rare case it would have to (another
process recovering the WAL or holding an exclusive lock), the read goes to a reader thread, which
waits there. Reads that scan many rows (counts, matching's snapshot) stay on the reader threads.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from piccolo.engine.sqlite import SQLiteEngine

from referralnet import sqlite_types

sqlite_types.install()

T = TypeVar("T")


# The column names of the last statement's rows: (its ``cursor.description``, the names), shared by threads
# (a tuple is read and replaced whole). A statement's description is one object for all its rows.
_last_names: tuple[Any, tuple[str, ...]] = ((), ())


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    """Piccolo's ``dict_factory`` (the same dict), with the column names taken once per statement, not per row."""
    global _last_names
    description = cursor.description
    last = _last_names
    if last[0] is description:
        names = last[1]
    else:
        names = tuple(column[0] for column in description)
        _last_names = (description, names)
    return dict(zip(names, row))


class _Thread:
    """One thread owning one connection (made there, used only there)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._connect = connect
        self._connection: sqlite3.Connection | None = None
        self._closed = False

    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            if self._closed:  # not a new connection, unseen by close_pool (it could hold the write lock for good)
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            self._connection = self._connect()
        return self._connection

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self.start(fn)

    def start(self, fn: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """``fn`` handed to the thread now; its outcome, for a caller that must not lose it if cancelled."""
        return asyncio.get_running_loop().run_in_executor(self._executor, lambda: fn(self._conn()))

    def close(self) -> None:
        self._closed = True

        def _close() -> None:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)


def _rows(sql: str, args: Any) -> Callable[[sqlite3.Connection], list[dict[str, Any]]]:
    return lambda connection: connection.execute(sql, args or ()).fetchall()


class _Result:
    """What aiosqlite's ``execute`` returns, as far as Piccolo uses it: awaitable, or an async context with ``fetchall``.

    Inside a transaction the statement runs on the loop's thread (see ``_run_in_existing_connection``): on the
    thread, a cancelled caller's statement could still run after the transaction's rollback, outside it.
    """

    def __init__(self, thread: _Thread, sql: str, args: Any) -> None:
        self._thread, self._sql, self._args = thread, sql, args
        self._fetched: list[dict[str, Any]] = []

    async def _run(self) -> _Result:
        connection = self._thread._conn()
        if connection.in_transaction:
            self._fetched = _rows(self._sql, self._args)(connection)
        else:
            self._fetched = await self._thread.call(_rows(self._sql, self._args))
        return self

    def __await__(self) -> Any:
        return self._run().__await__()

    async def __aenter__(self) -> _Result:
        return await self._run()

    async def __aexit__(self, *exc: Any) -> None:
        return None

    async def fetchall(self) -> list[dict[str, Any]]:
        return self._fetched


class WriterConnection:
    """The writer: an aiosqlite-like connection on its own thread, kept open across transactions."""

    row_factory: Any = None  # Piccolo sets it; the connection already makes dict rows

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._thread = _Thread(connect, "referralnet-sqlite-writer")

    def execute(self, sql: str, args: Any = None) -> _Result:
        return _Result(self._thread, sql, args)

    def connection(self) -> sqlite3.Connection:
        """The writer's connection, for a statement run inline between its thread's ``BEGIN`` and ``COMMIT``."""
        return self._thread._conn()

    def start(self, sql: str) -> asyncio.Future[Any]:
        """``sql`` (a ``COMMIT``) started on the writer's thread now; the future of its outcome."""
        return self._thread.start(lambda connection: connection.execute(sql))

    async def close(self) -> None:
        """Kept open: the transaction ends, the connection stays (see :meth:`shutdown`)."""

    def shutdown(self) -> None:
        self._thread.close()


class PooledSQLiteEngine(SQLiteEngine):
    """A Piccolo SQLite engine whose queries use persistent connections (see the module's docstring)."""

    def __init__(self, path: str, *, readers: int = 3, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self.readers = readers
        self._lock = threading.Lock()
        self._reader_threads: list[_Thread] = []
        self._next = 0
        # One writer per event loop (Litestar's test client serves on a loop of its own).
        self._writers: dict[asyncio.AbstractEventLoop, WriterConnection] = {}
        # One reader per event loop, used only on the loop's thread (short reads, see the module's docstring).
        self._inline: dict[asyncio.AbstractEventLoop, sqlite3.Connection] = {}

    def connect(self) -> sqlite3.Connection:
        """A connection as Piccolo makes them (converters, autocommit), with dict rows and foreign keys."""
        connection = sqlite3.connect(**{**self.connection_kwargs, "check_same_thread": False})
        connection.row_factory = _dict_row
        connection.execute("PRAGMA foreign_keys = 1")
        return connection

    def _reader(self) -> _Thread:
        with self._lock:
            if len(self._reader_threads) < self.readers:
                self._reader_threads.append(_Thread(self.connect, "referralnet-sqlite-read"))
            self._next = (self._next + 1) % len(self._reader_threads)
            return self._reader_threads[self._next]

    def writer(self) -> WriterConnection:
        """This loop's writer connection (made on first use)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            for old in [lp for lp in self._writers if lp.is_closed()]:
                self._writers.pop(old).shutdown()
            if loop not in self._writers:
                self._writers[loop] = WriterConnection(self.connect)
            return self._writers[loop]

    def _inline_reader(self) -> sqlite3.Connection:
        """This loop's own reader connection (made on first use), for the loop's thread only."""
        loop = asyncio.get_running_loop()
        connection = self._inline.get(loop)
        if connection is None:
            with self._lock:
                for old in [lp for lp in self._inline if lp.is_closed()]:
                    self._inline.pop(old).close()
                connection = self._inline[loop] = self.connect()
                connection.execute("PRAGMA busy_timeout = 0")  # never hold up the loop (see the module's docstring)
                connection.execute("PRAGMA query_only = ON")  # a write here would fsync on the loop: refuse it
        return connection

    async def read(self, sql: str, args: Any = (), *, plain: bool = False, inline: bool = False) -> list[Any]:
        """Rows of ``sql`` on a reader connection, as dicts, or as plain tuples with ``plain``;
        with ``inline``, on the loop's own reader (a short read: see the module's docstring)."""

        def run(connection: sqlite3.Connection) -> list[Any]:
            cursor = connection.cursor()
            if plain:
                cursor.row_factory = None  # type: ignore[assignment]
            return cursor.execute(sql, args or ()).fetchall()

        if inline:
            try:
                return run(self._inline_reader())
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    raise
        return await self._reader().call(run)

    async def _run_in_new_connection(
        self, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        return await self._reader().call(_rows(query, args))

    async def _run_in_existing_connection(
        self, connection: Any, query: str, args: list[Any] | None = None, query_type: str = "generic", table: Any = None
    ) -> Any:
        if isinstance(connection, WriterConnection):
            # Inside a write transaction, on the loop's thread: the statement holds the write lock
            # already and waits for nobody (BEGIN IMMEDIATE and COMMIT, which may wait or fsync, stay on
            # the writer's thread). A hop to that thread cost more than most statements (0.01-0.3 ms).
            return _rows(query, args)(connection.connection())
        return await super()._run_in_existing_connection(connection, query, args, query_type, table)

    def close_pool(self) -> None:
        """Close every reader and writer connection (the engine opens new ones if used again)."""
        with self._lock:
            threads, self._reader_threads = self._reader_threads, []
            writers, self._writers = list(self._writers.values()), {}
            inline, self._inline = list(self._inline.values()), {}
        for connection in inline:
            connection.close()
        for thread in threads:
            thread.close()
        for writer in writers:
            writer.shutdown()
