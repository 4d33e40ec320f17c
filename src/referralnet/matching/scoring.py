"""Scores: where a candidate ranks, as a weighted sum (0-100) of the parts below.

Each part is a fraction in [0, 1] times its weight, minus a small penalty per eligibility rule the
provider left unstated. The weights sum to 100. Every part that moves a candidate is also given to
the referrer as a reason (``reasons``). Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from referralnet.matching.directory import Directory
from referralnet.matching.explain import NOT_STATED
from referralnet.matching.live import Capacity, CapacityColumns, ProviderRecord, RecordBook
from referralnet.matching.selection import Selection

# Weights (points out of 100).
W_REQUIRED = 30.0  # the service covers a required need ...
W_DESIRED = 10.0  # ... or only a desired one
W_PROXIMITY = 25.0  # 1 at the origin, 0 at max_distance_km (or UNLIMITED_REFERENCE_KM)
W_CAPACITY = 15.0  # free places known and > 0
W_FRESH = 5.0  # the capacity figure is younger than stale_after
W_LANGUAGE = 10.0  # a shared language (interpretation counts for less)
W_RECORD = 10.0  # the organisation's answer record: acceptance rate and answer time
W_CONFIDENTIAL = 5.0  # a confidential site, when the person's security risk is medium or high
NOT_STATED_PENALTY = 2.0  # per unstated eligibility rule that matters for the profile ...
NOT_STATED_MAX_PENALTY = 10.0  # ... at most this much in all

UNLIMITED_REFERENCE_KM = 300.0
NO_SITE_PROXIMITY = 0.5  # services reaching by area alone, without a located site
UNKNOWN_CAPACITY = 0.5  # for services that do not consume a place; 0 for capacity-bound ones
NEUTRAL_RECORD = 0.5  # organisations without answers yet are neither favoured nor buried
RESPONSE_HORIZON_MINUTES = 24 * 60.0  # an answer this late earns no speed credit

# Indexed by the filters' LANGUAGE_* fit codes: neutral, shared, interpretation, not stated.
LANGUAGE_FIT = np.array([0.5, 1.0, 0.6, 0.3])
_POPCOUNT = np.array([bin(i).count("1") for i in range(1 << len(NOT_STATED))])


@dataclass(frozen=True, slots=True)
class Live:
    """Per survivor of a Selection: its live capacity and how old the figure is."""

    columns: CapacityColumns
    position: np.ndarray  # row in ``columns``, -1 when not read
    available: np.ndarray  # -1 when not reported
    full: np.ndarray  # capacity-bound and no free place: excluded
    unknown_bound: np.ndarray  # capacity-bound and not reported
    fresh: np.ndarray
    age_days: np.ndarray  # NaN when not reported


def live_figures(
    s: Selection, capacity: CapacityColumns | Mapping[int, Capacity], now: dt.datetime, stale_after: dt.timedelta
) -> Live:
    if isinstance(capacity, CapacityColumns):
        columns, position = capacity, _row_positions(s.directory, capacity)[s.rows]
    else:
        columns = CapacityColumns.of(capacity)
        position = columns.positions(s.directory.service_id[s.rows])
    read = position >= 0
    available = np.where(read, columns.available[position], -1)
    epoch = np.where(read & (available >= 0), columns.updated_epoch[position], np.nan)
    now = now if now.tzinfo is not None else now.replace(tzinfo=dt.timezone.utc)
    age = now.timestamp() - epoch
    bound = s.directory.capacity_bound[s.rows]
    return Live(
        columns=columns,
        position=position,
        available=available,
        full=bound & (available == 0),
        unknown_bound=bound & (available < 0),
        fresh=age <= stale_after.total_seconds(),
        age_days=age / 86400,
    )


def _row_positions(d: Directory, columns: CapacityColumns) -> np.ndarray:
    """Each directory row's position in ``columns`` (-1: not read), once per columns' service ids.

    A capacity patch keeps the cached columns' ``service_id`` array, so every match of a snapshot
    shares one look-up of all rows instead of a search per match.
    """
    memo = d.capacity_positions
    if memo is None or memo[0] is not columns.service_id:
        memo = d.capacity_positions = (columns.service_id, columns.positions(d.service_id))
    return memo[1]


def _row_fractions(d: Directory, records: RecordBook) -> np.ndarray:
    """Each directory row's organisation record fraction (:data:`NEUTRAL_RECORD` without a record).

    Kept on the RecordBook for the last directory it met (its ``organisation_id`` column), so a match
    reads its survivors' fractions by row.
    """
    if records.row_fractions is not None and records.row_fractions[0] is d.organisation_id:
        return records.row_fractions[1]
    by_row = _by_organisation(records, d.organisation_id)
    records.row_fractions = (d.organisation_id, by_row)
    return by_row


def _by_organisation(records: Mapping[int, ProviderRecord], orgs: np.ndarray) -> np.ndarray:
    """The record fraction of each organisation in ``orgs`` (:data:`NEUTRAL_RECORD` without a record)."""
    ids, fractions = _fractions(records)
    at = np.minimum(np.searchsorted(ids, orgs), ids.size - 1)
    return np.where(ids[at] == orgs, fractions[at], NEUTRAL_RECORD)  # type: ignore[no-any-return]


def record_fraction(r: ProviderRecord | None) -> float:
    """Acceptance (smoothed towards one half) and answer speed, both in [0, 1]."""
    if r is None or r.offers <= 0:
        return NEUTRAL_RECORD
    acceptance = (r.accepted + 1) / (r.offers + 2)
    minutes = r.median_response_minutes
    speed = 0.5 if minutes is None else max(0.0, 1 - minutes / RESPONSE_HORIZON_MINUTES)
    return 0.7 * acceptance + 0.3 * speed


def _fractions(records: Mapping[int, ProviderRecord]) -> tuple[np.ndarray, np.ndarray]:
    """The organisations with a record (sorted) and their :func:`record_fraction`; kept on a RecordBook."""
    if isinstance(records, RecordBook) and records.fractions is not None:
        return records.fractions
    ids = sorted(records)
    table = np.array(ids, dtype=np.int64), np.array([record_fraction(records[i]) for i in ids], dtype=np.float64)
    if isinstance(records, RecordBook):
        records.fractions = table
    return table


def score(s: Selection, live: Live, records: Mapping[int, ProviderRecord]) -> np.ndarray:
    """Each survivor's score, rounded to 0.1; unknown capacity kept below known free places."""
    d, q = s.directory, s.query
    priority = np.array([W_REQUIRED if p == "required" else W_DESIRED for _, p in s.needs])
    reference = q.max_km or UNLIMITED_REFERENCE_KM
    proximity = np.where(np.isfinite(s.km), (1 - s.km / reference).clip(0, 1), NO_SITE_PROXIMITY)
    capacity = np.where(live.available > 0, 1.0, np.where(live.available == 0, 0.0, UNKNOWN_CAPACITY))
    capacity[live.unknown_bound] = 0.0
    record: np.ndarray | float
    if isinstance(records, RecordBook) and records:
        record = _row_fractions(d, records)[s.rows]
    elif records:
        record = _by_organisation(records, d.organisation_id[s.rows])
    else:
        record = NEUTRAL_RECORD
    confidential = d.has_confidential[s.rows] if s.profile.security_risk != "low" else 0
    total = (
        priority[s.need]
        + W_PROXIMITY * proximity
        + W_CAPACITY * capacity
        + W_FRESH * live.fresh
        + W_LANGUAGE * LANGUAGE_FIT[s.language]
        + W_RECORD * record
        + W_CONFIDENTIAL * confidential
        - np.minimum(NOT_STATED_PENALTY * _POPCOUNT[s.not_stated], NOT_STATED_MAX_PENALTY)
    )
    return _below_known(s, live, total.clip(0, 100).round(1))


def _below_known(s: Selection, live: Live, scores: np.ndarray) -> np.ndarray:
    """Cap unknown-capacity scores 0.1 under the lowest known-free score of the same need."""
    # The needs with an unknown bound, ascending: a count per need, not np.unique's sort of every such row.
    for k in np.bincount(s.need[live.unknown_bound], minlength=len(s.needs)).nonzero()[0].tolist():
        known = (s.need == k) & (live.available > 0)
        if known.any():
            unknown = (s.need == k) & live.unknown_bound
            ceiling = scores[known].min() - 0.1
            scores[unknown] = np.minimum(scores[unknown], ceiling).clip(0, None).round(1)
    return scores
