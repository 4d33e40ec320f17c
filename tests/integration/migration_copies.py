"""What a data migration is tested on: a copy of a database at the schema before it, holding given rows.

``copy_before(engine, tmp_path, first, rows, sequences)`` migrates a new database up to the migration
before ``first``, inserts ``rows`` (SQL with ``?`` placeholders and their values), copies it, and yields
the copy's URL; the test then runs the migrations on the copy, as an operator would on a production copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from referralnet import db
from tests.conftest import PG_URL
from tests.integration.test_migrations import _pg_admin, migration_ids

Rows = list[tuple[str, tuple[Any, ...]]]


def before(first: str) -> str:
    """The id of the migration just before ``first``."""
    ids = sorted(migration_ids())
    return ids[ids.index(first) - 1]


async def migrate_to(url: str, migration_id: str) -> None:
    """Run the migrations of ``url`` up to and including ``migration_id``."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    engine = db.make_engine(url)
    db.bind(engine)
    result = await run_forwards(app_name="referralnet", migration_id=migration_id)
    assert result.success, result.message


def _load_sqlite(path: str, rows: Rows) -> None:
    con = sqlite3.connect(path)
    try:
        for sql, args in rows:
            con.execute(sql, tuple(a.isoformat() if isinstance(a, dt.datetime) else a for a in args))
        con.commit()
    finally:
        con.close()


async def _load_pg(url: str, rows: Rows, sequences: dict[str, int]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for sql, args in rows:
            counter = iter(range(1, 1000))
            await conn.execute(re.sub(r"\?", lambda _, c=counter: f"${next(c)}", sql), *args)
        for name, value in sequences.items():  # explicit ids were inserted: new rows start after them
            await conn.execute(f"SELECT setval('{name}', {value})")
    finally:
        await conn.close()


@contextlib.contextmanager
def copy_before(engine: str, tmp_path: Path, first: str, rows: Rows, sequences: dict[str, int]) -> Iterator[str]:
    """The URL of a copy of a database at the schema before migration ``first``, holding ``rows``."""
    previous = before(first)
    if engine == "sqlite":
        original = tmp_path / "production.sqlite"
        asyncio.run(migrate_to(f"sqlite:///{original}", previous))
        _load_sqlite(str(original), rows)
        copy = tmp_path / "copy.sqlite"
        shutil.copy(original, copy)
        yield f"sqlite:///{copy}"
        return
    assert PG_URL
    names = [f"rn_prod_{uuid.uuid4().hex[:8]}", f"rn_copy_{uuid.uuid4().hex[:8]}"]
    urls = [db.with_database(PG_URL, n) for n in names]
    asyncio.run(_pg_admin(f'CREATE DATABASE "{names[0]}"'))
    try:
        asyncio.run(migrate_to(urls[0], previous))
        asyncio.run(_load_pg(urls[0], rows, sequences))
        asyncio.run(_pg_admin(f'CREATE DATABASE "{names[1]}" TEMPLATE "{names[0]}"'))
        yield urls[1]
    finally:
        for name in names:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
