"""Row locks taken before a read-then-write, in the caller's transaction."""

from __future__ import annotations

from typing import Any, TypeVar

from piccolo.columns.combination import Where
from piccolo.query.methods.select import Select
from piccolo.table import Table

from referralnet.dialect import sqlite

Q = TypeVar("Q", bound=Select)


def lock_rows(query: Q, **options: Any) -> Q:
    """``query`` with ``FOR UPDATE`` (or ``options``, e.g. ``lock_strength``) on PostgreSQL.

    On SQLite the write transaction (``BEGIN IMMEDIATE``) already keeps every other writer out.
    """
    return query if sqlite() else query.lock_rows(**options)  # type: ignore[return-value]


async def lock_row(table: type[Table], where: Where, **options: Any) -> None:
    """Lock the rows of ``table`` matching ``where`` (PostgreSQL), e.g. to queue writers on one row."""
    if not sqlite():
        await table.select(table._meta.primary_key).where(where).lock_rows(**options)
