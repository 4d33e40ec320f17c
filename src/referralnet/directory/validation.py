"""Checks that go beyond types: consistent ranges, capacity within total, localities that exist."""

from __future__ import annotations

from typing import Any

from referralnet.directory.schemas import CapacityIn, Eligibility, SiteIn
from referralnet.errors import InvalidInput
from referralnet.notifications.outbound import TargetRefused, check_url
from referralnet.settings import Settings
from referralnet.vocabulary import geo


def check_service(eligibility: Eligibility, capacity: CapacityIn | None) -> None:
    if eligibility.age_min is not None and eligibility.age_max is not None and eligibility.age_min > eligibility.age_max:
        raise InvalidInput("age_max must not be below age_min", field="eligibility.age_max")
    overlap = set(eligibility.excludes) & set(eligibility.requires)
    if overlap:
        raise InvalidInput(f"a condition cannot be both excluded and required: {sorted(overlap)}", field="eligibility.requires")
    if capacity is not None:
        check_capacity(capacity.available, capacity.total, prefix="capacity.")


def check_capacity(available: int | None, total: int | None, *, prefix: str = "") -> None:
    if available is not None and total is not None and available > total:
        raise InvalidInput(f"available ({available}) must not exceed total ({total})", field=f"{prefix}available")


def resolve_sites(sites: list[SiteIn]) -> list[dict[str, Any]]:
    """Column values for each site; a locality must exist in its county and gives the coordinates."""
    out = []
    for i, site in enumerate(sites):
        lat, lon = site.lat, site.lon
        locality = site.locality
        if (lat is None) != (lon is None):
            raise InvalidInput("give both lat and lon, or neither", field=f"sites[{i}].lon")
        if locality is not None:
            found = geo.find_locality(site.county, locality)
            if found is None:
                hints = geo.suggest_localities(site.county, locality)
                hint = f"; did you mean: {', '.join(hints)}" if hints else ""
                raise InvalidInput(f"unknown locality {locality!r} in {site.county}{hint}", field=f"sites[{i}].locality")
            locality = found.name
            if lat is None:
                lat, lon = found.lat, found.lon
        out.append(
            {
                "county": site.county,
                "locality": locality,
                "address": site.address,
                "lat": lat,
                "lon": lon,
                "confidential": site.confidential,
            }
        )
    return out


async def check_webhook_url(url: str | None, settings: Settings | None) -> None:
    """A webhook URL must be https and reach a public address (see notifications/outbound.py); 422 otherwise."""
    if url is None:
        return
    try:
        await check_url(url, settings or Settings())
    except TargetRefused as exc:
        raise InvalidInput(f"webhook_url: {exc}", field="webhook_url") from exc
