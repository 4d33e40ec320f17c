"""Shared change counters other instances poll cheaply (one row each in ``change_counter``).

``access`` moves when a token is revoked or an organisation (de)activated, so every process's token
cache (:mod:`referralnet.accounts.cache`) learns of it within a second. ``directory`` moves with every
change of an organisation or a service other than capacity (which has its own history rows), so the
caches built from the directory (organisation search, matching) know when to rebuild. A counter is bumped inside
the transaction of the change it announces; a missing row reads as 0.
"""

from __future__ import annotations

from referralnet import sql
from referralnet.tables import ChangeCounter

ACCESS = "access"
DIRECTORY = "directory"
# Bumped by every capacity write on SQLite (directory/places.py), which stamps the service with the new value.
CAPACITY = "capacity"

_BUMP_SQL = (
    "INSERT INTO change_counter (name, value) VALUES ({}, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = change_counter.value + 1"
)


async def bump(name: str) -> None:
    """Move counter ``name`` on (call inside the write transaction of the change it announces)."""
    await ChangeCounter.raw(_BUMP_SQL, name)


async def read(name: str) -> int:
    row = await sql.first("SELECT value FROM change_counter WHERE name = {}", name)
    return 0 if row is None else int(row["value"])
