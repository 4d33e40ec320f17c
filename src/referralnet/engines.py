"""Engines for ``sqlite:///`` and ``postgresql://`` URLs, and the binding of every table to one (``current_engine``).
Re-exported by :mod:`referralnet.db`, where callers take them from."""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.table import Table

from referralnet.sqlite_pool import PooledSQLiteEngine
from referralnet.sqlite_writes import BUSY_TIMEOUT_MS


class _DurableConnection(sqlite3.Connection):
    """Every SQLite connection: WAL-safe durability and waiting on locks instead of failing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA synchronous = FULL")
        self.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


def make_engine(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://...`` (asyncpg's DSN: a server on the same machine
    through its Unix socket as ``postgresql://user@/db?host=/var/run/postgresql``)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///") or "referralnet.sqlite"
        return PooledSQLiteEngine(path=path, factory=_DurableConnection, timeout=30)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresEngine(config={"dsn": url})
    raise ValueError("REFERRALNET_DATABASE_URL must start with sqlite:/// or postgresql://")


def with_database(url: str, name: str) -> str:
    """The PostgreSQL ``url`` with database ``name`` instead of its own (user, host, socket and options kept).
    Not ``urlunsplit`` alone: it writes a URL without a host (``postgresql:///db?host=/socket/dir``) as
    ``postgresql:/name``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" + urlunsplit(parts._replace(scheme="", netloc="", path=f"/{name}"))


def is_sqlite(engine: Engine) -> bool:
    return engine.engine_type == "sqlite"


def bind(engine: Engine) -> None:
    """Point every table (and Piccolo's migration machinery) at ``engine``."""
    from piccolo.apps.migrations.tables import Migration

    from referralnet import piccolo_conf
    from referralnet.tables import TABLES

    piccolo_conf.DB = engine
    tables: list[type[Table]] = [*TABLES, Migration]
    for table in tables:
        table._meta.db = engine


# The table whose engine is the current one, imported on the first call (an import on every call cost 2-3 µs).
_bound: type[Table] | None = None


def current_engine() -> Engine:
    global _bound
    if _bound is None:
        from referralnet.tables import Organisation

        _bound = Organisation
    return _bound._meta.db
