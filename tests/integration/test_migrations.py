"""Migrations: an empty database of each engine is migrated once, a second run is a no-op, and two
processes migrating the same fresh database at the same moment both succeed with the schema made once.

The concurrent tests start two real ``python -m referralnet migrate`` processes. Python's start-up takes
long enough for one of them to finish before the other begins, so each child first imports everything,
prints "ready" and waits on stdin; the test releases both at once. Then exactly one must apply the
migrations and the other, having waited for the lock (PostgreSQL advisory lock, SQLite file lock),
must find nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from referralnet import db
from referralnet.tables import TABLES
from tests.conftest import ENGINES, PG_URL, REPO

SRC = REPO / "src"
NO_OP = "No migrations need to be run"
CHILD_TIMEOUT = 120


def migration_ids() -> list[str]:
    """The ``ID`` of every migration file in ``migrations/``."""
    ids = []
    for path in sorted((REPO / "migrations").glob("*.py")):
        match = re.search(r'^ID\s*=\s*"([^"]+)"', path.read_text(), re.MULTILINE)
        if match:
            ids.append(match.group(1))
    assert ids, "no migrations found"
    return ids


EXPECTED_TABLES = {t._meta.tablename for t in TABLES} | {"migration"}


# ---- databases ---------------------------------------------------------------------------------


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextlib.contextmanager
def fresh_postgres() -> Iterator[str]:
    """An empty database beside REFERRALNET_TEST_POSTGRES_URL's, dropped afterwards."""
    assert PG_URL
    name = f"rn_migr_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield db.with_database(PG_URL, name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=ENGINES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty (not migrated) database of each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
    else:
        with fresh_postgres() as url:
            yield url


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


def applied_migrations(url: str) -> list[str]:
    """``migration.name`` of every row (duplicates kept), straight from the database."""
    if url.startswith("sqlite:"):
        con = sqlite3.connect(_sqlite_path(url))
        try:
            return [r[0] for r in con.execute("SELECT name FROM migration WHERE app_name = 'referralnet'")]
        finally:
            con.close()

    async def query() -> list[str]:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return [r["name"] for r in await conn.fetch("SELECT name FROM migration WHERE app_name = 'referralnet'")]
        finally:
            await conn.close()

    return asyncio.run(query())


def table_names(url: str) -> list[str]:
    if url.startswith("sqlite:"):
        con = sqlite3.connect(_sqlite_path(url))
        try:
            return [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        finally:
            con.close()

    async def query() -> list[str]:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")
            return [r["table_name"] for r in rows]
        finally:
            await conn.close()

    return asyncio.run(query())


def assert_migrated_once(url: str) -> None:
    counts = Counter(applied_migrations(url))
    assert counts == Counter(migration_ids()), f"migration rows: {dict(counts)}"
    assert EXPECTED_TABLES <= set(table_names(url))


# ---- in one process ----------------------------------------------------------------------------


def test_migrate_empty_database_then_second_run_is_a_no_op(empty_database_url: str) -> None:
    url = empty_database_url
    first = asyncio.run(db.migrate(db.make_engine(url)))
    ids = migration_ids()
    assert any(f"Running {len(ids)} migration" in line for line in first), first
    assert not any(NO_OP in line for line in first), first
    for mid in ids:
        assert any(mid in line and "ok" in line for line in first), f"{mid} not reported applied: {first}"
    assert_migrated_once(url)

    second = asyncio.run(db.migrate(db.make_engine(url)))
    assert any(NO_OP in line for line in second), second
    assert not any("Running" in line for line in second), second
    assert_migrated_once(url)

    if url.startswith("sqlite:"):
        con = sqlite3.connect(_sqlite_path(url))
        try:
            assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            con.close()


# ---- two processes at once ---------------------------------------------------------------------

# Imports everything `referralnet migrate` needs, says "ready", waits for "go", then is exactly
# `python -m referralnet migrate`.
CHILD = """
import runpy, sys
import piccolo.apps.migrations.commands.forwards, referralnet.cli, referralnet.db, referralnet.piccolo_app
print("ready", flush=True)
if sys.stdin.readline().strip() != "go":
    sys.exit(3)
sys.argv = ["referralnet", "migrate"]
runpy.run_module("referralnet", run_name="__main__", alter_sys=True)
"""


def child_env(url: str) -> dict[str, str]:
    """This environment plus the source tree (works with and without ``pip install -e .``)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    env["REFERRALNET_DATABASE_URL"] = url
    return env


def migrate_concurrently(url: str, processes: int = 2) -> list[tuple[int, str, str]]:
    """Start ``processes`` migrators, release them together; (exit code, stdout, stderr) of each."""
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            env=child_env(url),
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            if line.strip() != "ready":
                child.kill()
                _, err = child.communicate(timeout=CHILD_TIMEOUT)
                pytest.fail(f"migrator did not start: {line!r}\n{err}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, err = child.communicate(timeout=CHILD_TIMEOUT)
            results.append((child.returncode, out, err))
        return results
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def assert_one_applied_one_waited(results: list[tuple[int, str, str]]) -> None:
    for code, out, err in results:
        assert code == 0, f"migrator exited with {code}\nstdout:\n{out}\nstderr:\n{err}"
        assert "database ready" in out, out
    applied = [out for _, out, _ in results if f"Running {len(migration_ids())} migration" in out]
    waited = [out for _, out, _ in results if NO_OP in out]
    assert len(applied) == 1 and len(waited) == len(results) - 1, [out for _, out, _ in results]


@pytest.mark.skipif(not PG_URL, reason="REFERRALNET_TEST_POSTGRES_URL is not set")
def test_two_processes_migrate_the_same_postgres_database_at_once() -> None:
    with fresh_postgres() as url:
        results = migrate_concurrently(url)
        assert_one_applied_one_waited(results)
        assert_migrated_once(url)


def test_two_processes_migrate_the_same_sqlite_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    results = migrate_concurrently(url)
    assert_one_applied_one_waited(results)
    assert_migrated_once(url)
