"""Providers' answer records, as matching reads them: per organisation, the offers it decided and how fast it answered.

Read by :class:`referralnet.matching.cache.DirectoryCache` when offers have moved (at most once a minute).
"""

from __future__ import annotations

import numpy as np

from referralnet.dialect import durations
from referralnet.matching.live import ProviderRecord, RecordBook
from referralnet.tables import Offer

_COUNTS_SQL = (
    "SELECT organisation, sum(CASE WHEN status = 'accepted' THEN 1 ELSE 0 END) AS accepted, "
    "sum(CASE WHEN status = 'expired' THEN 1 ELSE 0 END) AS expired, count(*) AS decided "
    "FROM offer WHERE status IN ('accepted', 'declined', 'expired') GROUP BY organisation"
)
_ANSWERED = "status IN ('accepted', 'declined') AND responded_at IS NOT NULL"


async def _median_seconds() -> dict[int, float]:
    """Per organisation, the median answer time of its accepted and declined offers."""
    seconds_sql = durations.seconds_between("responded_at", "sent_at")
    if durations.percentiles_in_sql():
        sql = (
            f"SELECT organisation, percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds_sql}) AS seconds "
            f"FROM offer WHERE {_ANSWERED} GROUP BY organisation"
        )
        return {r["organisation"]: float(r["seconds"]) for r in await Offer.raw(sql)}
    rows = await Offer.raw(f"SELECT organisation, {seconds_sql} AS seconds FROM offer WHERE {_ANSWERED}")
    if not rows:
        return {}
    org = np.array([r["organisation"] for r in rows], dtype=np.int64)
    seconds = np.round(np.array([r["seconds"] for r in rows], dtype=np.float64), 3)  # julianday keeps ~ms
    order = np.lexsort((seconds, org))
    org, seconds = org[order], seconds[order]
    starts = np.flatnonzero(np.r_[True, org[1:] != org[:-1]])
    ends = np.r_[starts[1:], org.size]
    return {int(org[a]): float(np.median(seconds[a:b])) for a, b in zip(starts, ends)}


async def provider_records() -> RecordBook:
    """Each organisation's answer record over every offer it decided; empty until referrals exist."""
    medians = await _median_seconds()
    records = {
        r["organisation"]: ProviderRecord(
            offers=int(r["decided"]),
            accepted=int(r["accepted"]),
            expired=int(r["expired"]),
            median_response_minutes=medians[r["organisation"]] / 60 if r["organisation"] in medians else None,
        )
        for r in await Offer.raw(_COUNTS_SQL)
    }
    return RecordBook(records)
