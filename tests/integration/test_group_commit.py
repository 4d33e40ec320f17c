"""Group commit on SQLite (``sqlite_writes.WriterQueue``): write transactions that queue meanwhile share one ``COMMIT``,
each in its own savepoint, and none is answered before that ``COMMIT`` returned."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import random
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from referralnet import db, sql, sqlite_writes
from referralnet.sqlite_pool import PooledSQLiteEngine

SERVED_SECONDS = sqlite_writes.GROUP_MAX_SECONDS
_SCHEMA = (
    "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
    "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
    # Checked at COMMIT: a child without its parent makes the COMMIT itself fail.
    "CREATE TABLE child (id INTEGER PRIMARY KEY, name TEXT, parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)",
    "CREATE TABLE counter (id INTEGER PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT INTO counter (id, value) VALUES (1, '')",
)


class Database:
    """A WAL file bound as the current engine, with a look from outside the process's connections."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.engine = db.make_engine(f"sqlite:///{path}")
        assert isinstance(self.engine, PooledSQLiteEngine)
        self.statements: list[str] = []  # run on the loop's writer connection, in order

    def committed(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        """Rows of ``query`` as another connection sees them: only what was committed."""
        connection = sqlite3.connect(self.path)
        try:
            return connection.execute(query, args).fetchall()
        finally:
            connection.close()

    def names(self, table: str = "item") -> set[str]:
        return {name for (name,) in self.committed(f"SELECT name FROM {table}")}

    @property
    def commits(self) -> int:
        return self.statements.count("COMMIT")


@pytest.fixture
async def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    monkeypatch.setattr(sqlite_writes, "GROUP_MAX_SECONDS", 60.0)  # a slow test machine does not split a group
    path = tmp_path / "group.sqlite"
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode = WAL")
    for statement in _SCHEMA:
        connection.execute(statement)
    connection.commit()
    connection.close()
    database = Database(path)
    db.bind(database.engine)
    database.engine.writer().connection().set_trace_callback(database.statements.append)  # type: ignore[attr-defined]
    try:
        yield database
    finally:
        await db.stop(database.engine)


async def insert(name: str) -> None:
    await sql.fetch("INSERT INTO item (name) VALUES ({})", name)


async def write(name: str) -> None:
    """One write transaction that inserts ``name``."""
    async with db.write_transaction():
        await insert(name)


async def held(name: str, until: asyncio.Event) -> None:
    """A write transaction that inserts ``name`` and keeps its turn (or its group open) until ``until`` is set."""
    async with db.write_transaction():
        await insert(name)
        await until.wait()


async def queued_behind_a_gate(writers: list[Callable[[], Awaitable[Any]]]) -> list[Any]:
    """Run ``writers`` while a first write transaction holds the turn, so all of them queue behind it;
    their outcomes (a result or the exception), after the gate's own."""
    open_gate = asyncio.Event()
    first = asyncio.ensure_future(held("gate", open_gate))
    await asyncio.sleep(0.05)
    tasks = [asyncio.ensure_future(w()) for w in writers]
    await asyncio.sleep(0.05)  # every one is waiting for its turn now
    open_gate.set()
    return await asyncio.wait_for(asyncio.gather(first, *tasks, return_exceptions=True), timeout=30)


async def test_queued_writes_share_a_commit_and_each_is_answered_after_it(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_writes, "GROUP_MAX_SECONDS", SERVED_SECONDS)
    seen_at_exit: dict[str, bool] = {}

    async def writer(i: int) -> None:
        async with db.write_transaction():
            await asyncio.sleep(0)  # the others queue meanwhile
            await insert(f"w{i}")
        seen_at_exit[f"w{i}"] = f"w{i}" in database.names()  # answered: durable, visible to anyone

    await asyncio.wait_for(asyncio.gather(*(writer(i) for i in range(16))), timeout=30)
    assert database.names() == {f"w{i}" for i in range(16)}
    assert all(seen_at_exit.values()) and len(seen_at_exit) == 16
    assert database.commits < 16


async def test_a_failing_member_is_rolled_back_alone(database: Database) -> None:
    async def writer(i: int) -> None:
        async with db.write_transaction():
            await insert(f"w{i}")
            if i == 3:
                raise RuntimeError("member 3 fails after its insert")

    async def duplicate() -> None:  # fails on a statement (the gate's name): the transaction goes on for the others
        async with db.write_transaction():
            await insert("dup first")
            await insert("gate")

    outcomes = await queued_behind_a_gate([*(functools.partial(writer, i) for i in range(6)), duplicate, lambda: writer(6)])
    assert isinstance(outcomes[4], RuntimeError)
    assert isinstance(outcomes[7], sqlite3.IntegrityError)
    assert [o for k, o in enumerate(outcomes) if k not in (4, 7)] == [None] * 7
    assert database.names() == {"gate", "w0", "w1", "w2", "w4", "w5", "w6"}
    assert database.commits == 1  # the gate and every member after it: one group


async def test_a_failed_commit_fails_every_member_and_writes_nothing(database: Database) -> None:
    answered: list[str] = []

    async def writer(name: str, parent: int | None) -> None:
        async with db.write_transaction():
            await sql.fetch("INSERT INTO child (name, parent) VALUES ({}, {})", name, parent)
        answered.append(name)

    outcomes = await queued_behind_a_gate([lambda: writer("a", None), lambda: writer("orphan", 404), lambda: writer("b", None)])
    assert [type(o) for o in outcomes] == [sqlite3.OperationalError] * 4  # the gate's group held them all
    assert all(isinstance(o.__cause__, sqlite3.IntegrityError) for o in outcomes)
    assert len({id(o) for o in outcomes}) == 4  # each its own
    assert answered == []
    assert database.committed("SELECT count(*) FROM child UNION ALL SELECT count(*) FROM item") == [(0,), (0,)]
    async with db.write_transaction():  # the writer is out of the failed transaction, the turn free
        await insert("after")
    assert database.names() == {"after"}


@pytest.mark.parametrize(("members", "seconds", "commits"), [(4, 60.0, 3), (32, 0.0, 12)])
async def test_a_group_is_capped(database: Database, monkeypatch: pytest.MonkeyPatch, members: int, seconds: float, commits: int) -> None:
    """At most ``GROUP_MAX_MEMBERS`` members, and none joins once ``GROUP_MAX_SECONDS`` passed since the first began."""
    monkeypatch.setattr(sqlite_writes, "GROUP_MAX_MEMBERS", members)
    monkeypatch.setattr(sqlite_writes, "GROUP_MAX_SECONDS", seconds)

    async def writer(i: int) -> None:
        async with db.write_transaction():
            await insert(f"w{i}")

    outcomes = await queued_behind_a_gate([functools.partial(writer, i) for i in range(11)])
    assert outcomes == [None] * 12
    assert database.commits == commits
    assert len(database.names()) == 12


async def test_writes_to_one_row_keep_their_order(database: Database) -> None:
    async def writer(i: int) -> None:
        async with db.write_transaction():
            await sql.fetch("UPDATE counter SET value = value || {} WHERE id = 1", f"{i},")

    await queued_behind_a_gate([functools.partial(writer, i) for i in range(20)])
    assert database.committed("SELECT value FROM counter") == [("".join(f"{i}," for i in range(20)),)]
    assert database.commits == 1


async def test_a_writer_cancelled_as_its_turn_comes_passes_it_on_inside_the_group(database: Database) -> None:
    open_gate = asyncio.Event()
    cancelled: list[asyncio.Task[Any]] = []

    async def gate() -> None:
        async with db.write_transaction():
            await insert("gate")
            await open_gate.wait()
            # Runs before the next writer resumes, but after the gate handed it the turn on its way out.
            asyncio.get_running_loop().call_soon(cancelled[0].cancel)

    first = asyncio.ensure_future(gate())
    await asyncio.sleep(0.05)
    cancelled.append(asyncio.ensure_future(write("cancelled")))
    waiting = asyncio.ensure_future(write("next"))
    await asyncio.sleep(0.05)
    open_gate.set()
    outcomes = await asyncio.wait_for(asyncio.gather(first, cancelled[0], waiting, return_exceptions=True), timeout=30)
    assert outcomes[0] is None and isinstance(outcomes[1], asyncio.CancelledError) and outcomes[2] is None
    assert database.names() == {"gate", "next"}
    assert database.commits == 1


async def test_a_failing_first_member_is_rolled_back_alone_and_the_queued_ones_go_on(database: Database) -> None:
    async def writer(i: int) -> None:
        async with db.write_transaction():
            await insert(f"w{i}")

    open_gate = asyncio.Event()

    async def gate() -> None:
        async with db.write_transaction():
            await insert("gate")
            await open_gate.wait()
            raise RuntimeError("the first one fails")

    first = asyncio.ensure_future(gate())
    await asyncio.sleep(0.05)
    tasks = [asyncio.ensure_future(writer(i)) for i in range(4)]
    await asyncio.sleep(0.05)
    open_gate.set()
    outcomes = await asyncio.wait_for(asyncio.gather(first, *tasks, return_exceptions=True), timeout=30)
    assert isinstance(outcomes[0], RuntimeError) and outcomes[1:] == [None] * 4
    assert database.names() == {"w0", "w1", "w2", "w3"}
    assert database.commits == 1


async def test_a_group_whose_transaction_is_lost_fails_every_member_before_it(database: Database) -> None:
    """SQLite may roll a whole transaction back itself (a full disk, an I/O error): the members done before it
    must then fail, not be answered as written; the writers after it start afresh."""

    async def writer(i: int) -> None:
        async with db.write_transaction():
            await insert(f"w{i}")
            if i == 1:  # as SQLite does on SQLITE_FULL
                engine = db.current_engine()
                assert isinstance(engine, PooledSQLiteEngine)
                engine.writer().connection().execute("ROLLBACK")

    outcomes = await queued_behind_a_gate([functools.partial(writer, i) for i in range(4)])
    assert [isinstance(o, sqlite3.OperationalError) for o in outcomes] == [True, True, True, False, False]
    assert database.names() == {"w2", "w3"}
    assert database.commits == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_failures_nesting_and_cancellations_lose_nothing_answered(database: Database, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    """Every block that exited normally has its rows written, every one that raised has none, and the turn ends free."""
    monkeypatch.setattr(sqlite_writes, "GROUP_MAX_SECONDS", SERVED_SECONDS)
    rnd = random.Random(seed)
    outcome: dict[int, str] = {}

    async def writer(i: int) -> None:
        fate = rnd.random()
        try:
            async with db.write_transaction():
                await insert(f"w{i}")
                if rnd.random() < 0.3:
                    await asyncio.sleep(rnd.random() * 0.003)  # others queue, and cancellations land here
                if rnd.random() < 0.2:
                    async with db.write_transaction():  # nested: part of the same member
                        await insert(f"n{i}")
                if fate < 0.1:
                    raise RuntimeError("the block fails")
                if fate < 0.2:
                    await insert(f"w{i}")  # a failed statement, its error not caught
            outcome[i] = "written"
        except asyncio.CancelledError:
            outcome[i] = "cancelled"
            raise
        except (RuntimeError, sqlite3.IntegrityError):
            outcome[i] = "failed"

    tasks: list[asyncio.Task[None]] = []
    for i in range(300):
        tasks.append(asyncio.ensure_future(writer(i)))
        if rnd.random() < 0.3:
            await asyncio.sleep(0)
        if rnd.random() < 0.05:
            rnd.choice(tasks).cancel()
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=60)
    names = database.names()
    assert {f"w{i}" for i, o in outcome.items() if o == "written"} <= names
    assert not {f"w{i}" for i, o in outcome.items() if o == "failed"} & names
    assert all(f"w{name[1:]}" in names for name in names if name.startswith("n"))
    assert {"written", "failed", "cancelled"} == set(outcome.values())
    assert database.commits < len([name for name in names if name.startswith("w")])  # fewer than the writes
    queue = sqlite_writes.writer_queue(database.engine)  # type: ignore[arg-type]
    assert not queue.busy and not queue.waiters and queue.group is None


async def test_a_member_failed_by_the_groups_commit_starts_its_next_block_afresh(database: Database) -> None:
    """A block whose commit raised (here another member's work failed the shared COMMIT) leaves no current
    transaction behind: the task's next block takes its own turn, not a place inside whoever holds it."""
    retried = asyncio.Event()
    stale: list[bool] = []

    async def retrying() -> None:
        with pytest.raises(sqlite3.OperationalError):
            async with db.write_transaction():
                await insert("a")
        stale.append(database.engine.current_transaction.get() is not None)
        await asyncio.sleep(0.1)  # the failing writer below holds the turn now
        async with db.write_transaction():
            await insert("a retried")
        retried.set()

    async def orphan() -> None:
        async with db.write_transaction():
            await sql.fetch("INSERT INTO child (name, parent) VALUES ({}, {})", "orphan", 404)

    async def failing() -> None:
        await asyncio.sleep(0.05)
        async with db.write_transaction():
            await insert("d")
            await asyncio.sleep(0.2)  # the retry arrives meanwhile
            raise RuntimeError("D fails")

    later = asyncio.ensure_future(failing())
    outcomes = await queued_behind_a_gate([retrying, orphan])
    assert isinstance(await asyncio.wait_for(asyncio.gather(later, return_exceptions=True), timeout=30), list)
    assert [type(o) for o in outcomes] == [sqlite3.OperationalError, type(None), sqlite3.OperationalError]
    assert stale == [False] and retried.is_set()
    assert database.names() == {"a retried"}


async def test_a_task_started_inside_a_block_that_ended_does_not_join_it(database: Database) -> None:
    started: list[asyncio.Task[None]] = []
    go = asyncio.Event()

    async def child() -> None:
        await go.wait()  # its parent's block has ended by now
        async with db.write_transaction():
            await insert("child")

    async with db.write_transaction():
        await insert("parent")
        started.append(asyncio.ensure_future(child()))
    go.set()
    await asyncio.wait_for(started[0], timeout=30)
    assert database.names() == {"parent", "child"}
    assert database.commits == 2


async def test_members_before_a_lost_transaction_get_their_own_error_not_the_failing_members(database: Database) -> None:
    """The member whose failure ends the group raises its own exception (a domain error here); the earlier
    members, innocent, each get their own ``OperationalError`` caused by it."""

    class Domain(Exception):
        pass

    async def writer(i: int) -> None:
        async with db.write_transaction():
            await insert(f"w{i}")
            if i == 2:  # SQLite rolled the whole transaction back (as on SQLITE_FULL); the block then fails its own way
                engine = db.current_engine()
                assert isinstance(engine, PooledSQLiteEngine)
                engine.writer().connection().execute("ROLLBACK")
                raise Domain("conflict")

    outcomes = await queued_behind_a_gate([functools.partial(writer, i) for i in range(4)])
    assert [type(o) for o in outcomes] == [sqlite3.OperationalError] * 3 + [Domain, type(None)]
    assert all(isinstance(o.__cause__, Domain) for o in outcomes[:3])
    assert len({id(o) for o in outcomes[:3]}) == 3
    assert database.names() == {"w3"}


async def test_stop_lets_the_writes_under_way_finish_and_refuses_new_ones(database: Database) -> None:
    open_gate = asyncio.Event()

    first = asyncio.ensure_future(held("gate", open_gate))
    await asyncio.sleep(0.05)
    queued = [asyncio.ensure_future(write(f"w{i}")) for i in range(2)]
    await asyncio.sleep(0.05)
    stopping = asyncio.ensure_future(db.stop(database.engine))
    await asyncio.sleep(0.05)
    with pytest.raises(sqlite3.OperationalError, match="being closed"):
        await asyncio.wait_for(write("refused"), timeout=5)
    assert not stopping.done()
    open_gate.set()
    outcomes = await asyncio.wait_for(asyncio.gather(stopping, first, *queued, return_exceptions=True), timeout=30)
    assert outcomes == [None] * 4
    assert database.names() == {"gate", "w0", "w1"}
    await asyncio.wait_for(write("after"), timeout=5)  # the engine opens a new writer when used again
    assert database.names() == {"gate", "w0", "w1", "after"}


async def test_stop_with_a_group_that_does_not_end_in_time_fails_its_members_and_hangs_nobody(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "STOP_WAIT_SECONDS", 0.1, raising=False)
    open_gate = asyncio.Event()

    first = asyncio.ensure_future(held("gate", open_gate))
    await asyncio.sleep(0.05)
    queued = [asyncio.ensure_future(write(f"w{i}")) for i in range(2)]  # they join the gate's group
    await asyncio.sleep(0.05)
    await asyncio.wait_for(db.stop(database.engine), timeout=5)  # the gate is still open: the writer closes under it
    open_gate.set()
    outcomes = await asyncio.wait_for(asyncio.gather(first, *queued, return_exceptions=True), timeout=10)
    assert all(isinstance(o, sqlite3.Error) for o in outcomes), outcomes
    assert database.names() == set()
    await asyncio.wait_for(write("after"), timeout=5)
    assert database.names() == {"after"}


async def test_a_closed_writer_does_not_reconnect(database: Database) -> None:
    writer = database.engine.writer()  # type: ignore[attr-defined]
    writer.connection()
    database.engine.close_pool()  # type: ignore[attr-defined]
    with pytest.raises(sqlite3.ProgrammingError):
        writer.connection()


async def test_a_writer_cancelled_while_its_begin_waits_for_another_process_keeps_the_turn_until_it_returned(
    database: Database,
) -> None:
    """Its ``BEGIN IMMEDIATE`` goes on on the writer's thread: the next writer must wait for it (not block the
    loop on the connection, nor find a transaction nobody owns), and the writer must end up out of it."""
    other_process = sqlite3.connect(database.path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    loop = asyncio.get_running_loop()
    loop.call_later(0.4, other_process.execute, "COMMIT")

    try:
        cancelled = asyncio.ensure_future(write("cancelled"))
        await asyncio.sleep(0.1)  # its BEGIN waits on the writer's thread
        waiting = asyncio.ensure_future(write("next"))
        await asyncio.sleep(0.05)
        cancelled.cancel()
        before = loop.time()
        await asyncio.sleep(0.01)
        assert loop.time() - before < 0.15  # the loop was not held up
        outcomes = await asyncio.wait_for(asyncio.gather(cancelled, waiting, return_exceptions=True), timeout=30)
        assert isinstance(outcomes[0], asyncio.CancelledError) and outcomes[1] is None
        await asyncio.wait_for(write("later"), timeout=30)
    finally:
        other_process.close()
    assert database.names() == {"next", "later"}
    assert not database.engine.writer().connection().in_transaction  # type: ignore[attr-defined]


async def test_a_member_cancelled_while_waiting_for_its_answer_ends_only_once_its_work_is_committed(database: Database) -> None:
    """Its work commits with the group's all the same: it raises its cancellation, but not before the COMMIT
    returned, so the end of its task means its write is settled."""
    hold_last = asyncio.Event()
    settled: list[set[str]] = []

    open_gate = asyncio.Event()

    first = asyncio.ensure_future(held("gate", open_gate))
    await asyncio.sleep(0.05)
    cancelled = asyncio.ensure_future(write("cancelled"))
    cancelled.add_done_callback(lambda _: settled.append(database.names()))
    holding = asyncio.ensure_future(held("last", hold_last))
    await asyncio.sleep(0.05)
    open_gate.set()
    await asyncio.sleep(0.05)  # "cancelled" waits for its answer, "last" holds the group open
    cancelled.cancel()
    await asyncio.sleep(0.05)
    assert not cancelled.done()
    hold_last.set()
    outcomes = await asyncio.wait_for(asyncio.gather(first, cancelled, holding, return_exceptions=True), timeout=30)
    assert outcomes[0] is None and isinstance(outcomes[1], asyncio.CancelledError) and outcomes[2] is None
    assert settled == [{"gate", "cancelled", "last"}]
    assert database.commits == 1


async def test_a_member_timed_out_while_waiting_for_its_answer_raises_timeout_error(database: Database) -> None:
    """The cancellation it re-raises is the one asyncio.timeout sent: the caller gets its TimeoutError."""
    hold_last = asyncio.Event()
    open_gate = asyncio.Event()
    outcome: list[str] = []

    async def timed() -> None:
        try:
            async with asyncio.timeout(0.1):
                async with db.write_transaction():
                    await insert("timed")
        except TimeoutError:
            outcome.append("timeout")

    first = asyncio.ensure_future(held("gate", open_gate))
    await asyncio.sleep(0.01)
    tasks = [asyncio.ensure_future(timed()), asyncio.ensure_future(held("last", hold_last))]
    await asyncio.sleep(0.01)
    open_gate.set()
    await asyncio.sleep(0.2)  # the timeout fired while "timed" waited for its answer
    hold_last.set()
    await asyncio.wait_for(asyncio.gather(first, *tasks), timeout=30)
    assert outcome == ["timeout"]
    assert database.names() == {"gate", "timed", "last"}


async def test_a_statement_on_the_transactions_connection_cannot_outlive_its_rollback(database: Database) -> None:
    """A statement through ``tx.connection`` (a savepoint, raw SQL) whose caller gave up on it must not run on
    the writer's thread after the block rolled back: it would be written outside any transaction."""
    thread = database.engine.writer()._thread  # type: ignore[attr-defined]
    connection = thread._conn()
    loop_thread = threading.get_ident()

    def slow_on_the_writers_thread() -> sqlite3.Connection:  # a statement started there, not yet run
        if threading.get_ident() != loop_thread:
            time.sleep(0.3)
        return connection

    thread._conn = slow_on_the_writers_thread

    with pytest.raises(RuntimeError):
        async with db.write_transaction() as tx:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tx.connection.execute("INSERT INTO item (name) VALUES ('given up')"), 0.05)
            raise RuntimeError("the block fails")
    await asyncio.sleep(0.5)  # the thread is free again
    assert database.names() == set()
