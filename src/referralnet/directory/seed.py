"""Load ``data/organisations/`` (or ``data/demo/``) into the directory, idempotently.

A second run changes nothing. Live figures NGOs maintain (free capacity) are never overwritten;
a file whose organisation name nearly equals an existing one under another slug is reported,
not loaded, so the directory gets no twins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
from rapidfuzz import fuzz

from referralnet import counters
from referralnet.accounts.schemas import SYSTEM
from referralnet.clock import Clock
from referralnet.db import write_transaction
from referralnet.directory import lookup, networks, places, services
from referralnet.directory.schemas import OrganisationCreate, OrganisationFile, ServiceCreate
from referralnet.directory.validation import check_service, resolve_sites
from referralnet.directory.views import dumps, load
from referralnet.tables import Organisation, Service, Site
from referralnet.vocabulary.geo import fold

# Names at least this similar (rapidfuzz token_sort_ratio on folded names) are near-duplicates.
DUPLICATE_THRESHOLD = 92.0


class SeedError(ValueError):
    """A data file is invalid; the message names the file and the key path."""


class SeedReport(msgspec.Struct, kw_only=True):
    created: list[str] = msgspec.field(default_factory=list)
    updated: list[str] = msgspec.field(default_factory=list)
    unchanged: list[str] = msgspec.field(default_factory=list)
    near_duplicates: list[str] = msgspec.field(default_factory=list)
    services_created: int = 0
    services_updated: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.services_created or self.services_updated)


def read_files(folder: Path) -> list[OrganisationFile]:
    """Decode every ``*.toml`` in ``folder``; the first invalid one raises :class:`SeedError`."""
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise SeedError(f"no *.toml files in {folder}")
    out = []
    for path in files:
        try:
            org = msgspec.toml.decode(path.read_bytes(), type=OrganisationFile)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise SeedError(f"{path}: {exc}") from exc
        if org.slug != path.stem:
            raise SeedError(f"{path}: slug {org.slug!r} must equal the file name {path.stem!r}")
        for i, service in enumerate(org.services):
            try:
                check_service(service.eligibility, service.capacity)
                resolve_sites(service.sites)
            except Exception as exc:  # noqa: BLE001 - report any domain error with its location
                field = getattr(exc, "field", None)
                raise SeedError(f"{path}: services[{i}].{field or ''}: {exc}") from exc
        out.append(org)
    return out


def _org_values(org: OrganisationFile) -> dict[str, Any]:
    return {
        "name": org.name,
        "short_name": org.short_name,
        "aliases": org.aliases,
        "legal_form": org.legal_form,
        "networks": org.networks,
        "website": org.website,
        "referral_email": org.referral_email,
        "description": org.description,
        "places": msgspec.to_builtins(org.places),
        "sources": msgspec.to_builtins(org.sources),
        "fictional": org.fictional,
    }


_JSON_FIELDS = {"aliases", "networks", "places", "sources", "eligibility", "area_counties"}


def _normalise(name: str, value: Any) -> Any:
    return load(value) if name in _JSON_FIELDS else value


def _diff(row: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    def same(k: str, v: Any) -> bool:  # networks are a set (their read copy is kept in code order)
        return sorted(set(load(row[k]))) == sorted(set(v)) if k == "networks" else bool(_normalise(k, row[k]) == v)

    return {k: v for k, v in wanted.items() if not same(k, v)}


def _encode(values: dict[str, Any]) -> dict[str, Any]:
    return {k: dumps(v) if k in _JSON_FIELDS else v for k, v in values.items()}


def _service_values(svc: ServiceCreate) -> dict[str, Any]:
    return {
        "description": svc.description,
        "licence": svc.licence,
        "eligibility": msgspec.to_builtins(svc.eligibility),
        "area_national": svc.service_area.national,
        "area_counties": sorted(set(svc.service_area.counties)),
        "active": svc.active,
        "sources": msgspec.to_builtins(svc.sources),
    }


async def _sync_services(org_id: int, org: OrganisationFile, clock: Clock, report: SeedReport) -> None:
    existing = {(r["type"], r["name"]): r for r in await Service.select().where(Service.organisation == org_id)}
    for svc in org.services:
        row = existing.get((svc.type, svc.name))
        if row is None:
            await services.create_service(org_id, svc, SYSTEM, clock)
            report.services_created += 1
            continue
        changes = _diff(row, _service_values(svc))
        if svc.capacity is not None:
            # Only fill what is unknown in the database; live figures belong to the NGO.
            if row["capacity_unit"] is None:
                changes["capacity_unit"] = svc.capacity.unit
            changes.update(places.fill_unknown_total(row, svc.capacity))
        sites = resolve_sites(svc.sites)
        current_sites = [
            {k: s[k] for k in ("county", "locality", "address", "lat", "lon", "confidential")}
            for s in await Site.select().where(Site.service == row["id"]).order_by(Site.id)
        ]
        if changes or sites != current_sites:
            await Service.update({**_encode(changes), "updated_at": clock.now()}).where(Service.id == row["id"])  # type: ignore[dict-item]
            if sites != current_sites:
                await Site.delete().where(Site.service == row["id"])
                if sites:
                    await Site.insert(*[Site(service=row["id"], **s) for s in sites])
            await lookup.reindex(row["id"])
            await counters.bump(counters.DIRECTORY)
            report.services_updated += 1


async def seed(folder: Path, clock: Clock) -> SeedReport:
    """Load one folder of organisation files in a single transaction."""
    files = read_files(folder)
    report = SeedReport()
    async with write_transaction():
        known = await Organisation.select(Organisation.id, Organisation.slug, Organisation.name)
        for org in files:
            row = await Organisation.select().where(Organisation.slug == org.slug).first()
            if row is None:
                twin = next(
                    (k for k in known if fuzz.token_sort_ratio(fold(k["name"]), fold(org.name)) >= DUPLICATE_THRESHOLD),
                    None,
                )
                if twin is not None:
                    report.near_duplicates.append(f"{org.slug}: {org.name!r} is near {twin['slug']}: {twin['name']!r}")
                    continue
                created = await services.create_organisation(
                    OrganisationCreate(
                        slug=org.slug,
                        name=org.name,
                        short_name=org.short_name,
                        aliases=org.aliases,
                        legal_form=org.legal_form,
                        networks=org.networks,
                        website=org.website,
                        referral_email=org.referral_email,
                        description=org.description,
                        places=org.places,
                    ),
                    SYSTEM,
                    clock,
                    fictional=org.fictional,
                    sources=msgspec.to_builtins(org.sources),
                )
                known.append({"id": created.id, "slug": org.slug, "name": org.name})
                report.created.append(org.slug)
                org_id = created.id
            else:
                org_id = row["id"]
                changes = _diff(row, _org_values(org))
                wanted_networks = changes.pop("networks", None)
                if changes or wanted_networks is not None:
                    await Organisation.update({**_encode(changes), "updated_at": clock.now()}).where(  # type: ignore[dict-item]
                        Organisation.id == org_id
                    )
                    if wanted_networks is not None:
                        await networks.set_memberships(org_id, list(dict.fromkeys(wanted_networks)))
                    await counters.bump(counters.DIRECTORY)
                    report.updated.append(org.slug)
            before = report.services_created + report.services_updated
            await _sync_services(org_id, org, clock, report)
            if row is not None and org.slug not in report.updated:
                (report.updated if report.services_created + report.services_updated > before else report.unchanged).append(org.slug)
    return report
