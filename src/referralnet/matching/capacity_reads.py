"""Matching's reads of live capacity: by service id, and the services stamped since a ``capacity`` counter value.

Columns, not rows (:class:`referralnet.matching.live.CapacityColumns`), through :mod:`referralnet.matching.reader`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from referralnet.dialect import durations
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


# The counter and the services stamped after a value, in one statement (one snapshot): every stamp up
# to the counter's value is in it (a stamp commits with its counter value, in counter order) and none
# above, so the cache is then current up to that value whichever match asked.
_SINCE_SQL = (
    "SELECT c.value AS counter, s.id, COALESCE(s.capacity_available, -1) AS available, COALESCE(s.capacity_total, -1) AS total, "
    "COALESCE({epoch}, -1.0) AS epoch, s.capacity_updated_at FROM change_counter c "
    "LEFT JOIN service s ON s.capacity_version > {{}} WHERE c.name = 'capacity' ORDER BY s.id"
)


async def capacity_since(version: int) -> tuple[CapacityColumns, int]:
    """The current capacity of every service stamped after capacity ``version`` (an index range), and
    the counter's value they are current to; ``version`` -1: every service."""
    sql = _SINCE_SQL.format(epoch=durations.epoch("s.capacity_updated_at"))
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
