"""Scores and their explanations: why a candidate ranks where it does, and why nothing fits.

The score is a weighted sum (0-100) of the parts below, each a fraction in [0, 1] times its
weight, minus a small penalty per eligibility rule the provider left unstated. The weights sum
to 100. Every part that moves a candidate is also given to the referrer as a reason (``reasons``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from referralnet.matching.bundles import Offer
from referralnet.matching.geodesy import geodesic_km
from referralnet.matching.live import Capacity, CapacityColumns, ProviderRecord
from referralnet.matching.schemas import Excluded
from referralnet.vocabulary.codes import SERVICE_TYPES

if TYPE_CHECKING:
    from referralnet.matching.engine import Selection

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

LANGUAGE_NEUTRAL, LANGUAGE_SHARED, LANGUAGE_INTERPRETATION, LANGUAGE_NOT_STATED = range(4)
LANGUAGE_FIT = np.array([0.5, 1.0, 0.6, 0.3])

# Hard-filter codes, in the order they are checked.
CONSTRAINTS: tuple[str, ...] = (
    "inactive", "age", "gender", "nationality", "victim_status", "exploitation_form", "children",
    "language", "accessibility", "conditions", "avoided_county", "security", "distance", "full",
)  # fmt: skip
CONSTRAINT_TEXT = {
    "inactive": "being inactive",
    "age": "age eligibility",
    "gender": "gender eligibility",
    "nationality": "nationality eligibility",
    "victim_status": "victim status eligibility",
    "exploitation_form": "the forms of exploitation they serve",
    "children": "not accepting children",
    "language": "no shared language and no interpretation",
    "accessibility": "accessibility",
    "conditions": "excluded or required conditions",
    "avoided_county": "a site in an avoided county",
    "security": "having no confidential site",
    "distance": "distance",
    "full": "having no free places",
}
# Eligibility attributes whose absence is a caveat, in the bit order of Selection.not_stated.
NOT_STATED: tuple[tuple[str, str], ...] = (
    ("age", "age eligibility"),
    ("genders", "gender eligibility"),
    ("nationality_groups", "nationality eligibility"),
    ("victim_statuses", "victim status eligibility"),
    ("exploitation_forms", "forms of exploitation served"),
    ("accepts_children", "whether children are accepted"),
    ("languages", "languages spoken"),
    ("accessibility", "accessibility"),
)
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

    def capacity(self, i: int) -> Capacity:
        return self.columns.capacity(int(self.position[i]))


def live_figures(
    s: Selection, capacity: CapacityColumns | Mapping[int, Capacity], now: dt.datetime, stale_after: dt.timedelta
) -> Live:
    columns = capacity if isinstance(capacity, CapacityColumns) else CapacityColumns.of(capacity)
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


def record_fraction(r: ProviderRecord | None) -> float:
    """Acceptance (smoothed towards one half) and answer speed, both in [0, 1]."""
    if r is None or r.offers <= 0:
        return NEUTRAL_RECORD
    acceptance = (r.accepted + 1) / (r.offers + 2)
    minutes = r.median_response_minutes
    speed = 0.5 if minutes is None else max(0.0, 1 - minutes / RESPONSE_HORIZON_MINUTES)
    return 0.7 * acceptance + 0.3 * speed


def score(s: Selection, live: Live, records: Mapping[int, ProviderRecord]) -> np.ndarray:
    """Each survivor's score, rounded to 0.1; unknown capacity kept below known free places."""
    d, q = s.directory, s.query
    priority = np.array([W_REQUIRED if p == "required" else W_DESIRED for _, p in s.needs])
    reference = q.max_km or UNLIMITED_REFERENCE_KM
    proximity = np.where(np.isfinite(s.km), np.clip(1 - s.km / reference, 0, 1), NO_SITE_PROXIMITY)
    capacity = np.where(live.available > 0, 1.0, np.where(live.available == 0, 0.0, UNKNOWN_CAPACITY))
    capacity[live.unknown_bound] = 0.0
    if records:
        orgs, which = np.unique(d.organisation_id[s.rows], return_inverse=True)
        record = np.array([record_fraction(records.get(o)) for o in orgs.tolist()])[which]
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
    return _below_known(s, live, np.round(np.clip(total, 0, 100), 1))


def _below_known(s: Selection, live: Live, scores: np.ndarray) -> np.ndarray:
    """Cap unknown-capacity scores 0.1 under the lowest known-free score of the same need."""
    for k in np.unique(s.need[live.unknown_bound]):
        known = (s.need == k) & (live.available > 0)
        if known.any():
            unknown = (s.need == k) & live.unknown_bound
            ceiling = scores[known].min() - 0.1
            scores[unknown] = np.round(np.clip(np.minimum(scores[unknown], ceiling), 0, None), 1)
    return scores


def label(service_type: str) -> str:
    return SERVICE_TYPES[service_type][1] if service_type in SERVICE_TYPES else service_type


def offers(s: Selection, survivors: np.ndarray, scores: np.ndarray) -> list[Offer]:
    """The ``survivors`` of ``s`` as bundles see them, in the given order."""
    d, rows = s.directory, s.rows[survivors]
    return [
        Offer(*s.needs[k], org, d.organisation_name[row], sid, d.service_name[row], points)
        for k, org, row, sid, points in zip(
            s.need[survivors].tolist(), d.organisation_id[rows].tolist(), rows.tolist(),
            d.service_id[rows].tolist(), scores[survivors].tolist(),
        )
    ]  # fmt: skip


def _who(s: Selection) -> str:
    minor, gender = s.profile.is_minor, s.profile.gender
    if minor:
        return {"male": "boys", "female": "girls"}.get(gender, "minors")
    return {"male": "adult men", "female": "adult women"}.get(gender, "adults")


def nothing_fits(s: Selection, service_type: str, counts: dict[str, int]) -> str:
    """Why a required need has no candidate, from the constraint that removed the most."""
    name, total = label(service_type).lower(), s.considered.get(service_type, 0)
    if total == 0 or not counts:
        return f"no {name} in the directory"
    dominant = max(counts, key=lambda code: counts[code])
    if dominant != "distance":
        return f"no {name} for {_who(s)}: {counts[dominant]} of {total} excluded by {CONSTRAINT_TEXT[dominant]}"
    text = f"no {name} for {_who(s)} within {s.query.max_km:g} km"
    if service_type in s.beyond:
        row, site = s.beyond[service_type]
        c = s.directory.listing(row)
        km = geodesic_km(s.query.origin, s.directory.site_coordinates(site))
        text += f"; nearest: {c.organisation_name} ({c.service_name}) at {km:.0f} km"
    return text


def excluded(s: Selection, full: list[int], kept: list[int], bundled: bool) -> Excluded:
    by_need: dict[str, dict[str, int]] = {}
    for k, (service_type, _) in enumerate(s.needs):
        counts = {**s.excluded[service_type], "full": full[k]}
        by_need[service_type] = {code: counts[code] for code in CONSTRAINTS if counts.get(code)}
    by_constraint = {code: sum(c.get(code, 0) for c in by_need.values()) for code in CONSTRAINTS}
    required = [t for t, p in s.needs if p == "required"]
    unmet = [t for k, (t, p) in enumerate(s.needs) if p == "required" and kept[k] == 0]
    messages = [nothing_fits(s, t, by_need[t]) for t in unmet]
    if required and not unmet and not bundled:
        messages.append("no combination of up to 3 organisations covers all required needs")
    return Excluded(
        by_constraint={code: n for code, n in by_constraint.items() if n},
        by_need=by_need,
        messages=messages,
        unmet=unmet,
    )
