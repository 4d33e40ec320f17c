"""A column matched against a list of integer ids, whatever its length."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from referralnet.dialect import sqlite


def in_ids(column: str, ids: Sequence[int]) -> tuple[str, list[Any]]:
    """SQL and arguments for ``column IN ids`` (Piccolo's ``{}`` placeholders).

    SQLite: the integers written into the statement (they come from our own snapshot), which has
    no bound-parameter limit; PostgreSQL: one array parameter, so one prepared statement serves
    every length.
    """
    if sqlite():
        return f"{column} IN ({', '.join(str(int(i)) for i in ids)})", []
    return f"{column} = ANY({{}}::int[])", [list(ids)]
