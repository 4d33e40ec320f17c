"""What differs between SQLite and PostgreSQL, one small module per concern.

- :mod:`.durations`: seconds since the epoch and between two timestamps, in SQL; whether the
  engine computes percentiles itself (PostgreSQL's ``percentile_cont``) or numpy must;
- :mod:`.locks`: row locks before a read-then-write (PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
  already serialises writers);
- :mod:`.lists`: a column matched against a list of ids without a bound-parameter limit.

Connections and transactions themselves are in :mod:`referralnet.db`; timestamps read back (text
on SQLite) go through :func:`referralnet.clock.utc`.
"""

from __future__ import annotations

from referralnet import db


def sqlite() -> bool:
    """Whether the current engine is SQLite."""
    return db.is_sqlite(db.current_engine())
