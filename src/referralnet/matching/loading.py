"""What a matching snapshot is built from: every service with its organisation and sites, read from the
database once per directory version (never per request), as matching candidates."""

from __future__ import annotations

from typing import Any

from referralnet.directory.views import decode_strings, eligibility_of
from referralnet.matching.directory import Candidate, CandidateSite, Directory
from referralnet.tables import Organisation, Service, Site
from referralnet.vocabulary import geo

Rows = list[dict[str, Any]]


async def directory_rows() -> tuple[Rows, Rows]:
    """Every site and every service with its organisation, as read (no per-request use)."""
    sites = await Site.select(Site.id, Site.service, Site.county, Site.locality, Site.lat, Site.lon, Site.confidential)
    services = await Service.select(
        Service.id,
        Service.organisation,
        Service.organisation.name,
        Service.organisation.active,
        Service.type,
        Service.name,
        Service.active,
        Service.eligibility,
        Service.area_national,
        Service.area_counties,
        Service.capacity_unit,
    )
    return sites, services


def candidates_of(site_rows: Rows, service_rows: Rows) -> list[Candidate]:
    """The rows of :func:`directory_rows` as matching candidates, each site where :func:`geo.shown_point` puts it."""
    sites: dict[int, list[CandidateSite]] = {}
    for s in site_rows:
        lat, lon = geo.shown_point(s["county"], s.get("locality"), s["lat"], s["lon"], bool(s["confidential"]))
        sites.setdefault(s["service"], []).append(
            CandidateSite(site_id=s["id"], county=s["county"], lat=lat, lon=lon, confidential=s["confidential"])
        )
    return [
        Candidate(
            service_id=r["id"],
            organisation_id=r["organisation"],
            organisation_name=r["organisation.name"],
            service_type=r["type"],
            service_name=r["name"],
            active=r["active"],
            organisation_active=r["organisation.active"],
            eligibility=eligibility_of(r),
            area_national=r["area_national"],
            area_counties=tuple(decode_strings(r["area_counties"])),
            sites=tuple(sites.get(r["id"], ())),
            capacity_unit=r["capacity_unit"],
        )
        for r in service_rows
    ]


async def load_candidates() -> list[Candidate]:
    """Every service with its organisation and sites, as matching candidates."""
    return candidates_of(*await directory_rows())


def build_directory(site_rows: Rows, service_rows: Rows) -> Directory:
    return Directory.build(candidates_of(site_rows, service_rows))


async def unreachable_organisations() -> frozenset[int]:
    """Organisations with no referral e-mail, webhook, referral phone or 24-hour line (read with the directory:
    these are organisation fields, and every organisation change bumps the directory counter)."""
    rows = await Organisation.select(Organisation.id).where(
        Organisation.referral_email.is_null(),
        Organisation.webhook_url.is_null(),
        Organisation.referral_phone.is_null(),
        Organisation.phone_24h.is_null(),
    )
    return frozenset(r["id"] for r in rows)
