"""The anonymised need profile: what a person needs, never who they are.

It has no field for a name, birth date, address or document number, and every string in it
passes the privacy guard before it is used.
"""

from __future__ import annotations

import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from referralnet.base import Input
from referralnet.directory.schemas import StayDays
from referralnet.errors import InvalidInput
from referralnet.matching.comparisons import PRESUMED_MINOR_BAND, band_ages
from referralnet.matching.privacy import screen
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import (
    AccessibilityCode,
    AgeBand,
    ConditionFlag,
    CountyCode,
    ExploitationForm,
    Gender,
    LanguageCode,
    NationalityGroup,
    Priority,
    SecurityRisk,
    ServiceType,
    Urgency,
    VictimStatus,
)

# Free text: never remembered by the identifier screen (see _not_free_text, which names the one Note field).
Note = Annotated[str, Meta(max_length=500, description="Short free text; screened for identifiers")]
Distance = Annotated[float, Meta(gt=0, le=2000, description="How far the person can move, in km")]

__all__ = ["PRESUMED_MINOR_BAND", "Child", "Location", "Need", "Profile", "check_profile"]


class Need(Input):
    service_type: ServiceType
    priority: Priority = "required"


class Location(Input):
    county: CountyCode
    locality: Annotated[str, Meta(min_length=1, max_length=100)] | None = None


class Child(Input):
    """An accompanying child, by age band only."""

    age_band: AgeBand


class Profile(Input):
    age_band: AgeBand
    gender: Gender
    nationality_group: NationalityGroup
    needs: Annotated[list[Need], Meta(min_length=1, max_length=30)]
    location: Location
    victim_status: VictimStatus | None = None
    exploitation_forms: list[ExploitationForm] = msgspec.field(default_factory=list)
    security_risk: SecurityRisk = "low"
    # None: the person can go anywhere in the country.
    max_distance_km: Distance | None = None
    avoid_counties: list[CountyCode] = msgspec.field(default_factory=list)
    children: Annotated[list[Child], Meta(max_length=15)] = msgspec.field(default_factory=list)
    languages: list[LanguageCode] = msgspec.field(default_factory=list)
    accessibility: list[AccessibilityCode] = msgspec.field(default_factory=list)
    conditions: list[ConditionFlag] = msgspec.field(default_factory=list)
    # None: not asked; else services whose maximum stay is shorter are left out.
    expected_stay_days: StayDays | None = None
    urgency: Urgency = "planned"
    note: Note = ""

    def age_range(self) -> tuple[int, int]:
        """The person's possible ages; an unknown age is treated as a minor's."""
        return band_ages(self.age_band)

    @property
    def is_minor(self) -> bool:
        return self.age_range()[1] < 18


def _not_free_text(field: str) -> bool:
    """Every profile field but its note holds a code, a number or a place, which recur from profile to profile."""
    return not field.endswith(".note")


def check_profile(profile: Profile, path: str = "profile", *, today: datetime.date | None = None) -> tuple[float, float]:
    """Screen every string for identifiers and resolve the location; returns its coordinates.

    ``today``: the injected clock's date, which judges dates of birth. Raises
    :class:`PrivacyViolation` or :class:`InvalidInput` naming the field.
    """
    screen(profile, path, today=today, remember=_not_free_text)
    needs = [n.service_type for n in profile.needs]
    if len(set(needs)) != len(needs):
        raise InvalidInput("each service type may be needed once", field=f"{path}.needs")
    loc = profile.location
    if loc.locality is None:
        county = geo.counties()[loc.county]
        return county.lat, county.lon
    found = geo.find_locality(loc.county, loc.locality)
    if found is None:
        hints = geo.suggest_localities(loc.county, loc.locality)
        hint = f"; did you mean: {', '.join(hints)}" if hints else ""
        raise InvalidInput(f"unknown locality in {loc.county}{hint}", field=f"{path}.location.locality")
    return found.lat, found.lon
