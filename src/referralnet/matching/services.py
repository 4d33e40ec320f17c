"""Matching's database side: a cached directory snapshot and the live capacity of survivors.

The static directory (eligibility, areas, sites) is loaded once and rebuilt only when its version
changes: the newest ``updated_at`` and highest id of services and organisations, two indexed
look-ups per match. Capacity changes often and does not bump ``updated_at``; it is read per
match, only for the services that pass the static filters.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from referralnet.clock import Clock
from referralnet.directory.views import decode_strings, eligibility_of
from referralnet.matching.directory import Candidate, CandidateSite, Capacity, Directory, ProviderRecord
from referralnet.matching.engine import rank, select
from referralnet.matching.profile import Profile, check_profile
from referralnet.matching.schemas import MatchResult
from referralnet.tables import Organisation, Service, Site
from referralnet.vocabulary import geo

Version = tuple[Any, ...]


async def directory_version() -> Version:
    service = await Service.select(Service.updated_at, Service.id).order_by(Service.updated_at, ascending=False).first()
    last_service = await Service.select(Service.id).order_by(Service.id, ascending=False).first()
    org = await Organisation.select(Organisation.updated_at).order_by(Organisation.updated_at, ascending=False).first()
    last_org = await Organisation.select(Organisation.id).order_by(Organisation.id, ascending=False).first()
    return (
        service and service["updated_at"],
        last_service and last_service["id"],
        org and org["updated_at"],
        last_org and last_org["id"],
    )


async def load_candidates() -> list[Candidate]:
    """Every service with its organisation and sites, as matching candidates."""
    seats = geo.counties()
    sites: dict[int, list[CandidateSite]] = {}
    for s in await Site.select(Site.id, Site.service, Site.county, Site.lat, Site.lon, Site.confidential):
        seat = seats[s["county"]]
        sites.setdefault(s["service"], []).append(
            CandidateSite(
                site_id=s["id"],
                county=s["county"],
                lat=s["lat"] if s["lat"] is not None else seat.lat,
                lon=s["lon"] if s["lon"] is not None else seat.lon,
                confidential=s["confidential"],
            )
        )
    rows = await Service.select(
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
        for r in rows
    ]


class DirectoryCache:
    """The latest directory snapshot of this process; rebuilt when the database's version moves."""

    def __init__(self) -> None:
        self._version: Version | None = None
        self._directory: Directory | None = None
        self._lock: asyncio.Lock | None = None

    async def get(self) -> Directory:
        version = await directory_version()
        if self._directory is not None and version == self._version:
            return self._directory
        if self._lock is None:
            self._lock = asyncio.Lock()  # created on the serving loop, not at import
        async with self._lock:
            version = await directory_version()
            if self._directory is None or version != self._version:
                candidates = await load_candidates()
                self._directory = Directory.build(candidates)
                self._version = version
        return self._directory


async def live_capacity(service_ids: list[int]) -> dict[int, Capacity]:
    out: dict[int, Capacity] = {}
    for chunk in range(0, len(service_ids), 900):  # stay under SQLite's bound-parameter limit
        ids = service_ids[chunk : chunk + 900]
        for r in await Service.select(
            Service.id, Service.capacity_available, Service.capacity_total, Service.capacity_updated_at
        ).where(Service.id.is_in(ids)):
            out[r["id"]] = Capacity(
                available=r["capacity_available"], total=r["capacity_total"], updated_at=r["capacity_updated_at"]
            )
    return out


async def provider_records() -> dict[int, ProviderRecord]:
    """Answer records per organisation; empty until referrals exist."""
    return {}


async def match_profile(
    profile: Profile, cache: DirectoryCache, clock: Clock, *, stale_days: int, limit: int = 20
) -> MatchResult:
    """Rank the providers for ``profile``; nothing about the profile is stored."""
    origin = check_profile(profile)
    directory = await cache.get()
    selection = select(profile, directory, origin)
    capacity = await live_capacity(selection.service_ids)
    return rank(
        selection,
        capacity,
        await provider_records(),
        now=clock.now(),
        stale_after=dt.timedelta(days=stale_days),
        limit=limit,
    )
