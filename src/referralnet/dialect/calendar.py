"""Calendar parts of a timestamp in SQL (UTC), for figures grouped by month or year."""

from __future__ import annotations

from referralnet.dialect import sqlite


def month_of(column: str) -> str:
    """``column`` (a timestamp) as its UTC month, text ``YYYY-MM``."""
    return f"strftime('%Y-%m', {column})" if sqlite() else f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM')"
