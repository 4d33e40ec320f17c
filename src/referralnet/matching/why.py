"""Why one service is not eligible for a profile: the first hard filter it fails, in words.

Used where a person chose a service by id and it cannot be asked ("service 49 is not eligible
for this profile right now: having no free places"). Pure: the same checks, in the same order, as
:func:`referralnet.matching.filters.filter_type`, applied to the service's one row.
"""

from __future__ import annotations

import numpy as np

from referralnet.matching.directory import Directory
from referralnet.matching.explain import CONSTRAINT_TEXT
from referralnet.matching.filters import STATIC_CHECKS, Query, _nearest
from referralnet.matching.profile import Profile
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES

__all__ = ["why_not_eligible"]


def why_not_eligible(d: Directory, service_id: int, profile: Profile, origin: tuple[float, float], available: int | None) -> str | None:
    """The reason ``service_id`` is excluded for ``profile``, or None when no hard filter excludes it.

    ``available``: the service's live free places (None: not reported).
    """
    rows = np.flatnonzero(d.service_id == service_id)
    if rows.size == 0:
        return None
    row = int(rows[0])
    service_type = d.service_type[row]
    if service_type not in {need.service_type for need in profile.needs}:
        return f"it is a {service_type.replace('_', ' ')} service, which this profile does not need"
    q, s, bound = Query.of(profile, origin), slice(row, row + 1), service_type in CAPACITY_BOUND_TYPES
    for code, value_of, verdict in STATIC_CHECKS:
        value = value_of(q, bound)
        if value is not None and not bool(np.asarray(verdict(d, s, value))[0]):
            return CONSTRAINT_TEXT[code]
    if q.high_security and not bool(d.has_confidential[row]):
        return CONSTRAINT_TEXT["security"]
    km, _ = _nearest(d, row, row + 1, q, np.ones(1, dtype=bool))
    in_area = bool((d.area[row] & q.county) != 0) or bool(d.national[row])
    if q.max_km is not None and not in_area and not km[0] <= q.max_km:
        return f"{CONSTRAINT_TEXT['distance']} (more than {q.max_km:g} km away)"
    if bound and available is not None and available <= 0:
        return CONSTRAINT_TEXT["full"]
    return None
