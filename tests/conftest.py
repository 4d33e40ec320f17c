"""Shared fixtures: a migrated database per engine, an app with a fixed clock, and tokens per role.

Integration tests run on SQLite always and on PostgreSQL too when REFERRALNET_TEST_POSTGRES_URL is
set. Litestar's AsyncTestClient runs the app on its own event loop, so tests reach the database
only through the app, or through ``in_app`` which runs a coroutine on the app's loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from litestar.testing import AsyncTestClient

from referralnet import db
from referralnet.app import create_app
from referralnet.clock import FixedClock
from referralnet.settings import Settings
from referralnet.tables import TABLES

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("REFERRALNET_TEST_POSTGRES_URL")
ENGINES = ["sqlite", "postgres"] if PG_URL else ["sqlite"]
T = TypeVar("T")

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.sqlite"
    asyncio.run(db.migrate(db.make_engine(f"sqlite:///{path}")))
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database beside the one in REFERRALNET_TEST_POSTGRES_URL, dropped at the end."""
    assert PG_URL
    name = f"rn_test_{uuid.uuid4().hex[:10]}"
    url = db.with_database(PG_URL, name)

    asyncio.run(pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
    asyncio.run(db.migrate(db.make_engine(url)))
    yield url
    asyncio.run(pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def pg_admin(url: str, sql: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) on its own connection to ``url``."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# Rows the migrations insert (the networks of the vocabulary): put back after each truncation, as a
# fresh SQLite copy of the migrated template has them.
MIGRATED_ROWS: dict[str, list[dict[str, Any]]] = {}


async def _truncate(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        if not MIGRATED_ROWS:
            for table in ("network",):
                MIGRATED_ROWS[table] = [dict(r) for r in await conn.fetch(f'SELECT * FROM "{table}" ORDER BY id')]
        names = ", ".join(f'"{t._meta.tablename}"' for t in TABLES if t._meta.tablename != "instance_secret")
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        for table, rows in MIGRATED_ROWS.items():
            for row in rows:
                columns = ", ".join(f'"{c}"' for c in row)
                values = ", ".join(f"${i}" for i in range(1, len(row) + 1))
                await conn.execute(f'INSERT INTO "{table}" ({columns}) VALUES ({values})', *row.values())
            if rows:
                await conn.execute(f"SELECT setval('{table}_id_seq', {max(r['id'] for r in rows)})")
    finally:
        await conn.close()


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database of each engine."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.sqlite"
        shutil.copy(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    asyncio.run(_truncate(url))
    return url


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, data_dir=str(REPO / "data"), scheduler=False, debug=True)


@pytest.fixture
async def client(settings: Settings, clock: FixedClock) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(settings, clock=clock)
    async with AsyncTestClient(app=app) as c:
        yield c


def in_app(client: AsyncTestClient[Any], fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` on the app's event loop (where its database pool lives) and return the result."""

    async def call() -> T:
        return await fn(*args, **kwargs)

    return client.blocking_portal.call(call)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Tokens:
    """Creates tokens on the app's loop: ``tokens.make("ngo", organisation=3)`` returns headers."""

    def __init__(self, client: AsyncTestClient[Any]) -> None:
        self.client = client

    def make(self, role: str, organisation: int | str | None = None, name: str | None = None) -> dict[str, str]:
        from referralnet.accounts.services import create_token

        if role == "institution" and organisation is None:
            organisation = self.institution(f"{name or 'test'} institution")
        token, _ = in_app(self.client, create_token, role=role, name=name or f"test {role}", organisation=organisation)
        return bearer(token)

    def institution(self, name: str, institution_type: str = "police") -> int:
        """A referring institution of its own (institution tokens are bound to one)."""
        import uuid

        from referralnet.accounts.schemas import SYSTEM
        from referralnet.directory.schemas import OrganisationCreate
        from referralnet.directory.services import create_organisation

        data = OrganisationCreate(name=name, slug=f"inst-{uuid.uuid4().hex[:12]}", kind="institution", institution_type=institution_type)
        org = in_app(self.client, create_organisation, data, SYSTEM, self.client.app.state.clock)
        return org.id


@pytest.fixture
def tokens(client: AsyncTestClient[Any]) -> Tokens:
    return Tokens(client)


@pytest.fixture
def admin(tokens: Tokens) -> dict[str, str]:
    return tokens.make("admin")


@pytest.fixture
def institution(tokens: Tokens) -> dict[str, str]:
    return tokens.make("institution")


@pytest.fixture
def secretariat(tokens: Tokens) -> dict[str, str]:
    return tokens.make("secretariat")
