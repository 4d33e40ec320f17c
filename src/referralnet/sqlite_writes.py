"""This process's SQLite write transactions: one at a time in arrival order on the loop's persistent writer
connection, those that queue meanwhile committed together (group commit). The queue is here; the transaction
that takes its turn in it is :class:`referralnet.sqlite_transaction.QueuedTransaction`, used by
:func:`referralnet.db.write_transaction`; PostgreSQL's transactions do not pass here."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import sqlite3
import weakref
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine

from referralnet.sqlite_pool import WriterConnection

# How long an SQLite statement waits for another connection's lock before "database is locked".
BUSY_TIMEOUT_MS = 30000

# Per event loop and SQLite file: the FIFO queue of this process's write transactions.
writer_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, WriterQueue]] = weakref.WeakKeyDictionary()

# A group (see WriterQueue) takes no more members after this many, or this long after its first began:
# the first member's answer waits for every later one and for the COMMIT. This bounds joining only: a member
# that joined in time holds the group open for as long as its body runs.
GROUP_MAX_MEMBERS = 32
GROUP_MAX_SECONDS = 0.005


class _Group:
    """Write transactions run one after another in one SQLite transaction on the loop's writer, committed once."""

    __slots__ = ("writer", "answers", "members", "deadline")

    def __init__(self, writer: WriterConnection) -> None:
        loop = asyncio.get_running_loop()
        self.writer = writer
        # One future per member done with its work: its answer, given when the COMMIT returned (a member
        # cancelled meanwhile still waits for it: sqlite_transaction._outcome).
        self.answers: list[asyncio.Future[None]] = []
        self.members = 1
        self.deadline = loop.time() + GROUP_MAX_SECONDS

    def answer(self, error: BaseException | None) -> None:
        for future in self.answers:
            if not future.done():
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(_lost(error))


def _lost(cause: BaseException) -> sqlite3.OperationalError:
    """A group member's own error when the group's transaction failed: never the exception of the member that
    caused it (a domain error, a cancellation), nor one object raised in many tasks."""
    error = sqlite3.OperationalError("the write transaction's group was not committed")
    error.__cause__ = cause
    return error


class WriterQueue:
    """This process's write transactions on one SQLite file and loop, one at a time in arrival order; on the
    loop's persistent writer, those that queue meanwhile are committed together (group commit).

    SQLite's busy handler polls with growing sleeps instead of queueing, so under load late writers
    overtook early ones and the slowest waited seconds; here they wait their turn in a FIFO. The turn
    is held from ``BEGIN`` to ``COMMIT`` or ``ROLLBACK`` only. A transaction on the writer that ends
    while another waits does not commit: it hands its turn on inside the same SQLite transaction, where
    the next one runs in a ``SAVEPOINT`` (its failure rolls back only its own work). The member that
    finds nobody waiting (or the group full: ``GROUP_MAX_*``) starts the ``COMMIT`` on the writer's
    thread: one fsync for all, during which the next writers queue. Every member is answered only once
    that ``COMMIT`` returned, with its error if it failed (then nothing of the group was written).
    """

    def __init__(self) -> None:
        self.busy = False
        # Each waiter's turn, with the writer it will use (only one on the group's writer may join it).
        self.waiters: collections.deque[tuple[asyncio.Future[None], WriterConnection]] = collections.deque()
        # The group the turn's holder continues, while it is open (from its first BEGIN until its COMMIT starts).
        self.group: _Group | None = None
        self.closing = False  # db.stop() is draining it: no new turns
        self._idle: list[asyncio.Future[None]] = []  # db.stop()'s wait for the last turn to end

    async def acquire(self, writer: WriterConnection) -> None:
        """Wait for this transaction's turn on ``writer``, the loop's persistent writer of its engine."""
        if self.closing:
            raise sqlite3.OperationalError("the database is being closed")
        if not self.busy:
            self.busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        self.waiters.append((turn, writer))
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                self.release()  # the turn came with the cancellation: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self.waiters.remove((turn, writer))
            raise

    def release(self) -> None:
        """End the current turn: hand it to the next waiter, inside the open group if it may join it, else
        commit the group first (the turn is handed on when its ``COMMIT`` returned)."""
        waiters = self.waiters
        while waiters and waiters[0][0].done():  # cancelled while waiting
            waiters.popleft()
        group = self.group
        if group is not None:
            if (
                waiters
                and waiters[0][1] is group.writer
                and group.members < GROUP_MAX_MEMBERS
                and asyncio.get_running_loop().time() < group.deadline
            ):
                waiters.popleft()[0].set_result(None)
                return
            self.group = None
            self._commit(group)
            return
        if waiters:
            waiters.popleft()[0].set_result(None)
        else:
            self.busy = False
            idle, self._idle = self._idle, []
            for future in idle:
                if not future.done():
                    future.set_result(None)

    def drained(self) -> asyncio.Future[None]:
        """Done once no turn is held (new turns are refused meanwhile: ``closing``)."""
        future = asyncio.get_running_loop().create_future()
        if self.busy:
            self._idle.append(future)
        else:
            future.set_result(None)
        return future

    def _commit(self, group: _Group) -> None:
        """``COMMIT`` ``group`` on the writer's thread, started now; then answer its members and release the turn.
        A callback, not a task: a member's cancellation cannot stop it."""

        def committed(outcome: asyncio.Future[Any]) -> None:
            try:
                error = sqlite3.OperationalError("the COMMIT was cancelled") if outcome.cancelled() else outcome.exception()
                if error is not None:
                    _leave_transaction(group.writer)
                group.answer(error)
            finally:
                self.release()

        try:
            started = group.writer.start("COMMIT")
        except BaseException as exc:  # the writer is closed (db.stop): nobody may be left waiting for an answer
            _leave_transaction(group.writer)
            group.answer(exc)
            self.release()
            return
        started.add_done_callback(committed)

    def fail(self, error: BaseException) -> None:
        """The open group's transaction is lost (SQLite rolled it back, e.g. on a full disk): its members fail with ``error``."""
        group, self.group = self.group, None
        assert group is not None
        _leave_transaction(group.writer)
        group.answer(error)
        self.release()


def _leave_transaction(writer: WriterConnection) -> None:
    """A persistent writer must not stay inside a failed transaction (the next ``BEGIN`` would fail)."""
    with contextlib.suppress(sqlite3.Error):  # also when it is closed: then it is out of it already
        connection = writer.connection()
        if connection.in_transaction:
            connection.execute("ROLLBACK")


def writer_queue(engine: SQLiteEngine) -> WriterQueue:
    queues = writer_queues.setdefault(asyncio.get_running_loop(), {})
    queue = queues.get(engine.path)
    if queue is None:
        queue = queues[engine.path] = WriterQueue()
    return queue
