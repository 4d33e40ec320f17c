"""Request, response and data-file Structs of the directory."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from referralnet.base import Input, Output
from referralnet.vocabulary.codes import (
    AccessibilityCode,
    CapacityUnit,
    ConditionFlag,
    CountyCode,
    ExploitationForm,
    Gender,
    InstitutionType,
    LanguageCode,
    LegalForm,
    NationalityGroup,
    OrganisationKind,
    ServiceType,
    VictimStatus,
)

Count = Annotated[int, Meta(ge=0, le=1_000_000)]
Age = Annotated[int, Meta(ge=0, le=120)]
StayDays = Annotated[int, Meta(ge=1, le=3650, description="A length of stay, in days")]
Name = Annotated[str, Meta(min_length=1, max_length=300)]
ShortName = Annotated[str, Meta(min_length=1, max_length=80)]
Slug = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
Text = Annotated[str, Meta(max_length=4000)]
# A work telephone line as written (digits, spaces, + ( ) . / -), e.g. "+40 232 000 000".
Phone = Annotated[str, Meta(min_length=3, max_length=40, pattern=r"^\+?[0-9][0-9 ()./-]{2,39}$")]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Email = Annotated[str, Meta(pattern=EMAIL_PATTERN, max_length=254)]
Url = Annotated[str, Meta(pattern=r"^https?://[^\s]+$", max_length=500)]
Latitude = Annotated[float, Meta(ge=43.5, le=48.5)]  # Romania's bounding box, with margin
Longitude = Annotated[float, Meta(ge=20.0, le=30.0)]
# A network's code; the codes that exist are rows of the network table (GET /api/v1/networks), checked by the service.
NetworkCodeText = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="a network's code (GET /api/v1/networks)")]


class Source(Input):
    """Where a fact in a data file comes from."""

    ref: Annotated[str, Meta(min_length=1, max_length=300)]
    quote: Text | None = None
    url: Url | None = None
    note: Text | None = None


class Place(Input):
    """A city or county where an organisation is stated to work (public, city level)."""

    county: CountyCode
    locality: Name | None = None
    source: Annotated[str, Meta(max_length=300)] | None = None


class Eligibility(Input):
    """Whom a service can take. ``None`` means not stated (unknown), not "anyone" or "no one"."""

    age_min: Age | None = None
    age_max: Age | None = None
    genders: list[Gender] | None = None
    nationality_groups: list[NationalityGroup] | None = None
    victim_statuses: list[VictimStatus] | None = None
    exploitation_forms: list[ExploitationForm] | None = None
    accepts_children: bool | None = None
    languages: list[LanguageCode] | None = None
    interpretation_available: bool | None = None
    accessibility: list[AccessibilityCode] | None = None
    excludes: list[ConditionFlag] = msgspec.field(default_factory=list)
    requires: list[ConditionFlag] = msgspec.field(default_factory=list)
    max_stay_days: StayDays | None = None  # the longest a person may stay (a shelter's rule)


class ServiceArea(Input):
    counties: list[CountyCode] = msgspec.field(default_factory=list)
    national: bool = False


class SiteIn(Input):
    county: CountyCode
    locality: Name | None = None
    address: Annotated[str, Meta(max_length=500)] | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    confidential: bool = False


class CapacityIn(Input):
    unit: CapacityUnit
    total: Count | None = None
    available: Count | None = None


class ServiceCreate(Input):
    type: ServiceType
    name: Name
    description: Text | None = None
    licence: Annotated[str, Meta(max_length=500)] | None = None
    eligibility: Eligibility = msgspec.field(default_factory=Eligibility)
    service_area: ServiceArea = msgspec.field(default_factory=ServiceArea)
    sites: list[SiteIn] = msgspec.field(default_factory=list)
    capacity: CapacityIn | None = None
    active: bool = True
    sources: list[Source] = msgspec.field(default_factory=list)


class ServiceUpdate(Input):
    """PATCH body: only the fields present are changed. Capacity figures change via PUT .../capacity."""

    type: ServiceType | UnsetType = UNSET
    name: Name | UnsetType = UNSET
    description: Text | None | UnsetType = UNSET
    licence: Annotated[str, Meta(max_length=500)] | None | UnsetType = UNSET
    eligibility: Eligibility | UnsetType = UNSET
    service_area: ServiceArea | UnsetType = UNSET
    sites: list[SiteIn] | UnsetType = UNSET
    capacity_unit: CapacityUnit | None | UnsetType = UNSET
    active: bool | UnsetType = UNSET


class CapacityUpdate(Input):
    """The one-call capacity update an NGO makes."""

    available: Count
    total: Count | None | UnsetType = UNSET


class OrganisationCreate(Input):
    name: Name
    short_name: ShortName | None = None
    slug: Slug | None = None
    aliases: list[Name] = msgspec.field(default_factory=list)
    legal_form: LegalForm | None = None
    networks: list[NetworkCodeText] = msgspec.field(default_factory=list)
    website: Url | None = None
    referral_email: Email | None = None
    webhook_url: Url | None = None
    description: Text | None = None
    places: list[Place] = msgspec.field(default_factory=list)
    active: bool = True
    referral_phone: Phone | None = None
    phone_24h: Phone | None = None
    # An institution refers people and is never matched; it needs an institution_type.
    kind: OrganisationKind = "provider"
    institution_type: InstitutionType | None = None
    county: CountyCode | None = None
    city: Name | None = None
    city_inferred: bool = False


class OrganisationUpdate(Input):
    name: Name | UnsetType = UNSET
    short_name: ShortName | None | UnsetType = UNSET
    aliases: list[Name] | UnsetType = UNSET
    legal_form: LegalForm | None | UnsetType = UNSET
    networks: list[NetworkCodeText] | UnsetType = UNSET
    website: Url | None | UnsetType = UNSET
    referral_email: Email | None | UnsetType = UNSET
    webhook_url: Url | None | UnsetType = UNSET
    description: Text | None | UnsetType = UNSET
    places: list[Place] | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    referral_phone: Phone | None | UnsetType = UNSET
    phone_24h: Phone | None | UnsetType = UNSET
    institution_type: InstitutionType | None | UnsetType = UNSET
    county: CountyCode | None | UnsetType = UNSET
    city: Name | None | UnsetType = UNSET
    city_inferred: bool | UnsetType = UNSET


class OrganisationFile(Input):
    """One TOML file of ``data/organisations/`` or ``data/demo/``: an organisation, its services and sources."""

    slug: Slug
    name: Name
    short_name: ShortName | None = None
    aliases: list[Name] = msgspec.field(default_factory=list)
    legal_form: LegalForm | None = None
    networks: list[NetworkCodeText] = msgspec.field(default_factory=list)
    website: Url | None = None
    referral_email: Email | None = None
    description: Text | None = None
    places: list[Place] = msgspec.field(default_factory=list)
    fictional: bool = False
    sources: list[Source] = msgspec.field(default_factory=list)
    services: list[ServiceCreate] = msgspec.field(default_factory=list)


# ---- responses ---------------------------------------------------------------------------------


class SiteOut(Output):
    id: int
    county: str
    locality: str | None
    confidential: bool
    # Hidden (None) for a confidential site outside its own organisation and the secretariat.
    address: str | None
    lat: float | None
    lon: float | None


class CapacityOut(Output):
    unit: str | None
    total: int | None
    available: int | None
    updated_at: dt.datetime | None


class ServiceOut(Output):
    id: int
    organisation_id: int
    organisation_name: str
    type: str
    name: str
    description: str | None
    licence: str | None
    eligibility: Eligibility
    service_area: ServiceArea
    sites: list[SiteOut]
    capacity: CapacityOut
    capacity_updated_at: dt.datetime | None
    active: bool
    sources: list[Source]
    created_at: dt.datetime
    updated_at: dt.datetime


class OrganisationOut(Output):
    id: int
    slug: str
    name: str
    short_name: str | None
    aliases: list[str]
    legal_form: str | None
    networks: list[str]
    website: str | None
    referral_email: str | None
    webhook_url: str | None
    referral_phone: str | None
    phone_24h: str | None
    kind: str
    institution_type: str | None
    county: str | None
    city: str | None
    city_inferred: bool
    description: str | None
    places: list[Place]
    active: bool
    fictional: bool
    sources: list[Source]
    service_count: int
    created_at: dt.datetime
    updated_at: dt.datetime
    score: float | None = None  # fuzzy-search score when listed with ``q``


class OrganisationList(Output):
    items: list[OrganisationOut]
    total: int


class ServiceList(Output):
    items: list[ServiceOut]
    total: int


class CapacityChange(Output):
    at: dt.datetime
    actor: str
    previous_available: int | None
    available: int | None
    previous_total: int | None
    total: int | None
    # null for the NGO's own update; offer_accepted (a place reserved), place_released, offer_declined ("no free place").
    cause: str | None = None
    offer_id: int | None = None


class CapacityHistory(Output):
    service_id: int
    items: list[CapacityChange]
