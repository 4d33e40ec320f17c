"""Live figures a match combines with the directory snapshot: capacity and providers' answer records.

They change far more often than the directory, so they are read (and cached) apart from it. Pure:
no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import NamedTuple

import msgspec
import numpy as np

from referralnet.clock import utc


class Capacity(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A service's live capacity; ``None`` figures are not reported."""

    available: int | None = None
    total: int | None = None
    updated_at: dt.datetime | None = None


class CapacityColumns(NamedTuple):
    """Live capacity of many services as columns, as a match reads it: no object per service.

    ``service_id`` is sorted. Not reported: ``available`` / ``total`` -1, ``updated_epoch`` NaN.
    ``updated_at`` holds each row's timestamp as read (a datetime, or its ISO text on SQLite);
    it is parsed only for the candidates shown.
    """

    service_id: np.ndarray
    available: np.ndarray
    total: np.ndarray
    updated_epoch: np.ndarray  # seconds since 1970-01-01 UTC
    updated_at: np.ndarray  # dtype object

    @classmethod
    def empty(cls) -> CapacityColumns:
        return cls.of({})

    @classmethod
    def of(cls, capacity: Mapping[int, Capacity]) -> CapacityColumns:
        ids = sorted(capacity)
        caps = [capacity[i] for i in ids]
        return cls(
            service_id=np.array(ids, dtype=np.int64),
            available=np.array([-1 if c.available is None else c.available for c in caps], dtype=np.int64),
            total=np.array([-1 if c.total is None else c.total for c in caps], dtype=np.int64),
            updated_epoch=np.array([np.nan if c.updated_at is None else utc(c.updated_at).timestamp() for c in caps], dtype=np.float64),
            updated_at=np.array([c.updated_at for c in caps], dtype=object),
        )

    def merge(self, other: CapacityColumns) -> CapacityColumns:
        """These rows and ``other``'s, sorted by service; ``other`` wins where both have a service."""
        if self.service_id.size == 0:
            return other
        at = self.positions(other.service_id)
        if bool((at >= 0).all()):  # the usual patch: services already cached, no sort of the whole cache
            columns = [a.copy() for a in self[1:]]
            for column, value in zip(columns, other[1:]):
                column[at] = value
            return CapacityColumns(self.service_id, *columns)
        ids = np.concatenate([other.service_id, self.service_id])
        unique, first = np.unique(ids, return_index=True)  # first occurrence: other's
        return CapacityColumns(unique, *(np.concatenate([a, b])[first] for a, b in zip(other[1:], self[1:])))

    def positions(self, service_ids: np.ndarray) -> np.ndarray:
        """Row of each of ``service_ids`` here, -1 where it was not read."""
        if self.service_id.size == 0:
            return np.full(len(service_ids), -1, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.service_id, service_ids), self.service_id.size - 1)
        return np.where(self.service_id[pos] == service_ids, pos, -1)

    def capacity(self, position: int) -> Capacity:
        if position < 0 or self.available[position] < 0:
            return Capacity(
                total=None if position < 0 or self.total[position] < 0 else int(self.total[position]),
                updated_at=None if position < 0 else utc(self.updated_at[position]),
            )
        total = int(self.total[position])
        return Capacity(
            available=int(self.available[position]),
            total=None if total < 0 else total,
            updated_at=utc(self.updated_at[position]),
        )


class ProviderRecord(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """How an organisation has answered referral offers so far.

    ``offers`` counts the offers it decided: accepted, declined, or left to expire. Pending offers
    and offers withdrawn because another provider was quicker were not its decision.
    """

    offers: int
    accepted: int
    expired: int = 0
    # Median of answer minus sending time over accepted and declined offers (expiry is no answer).
    median_response_minutes: float | None = None

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.offers if self.offers > 0 else 0.0


class RecordBook(dict[int, ProviderRecord]):
    """The answer records by organisation, as a snapshot holds them; never changed once made.

    ``scoring`` keeps each organisation's record fraction on it (``fractions``), worked out once
    per snapshot instead of once per match for every organisation a match considers.
    """

    fractions: tuple[np.ndarray, np.ndarray] | None = None  # (organisation ids sorted, fractions)
    row_fractions: tuple[np.ndarray, np.ndarray] | None = None  # (a directory's organisation_id, fraction per row)

