"""Live capacity as columns: what a match reads, merges into its cache and looks up per survivor."""

from __future__ import annotations

import datetime as dt

import numpy as np

from referralnet.matching.live import Capacity, CapacityColumns

AT = dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.timezone.utc)


def test_lookup_by_service_and_back_to_capacity() -> None:
    columns = CapacityColumns.of({7: Capacity(available=2, total=5, updated_at=AT), 3: Capacity(), 9: Capacity(total=4)})
    assert columns.service_id.tolist() == [3, 7, 9]
    assert columns.positions(np.array([9, 8, 7, 3, 100])).tolist() == [2, -1, 1, 0, -1]
    assert columns.capacity(1) == Capacity(available=2, total=5, updated_at=AT)
    assert columns.capacity(0) == Capacity() and columns.capacity(-1) == Capacity()
    assert columns.capacity(2) == Capacity(total=4)
    assert columns.updated_epoch[1] == AT.timestamp() and np.isnan(columns.updated_epoch[0])


def test_sqlite_text_timestamps_are_parsed_for_the_candidates_shown() -> None:
    columns = CapacityColumns(
        np.array([1]), np.array([3]), np.array([-1]), np.array([AT.timestamp()]), np.array([str(AT)], dtype=object)
    )
    assert columns.capacity(0) == Capacity(available=3, total=None, updated_at=AT)


def test_merge_keeps_services_sorted_and_the_newer_rows() -> None:
    cached = CapacityColumns.of({1: Capacity(available=1), 5: Capacity(available=5)})
    read = CapacityColumns.of({3: Capacity(available=3), 5: Capacity(available=0, updated_at=AT)})
    merged = cached.merge(read)
    assert merged.service_id.tolist() == [1, 3, 5] and merged.available.tolist() == [1, 3, 0]
    assert merged.capacity(2).updated_at == AT
    assert CapacityColumns.empty().merge(read) is read
    assert CapacityColumns.empty().positions(np.array([1, 2])).tolist() == [-1, -1]
