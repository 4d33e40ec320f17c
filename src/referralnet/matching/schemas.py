"""Response Structs of matching: ranked candidates with reasons, provider bundles, exclusions.

A candidate carries a distance and the county of its nearest eligible site, never a site's
coordinates or address: confidential sites must stay unlocatable for everyone matching.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from referralnet.base import Output


class Reason(Output):
    """Why a candidate fits (``fit``) or what to check before referring (``caveat``)."""

    code: str
    kind: Literal["fit", "caveat"]
    text: str
    attribute: str | None = None  # the eligibility attribute a ``not_stated`` caveat is about
    value: float | None = None  # the figure behind the reason (km, places, days, rate)


class MatchCandidate(Output):
    service_id: int
    organisation_id: int
    organisation_name: str
    service_type: str
    service_name: str
    priority: Literal["required", "desired"]
    score: float
    # Geodesic km to the nearest eligible site; None when the service has no located site.
    distance_km: float | None
    site_county: str | None
    available: int | None
    total: int | None
    capacity_unit: str | None
    capacity_updated_at: dt.datetime | None
    capacity_stale: bool
    reasons: list[Reason]


class BundleService(Output):
    service_id: int
    service_type: str
    service_name: str
    priority: Literal["required", "desired"]


class BundleOrganisation(Output):
    organisation_id: int
    organisation_name: str
    services: list[BundleService]


class Bundle(Output, kw_only=True):  # kw_only again, for mypy: it cannot see the base's metaclass
    """The fewest organisations that together cover every required need."""

    organisations: list[BundleOrganisation]
    covers: list[str]  # the required needs, all of them
    also_covers: list[str] = msgspec.field(default_factory=list)  # desired needs covered too
    size: int
    score: float


class Excluded(Output):
    """What the hard filters removed, counted once each by the first constraint a service failed."""

    by_constraint: dict[str, int]
    by_need: dict[str, dict[str, int]]
    messages: list[str]
    unmet: list[str] = msgspec.field(default_factory=list)  # required needs without any candidate


class MatchResult(Output):
    candidates: list[MatchCandidate]
    bundles: list[Bundle]
    excluded: Excluded
    total_considered: int  # services of the needed types in the directory
