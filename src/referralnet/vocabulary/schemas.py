"""Response Structs of the vocabulary endpoint."""

from __future__ import annotations

from referralnet.base import Output


class Term(Output):
    code: str
    en: str
    ro: str


class ServiceTypeTerm(Term):
    group: str
    capacity_bound: bool


class ServiceGroupTerm(Term):
    types: list[str]


class CountyTerm(Output):
    code: str
    name: str
    name_ascii: str
    region: str
    seat: str
    seat_lat: float
    seat_lon: float


class AgeBandTerm(Output):
    code: str
    min: int | None
    max: int | None


class Vocabulary(Output):
    counties: list[CountyTerm]
    service_groups: list[ServiceGroupTerm]
    service_types: list[ServiceTypeTerm]
    exploitation_forms: list[Term]
    genders: list[Term]
    nationality_groups: list[Term]
    victim_statuses: list[Term]
    age_bands: list[AgeBandTerm]
    languages: list[Term]
    accessibility: list[Term]
    condition_flags: list[Term]
    capacity_units: list[Term]
    legal_forms: list[Term]
    networks: list[Term]
    urgencies: list[Term]
    organisation_kinds: list[Term]
    decline_reasons: list[Term]
    institution_types: list[Term]
    localities_url: str
    attribution: list[str]


class LocalityTerm(Output):
    siruta: int
    name: str
    name_ascii: str
    county: str
    kind: str
    lat: float
    lon: float


class LocalityList(Output):
    items: list[LocalityTerm]
    total: int
