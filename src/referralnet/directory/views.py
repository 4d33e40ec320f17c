"""Row-to-Struct conversion with visibility rules.

A confidential site's address and exact coordinates are shown only to its own organisation
and to the secretariat/admins; everyone else sees its county (and locality) only.
"""

from __future__ import annotations

import datetime
from typing import Any

from referralnet.accounts.schemas import Actor
from referralnet.directory.schemas import (
    CapacityOut,
    Eligibility,
    OrganisationOut,
    Place,
    ServiceArea,
    ServiceOut,
    SiteOut,
    Source,
)
from referralnet.jsoncol import decoder, dumps, load

__all__ = [
    "SERVICE_COLUMNS",
    "SERVICE_OUT_COLUMNS",
    "SERVICE_RAW_COLUMNS",
    "SERVICE_SQL",
    "SERVICE_WIDTH",
    "SITE_RAW_SELECT",
    "SITE_SELECT",
    "decode_strings",
    "dumps",
    "eligibility_of",
    "load",
    "organisation_out",
    "service_out",
    "services_of_records",
    "services_raw",
    "with_sites",
]

# A site's columns as a statement joining ``site si`` names them beside its service's, one row per site.
SITE_COLUMNS = ("id", "county", "locality", "address", "lat", "lon", "confidential")
SITE_SELECT = ", ".join(f'si.{c} AS "site.{c}"' for c in SITE_COLUMNS)
_SITE_KEYS = tuple((c, f"site.{c}") for c in SITE_COLUMNS)
# The columns :func:`service_out` reads, as a statement joining ``service s`` and ``organisation o`` names
# them: a page of services reads these, not ``s.*`` (each value read costs a type conversion).
SERVICE_COLUMNS = ("id", "organisation", "type", "name", "description", "licence", "eligibility", "area_counties",
                   "area_national", "capacity_unit", "capacity_total", "capacity_available", "capacity_updated_at",
                   "active", "sources", "created_at", "updated_at")  # fmt: skip
SERVICE_OUT_COLUMNS = ", ".join([f"s.{c}" for c in SERVICE_COLUMNS] + ['o.name AS "organisation.name"'])
# How many values a page's row holds before its version and sites: the service's columns, its organisation's name.
SERVICE_WIDTH = len(SERVICE_COLUMNS) + 1
# The same columns (and a site's), for a page of services on SQLite read as plain tuples in this order: its
# INTEGER, BOOLEAN and TIMESTAMPTZ columns as expressions (a unary ``+``, a no-op in SQLite) have no declared
# type, so no Piccolo type converter (a Python call per value) runs on them; :func:`services_raw` converts
# the booleans and timestamps itself.
_TYPED = {"id", "organisation", "area_national", "capacity_total", "capacity_available", "capacity_updated_at",
          "active", "created_at", "updated_at", "confidential"}  # fmt: skip
SERVICE_RAW_COLUMNS = ", ".join([f"+s.{c} AS {c}" if c in _TYPED else f"s.{c}" for c in SERVICE_COLUMNS] + ["o.name AS organisation_name"])
SITE_RAW_SELECT = ", ".join(f'{"+" if c in _TYPED else ""}si.{c} AS "site.{c}"' for c in SITE_COLUMNS)
# One service with its organisation's name, and its sites, in one fixed statement (``sql``): no
# Piccolo query building on the most frequent read, and one round trip (a row per site, the service's
# columns repeated; one row with NULL site columns when it has none). Read with :func:`with_sites`.
SERVICE_SQL = (
    f'SELECT {SERVICE_OUT_COLUMNS}, o.active AS "organisation.active", {SITE_SELECT} '
    "FROM service s JOIN organisation o ON o.id = s.organisation LEFT JOIN site si ON si.service = s.id"
    " WHERE s.id = {} ORDER BY si.id"
)


