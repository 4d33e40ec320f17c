"""Time arithmetic in SQL: seconds since the epoch, and between two timestamps, as float8."""

from __future__ import annotations

from referralnet.dialect import sqlite


def epoch(column: str) -> str:
    """``column`` (a timestamp) as seconds since 1970-01-01 UTC."""
    return f"(julianday({column}) - 2440587.5) * 86400.0" if sqlite() else f"extract(epoch FROM {column})::float8"


def seconds_between(later: str, earlier: str) -> str:
    """``later - earlier`` in seconds (SQLite's julianday keeps about a millisecond: round to 3 places)."""
    if sqlite():
        return f"(julianday({later}) - julianday({earlier})) * 86400.0"
    return f"extract(epoch FROM {later} - {earlier})::float8"


def percentiles_in_sql() -> bool:
    """PostgreSQL computes ``percentile_cont``; on SQLite the durations are read and numpy computes them."""
    return not sqlite()
