"""An SQLite write transaction in its turn of :mod:`referralnet.sqlite_writes`' queue: ``BEGIN IMMEDIATE``, or a
``SAVEPOINT`` inside the open group, answered once the group's ``COMMIT`` returned. Used by :func:`referralnet.db.write_transaction`."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from piccolo.engine.sqlite import SQLiteTransaction, TransactionType

from referralnet.sqlite_pool import PooledSQLiteEngine, WriterConnection
from referralnet.sqlite_writes import BUSY_TIMEOUT_MS, WriterQueue, _Group, _leave_transaction

# The savepoint each later member of a group runs in.
_MEMBER = "referralnet_member"


class _TurnKept(asyncio.CancelledError):
    """A cancelled ``BEGIN`` keeps the turn until it returned: not released where it is raised."""


class QueuedTransaction(SQLiteTransaction):
    """``BEGIN IMMEDIATE`` in this process's turn (``WriterQueue``), or, handed the turn inside an open group
    on the loop's writer, a ``SAVEPOINT`` in the group's transaction. ``busy_timeout`` still covers other
    processes and writes outside :func:`write_transaction`.
    """

    engine: PooledSQLiteEngine

    def __init__(self, engine: PooledSQLiteEngine, queue: WriterQueue) -> None:
        super().__init__(engine, transaction_type=TransactionType.immediate)
        self.queue = queue
        self.group: _Group | None = None  # on the loop's writer: the group this transaction belongs to
        self.joined = False  # a later member of its group (inside its own savepoint)
        self.error: BaseException | None = None  # the body's, when it failed
        self.ended = False  # its body is done: a write_transaction begun later must not join it
        if isinstance(self._parent, QueuedTransaction) and self._parent.ended:
            # A task started inside a block that has ended since inherited it as its current transaction.
            self._parent = None

    async def get_connection(self) -> Any:
        return self.engine.writer()  # the loop's persistent writer

    async def __aexit__(self, exception_type: Any, exception: Any, traceback: Any) -> bool:
        """Piccolo's, except that the task's current transaction is reset even when the commit or rollback
        raises: else the task's next write_transaction would join this dead one (no turn, no ``BEGIN``)."""
        if self._parent is not None:
            return exception is None
        self.error, self.ended = exception, True
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
        finally:
            try:
                await self.connection.close()
            finally:
                self.engine.current_transaction.reset(self.context)
        return exception is None

    async def begin(self) -> None:
        writer: WriterConnection = self.connection
        await self.queue.acquire(writer)
        try:
            group = self.queue.group
            if group is not None:  # handed the turn inside the open group (only a waiter on its writer is)
                group.writer.connection().execute(f"SAVEPOINT {_MEMBER}")
                group.members += 1
                self.group, self.joined = group, True
                return
            if not _begin_at_once(writer.connection()):
                await self._begin_on_thread(writer)
            self.group = self.queue.group = _Group(writer)
        except _TurnKept:
            raise asyncio.CancelledError from None
        except BaseException:
            if self.queue.group is None:
                _leave_transaction(writer)  # a BEGIN that returned as the cancellation came
            self.queue.release()
            raise

    async def _begin_on_thread(self, writer: WriterConnection) -> None:
        """``BEGIN IMMEDIATE`` on the writer's thread, where it waits for another process's write lock. Cancelled
        meanwhile, the turn is kept until that ``BEGIN`` returned (and is rolled back): the next writer must not
        use the connection while it runs (it would block the loop, then find a transaction nobody owns)."""
        started = writer.start("BEGIN IMMEDIATE")
        try:
            await asyncio.shield(started)
        except asyncio.CancelledError:
            if started.done():
                raise

            def abandon(begun: asyncio.Future[Any]) -> None:
                if not begun.cancelled():
                    begun.exception()  # retrieved: a failed BEGIN is no news here
                try:
                    _leave_transaction(writer)
                finally:
                    self.queue.release()

            started.add_done_callback(abandon)
            raise _TurnKept from None

    async def commit(self) -> None:
        group = self.group
        assert group is not None  # begin() joined or opened one
        try:
            connection = group.writer.connection()
            if self.joined:
                connection.execute(f"RELEASE {_MEMBER}")
            if not connection.in_transaction:
                raise sqlite3.OperationalError("the write transaction was rolled back before its commit")
        except BaseException as exc:
            self.queue.fail(exc)
            raise
        answer = asyncio.get_running_loop().create_future()
        group.answers.append(answer)
        self.queue.release()
        await _outcome(answer)  # the group's COMMIT returned
        self._committed = True

    async def rollback(self) -> None:
        group = self.group
        assert group is not None  # begin() joined or opened one
        if not self.joined:  # a group's first member, alone in its transaction (nobody joins before it ended)
            self.queue.group = None
            try:
                connection = group.writer.connection()
                if connection.in_transaction:  # not when SQLite rolled it back already (e.g. on a full disk)
                    connection.execute("ROLLBACK")  # no fsync: no need for the writer's thread
            finally:
                self.queue.release()
            self._rolled_back = True
            return
        try:
            connection = group.writer.connection()
            connection.execute(f"ROLLBACK TO {_MEMBER}")
            connection.execute(f"RELEASE {_MEMBER}")
        except Exception as exc:  # the whole transaction is gone with it
            self.queue.fail(self.error or exc)
        else:
            self.queue.release()
        self._rolled_back = True


async def _outcome(answer: asyncio.Future[None]) -> None:
    """A group member's ``answer``, waited for through cancellations: a cancelled member raises its
    cancellation only once its work is known committed or not, so its task's end means its write is settled."""
    cancelled: asyncio.CancelledError | None = None
    while not answer.done():
        try:
            await asyncio.shield(answer)
        except asyncio.CancelledError as exc:
            cancelled = exc
        except Exception:  # noqa: BLE001 - the answer's own error, raised below unless cancelled
            break
    if cancelled is not None:
        raise cancelled
    answer.result()


def _begin_at_once(connection: sqlite3.Connection) -> bool:
    """``BEGIN IMMEDIATE`` on the loop's thread if the write lock is free now (no wait, no thread hop).

    This process's writers are already queued, so the lock is busy only when another process holds
    it; then ``False``, and the caller waits for it on the writer's thread (``busy_timeout``).
    """
    connection.execute("PRAGMA busy_timeout = 0")
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF not in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise
        return False
    finally:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return True