def with_sites(rows: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Rows of services joined with their sites (``SITE_SELECT``, ordered by service): each service's
    row once, with its sites (none when its one row has NULL site columns)."""
    out: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for row in rows:
        if not out or out[-1][0]["id"] != row["id"]:
            out.append((row, []))
        if row["site.id"] is not None:
            out[-1][1].append({c: row[key] for c, key in _SITE_KEYS})
    return out


def decode_strings(value: Any) -> list[str]:
    return load(value, list[str])  # type: ignore[no-any-return]


def organisation_out(row: dict[str, Any], service_count: int, score: float | None = None) -> OrganisationOut:
    return OrganisationOut(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        short_name=row["short_name"],
        aliases=load(row["aliases"], list[str]),
        legal_form=row["legal_form"],
        networks=load(row["networks"], list[str]),
        website=row["website"],
        referral_email=row["referral_email"],
        webhook_url=row["webhook_url"],
        referral_phone=row["referral_phone"],
        phone_24h=row["phone_24h"],
        kind=row["kind"],
        institution_type=row["institution_type"],
        county=row["county"],
        city=row["city"],
        city_inferred=row["city_inferred"],
        description=row["description"],
        places=load(row["places"], list[Place]),
        active=row["active"],
        fictional=row["fictional"],
        sources=load(row["sources"], list[Source]),
        service_count=service_count,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        score=score,
    )


def site_out(row: dict[str, Any], *, reveal: bool) -> SiteOut:
    return _site(row["id"], row["county"], row["locality"], row["address"], row["lat"], row["lon"], row["confidential"], reveal)


def _site(
    site_id: int, county: str, locality: str | None, address: str | None, lat: float | None, lon: float | None, confidential: bool,
    reveal: bool,
) -> SiteOut:
    """A site as its viewer may see it: a confidential site's address and coordinates only where ``reveal`` (the
    organisation's own managers, staff); everyone else gets its county and locality. The one place of that rule."""
    if confidential and not reveal:
        address = lat = lon = None
    return SiteOut(id=site_id, county=county, locality=locality, confidential=confidential, address=address, lat=lat, lon=lon)


def eligibility_of(row: dict[str, Any]) -> Eligibility:
    return load(row["eligibility"], Eligibility)  # type: ignore[no-any-return]


def service_out(row: dict[str, Any], sites: list[dict[str, Any]], actor: Actor) -> ServiceOut:
    org_id = row["organisation"]
    reveal = actor.can_manage(org_id)
    return _service(
        row["id"], org_id, row["type"], row["name"], row["description"], row["licence"], eligibility_of(row),
        load(row["area_counties"], list[str]), row["area_national"], row["capacity_unit"], row["capacity_total"],
        row["capacity_available"], row["capacity_updated_at"], row["active"], load(row["sources"], list[Source]),
        row["created_at"], row["updated_at"], row["organisation.name"], [site_out(s, reveal=reveal) for s in sites],
    )  # fmt: skip


def _service(
    service_id: int, org_id: int, type_: str, name: str, description: str | None, licence: str | None, eligibility: Eligibility,
    counties: list[str], national: bool, unit: str | None, total: int | None, available: int | None,
    capacity_updated_at: datetime.datetime | None, active: bool, sources: list[Source], created_at: datetime.datetime,
    updated_at: datetime.datetime, org_name: str, sites: list[SiteOut],
) -> ServiceOut:
    """A service's answer from its values (in ``SERVICE_OUT_COLUMNS``' order), decoded: every builder above and below
    ends here."""
    return ServiceOut(
        id=service_id,
        organisation_id=org_id,
        organisation_name=org_name,
        type=type_,
        name=name,
        description=description,
        licence=licence,
        eligibility=eligibility,
        service_area=ServiceArea(counties=counties, national=national),
        sites=sites,
        capacity=CapacityOut(unit=unit, total=total, available=available, updated_at=capacity_updated_at),
        capacity_updated_at=capacity_updated_at,
        active=active,
        sources=sources,
        created_at=created_at,
        updated_at=updated_at,
    )

_UTC = datetime.timezone.utc
_from_iso = datetime.datetime.fromisoformat


def _timestamptz(text: str) -> datetime.datetime:
    """A TIMESTAMPTZ column's text as its converter reads it (:func:`referralnet.sqlite_types.timestamptz`)."""
    moment = _from_iso(text)
    return moment if moment.tzinfo is _UTC else moment.replace(tzinfo=_UTC)


def services_raw(rows: list[tuple[Any, ...]], actor: Actor) -> list[ServiceOut]:
    """:func:`service_out` of each service in ``rows``, rows of ``SERVICE_RAW_COLUMNS`` (and any further columns)
    then ``SITE_RAW_SELECT``, one per site and ordered by service, as :func:`with_sites` reads them: SQLite's own
    values, its booleans (0/1) and timestamps (text) converted here as the column converters would."""
    eligibility, counties, sources = decoder(Eligibility).decode, decoder(list[str]).decode, decoder(list[Source]).decode
    out: list[ServiceOut] = []
    sites: list[SiteOut] = []
    service_id = None
    reveal = False
    for row in rows:
        if row[0] != service_id:
            (service_id, org_id, type_, name, description, licence, eligibility_text, counties_text, national, unit,
             total, available, updated_text, active, sources_text, created_text, changed_text, org_name) = row[:SERVICE_WIDTH]  # fmt: skip
            reveal, sites = actor.can_manage(org_id), []
            out.append(_service(
                service_id, org_id, type_, name, description, licence, eligibility(eligibility_text), counties(counties_text),
                national == 1, unit, total, available, None if updated_text is None else _timestamptz(updated_text), active == 1,
                sources(sources_text), _timestamptz(created_text), _timestamptz(changed_text), org_name,
                sites,  # filled below, from this service's rows
            ))  # fmt: skip
        site_id, county, locality, address, lat, lon, confidential = row[-7:]
        if site_id is not None:
            sites.append(_site(site_id, county, locality, address, lat, lon, confidential == 1, reveal))
    return out


def services_of_records(rows: Any, actor: Actor) -> list[ServiceOut]:
    """:func:`service_out` of each PostgreSQL row in ``rows`` (asyncpg records, or any sequences): the columns
    of ``SERVICE_OUT_COLUMNS`` first and, last, the service's sites as records of ``SITE_COLUMNS`` (or NULL)."""
    eligibility, counties, sources = decoder(Eligibility).decode, decoder(list[str]).decode, decoder(list[Source]).decode
    out: list[ServiceOut] = []
    for row in rows:
        (service_id, org_id, type_, name, description, licence, eligibility_text, counties_text, national, unit,
         total, available, capacity_updated_at, active, sources_text, created_at, updated_at, org_name) = row[:SERVICE_WIDTH]  # fmt: skip
        reveal = actor.can_manage(org_id)
        sites = [_site(i, county, place, address, lat, lon, private, reveal) for i, county, place, address, lat, lon, private in row[-1] or ()]
        out.append(_service(
            service_id, org_id, type_, name, description, licence, eligibility(eligibility_text), counties(counties_text), national,
            unit, total, available, capacity_updated_at, active, sources(sources_text), created_at, updated_at, org_name, sites,
        ))  # fmt: skip
    return out
