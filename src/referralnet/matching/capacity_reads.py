"""Matching's reads of live capacity: by service id, and the services stamped since a capacity stamp (``directory.places``).

Columns, not rows (:class:`referralnet.matching.live.CapacityColumns`), through :mod:`referralnet.matching.reader`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from referralnet.dialect import durations, sqlite
from referralnet.dialect.lists import in_ids
from referralnet.matching import reader
from referralnet.matching.live import CapacityColumns

# Not reported: -1 (and epoch -1), so that every column comes back as plain numbers.
_CAPACITY_SQL = (
    "SELECT id, COALESCE(capacity_available, -1) AS available, COALESCE(capacity_total, -1) AS total, "
    "COALESCE({epoch}, -1.0) AS epoch, capacity_updated_at FROM service WHERE {ids} ORDER BY id"
)


async def live_capacity(service_ids: list[int]) -> CapacityColumns:
    """The current capacity of ``service_ids``, in one primary-key look-up whatever their number."""
    ids, args = in_ids("id", service_ids)
    return await _capacity_columns(_CAPACITY_SQL.format(epoch=durations.epoch("capacity_updated_at"), ids=ids), args)


_COLUMNS = (
    "s.id, COALESCE(s.capacity_available, -1) AS available, COALESCE(s.capacity_total, -1) AS total, "
    "COALESCE({epoch}, -1.0) AS epoch, s.capacity_updated_at"
)
# SQLite: the counter and the services stamped after a value, in one statement (one snapshot): every stamp up
# to the counter's value is in it (a stamp commits with its counter value, in counter order) and none
# above, so the cache is then current up to that value whichever match asked.
_SINCE_SQL = (
    f"SELECT c.value AS counter, {_COLUMNS} FROM change_counter c "
    "LEFT JOIN service s ON s.capacity_version > {{}} WHERE c.name = 'capacity' ORDER BY s.id"
)
# PostgreSQL, where a stamp is its writer's transaction id (``places.PG_STAMP``): ids are handed out in one order and
# committed in another, so the reach is the statement's snapshot's xmin - 1 (every transaction below its xmin had
# ended: its stamps are all in this read), or the highest stamp if lower. A transaction still running then
# has a higher id and stamps above the reach: the next read, from the reach, takes its rows whenever it commits.
# Stamps at or above the snapshot's xmax are no transaction of this server's (a dump restored into a new server
# keeps the old server's ids, far above the new one's): only a fresh read takes those rows, as they change only by
# a write, which stamps them anew. Counted as the highest stamp, they would make every match read them again.
NEXT_XID_PG = "pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
TOP_STAMP_PG = f"(SELECT max(capacity_version) FROM service WHERE capacity_version < {NEXT_XID_PG})"
_SINCE_SQL_PG = (
    "SELECT LEAST(COALESCE(w.top, 0), w.mark - 1) AS counter, " + _COLUMNS + " FROM (SELECT "
    f"pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS mark, {NEXT_XID_PG} AS bound, {TOP_STAMP_PG} AS top) w "
    "LEFT JOIN service s ON s.capacity_version > {{}}{bound} ORDER BY s.id"
)


async def capacity_since(version: int) -> tuple[CapacityColumns, int]:
    """The current capacity of every service stamped after capacity ``version`` (an index range), and
    the stamp they are current to (every stamp up to it is in this read); ``version`` -1: every service."""
    epoch = durations.epoch("s.capacity_updated_at")
    if sqlite():
        sql = _SINCE_SQL.format(epoch=epoch)
    else:
        sql = _SINCE_SQL_PG.format(epoch=epoch, bound=" AND s.capacity_version < w.bound" if version >= 0 else "")
    rows = await reader.fetch_columns(sql, version, width=6, small=version >= 0)
    counters, *columns = rows
    counter = int(counters[0]) if counters else version
    kept = [i for i, service_id in enumerate(columns[0]) if service_id is not None]
    return _columns([tuple(column[i] for i in kept) for column in columns]), counter


async def _capacity_columns(sql: str, args: list[Any]) -> CapacityColumns:
    return _columns(await reader.fetch_columns(sql, *args, width=5))


def _columns(rows: list[tuple[Any, ...]]) -> CapacityColumns:
    ids_, available, total, epoch, updated_at = rows
    epoch_array = np.array(epoch, dtype=np.float64)
    epoch_array[epoch_array < 0] = np.nan
    return CapacityColumns(
        service_id=np.array(ids_, dtype=np.int64),
        available=np.array(available, dtype=np.int64),
        total=np.array(total, dtype=np.int64),
        updated_epoch=epoch_array,
        updated_at=np.array(updated_at, dtype=object),
    )
