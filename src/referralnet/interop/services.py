"""Database reads for the HSDS export and read API."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from referralnet.interop.hsds_export import build_tables
from referralnet.interop.hsds_files import write_json, write_package
from referralnet.tables import Organisation, Service, Site


async def directory_rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Every organisation, service and site (the export includes inactive ones, marked as such)."""
    orgs = await Organisation.select().order_by(Organisation.slug)
    services = await Service.select().order_by(Service.id)
    sites = await Site.select().order_by(Site.id)
    return orgs, services, sites


async def hsds_tables(version: str = "3.0") -> dict[str, list[dict[str, Any]]]:
    orgs, services, sites = await directory_rows()
    return build_tables(orgs, services, sites, version=version)


async def export_hsds(folder: Path, *, fmt: str, version: str) -> tuple[list[Path], float]:
    """Write the directory to ``folder``; returns the files written and the seconds taken."""
    started = time.perf_counter()
    tables = await hsds_tables(version)
    paths = write_json(folder, tables) if fmt == "json" else write_package(folder, tables, version)
    return paths, time.perf_counter() - started


async def referral_bundle(referral_id: int, actor: Any, now: Any, base_url: str) -> dict[str, Any]:
    """The FHIR Bundle of a referral the actor may read (authorised and audited like any referral read)."""
    from referralnet.interop.fhir import bundle
    from referralnet.referrals.services import get_referral

    referral = await get_referral(referral_id, actor, now)
    ids = sorted({o.service_id for o in referral.offers})
    types = {r["id"]: r["type"] for r in await Service.select(Service.id, Service.type).where(Service.id.is_in(ids))} if ids else {}
    return bundle(referral, types, base_url)
