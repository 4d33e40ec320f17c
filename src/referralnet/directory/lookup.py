"""The rows the directory's list filters look up: where a service works and which forms it takes.

``service_county`` holds each area county and each site county of a service (``*`` when it works
nationally); ``service_form`` each exploitation form it takes (``*`` when not stated, which the
filter keeps). :func:`reindex` rewrites a service's rows inside the transaction that changed it.
"""

from __future__ import annotations

from collections.abc import Iterable

from referralnet.directory.views import decode_strings, eligibility_of
from referralnet.tables import Service, ServiceCounty, ServiceForm, Site

ANY = "*"


def keys(national: bool, area_counties: Iterable[str], site_counties: Iterable[str], forms: Iterable[str] | None) -> tuple[list[str], list[str]]:
    """The county and form keys of one service."""
    counties = set(area_counties) | set(site_counties) | ({ANY} if national else set())
    return sorted(counties), [ANY] if forms is None else sorted(set(forms))


async def reindex(service_id: int) -> None:
    """Rewrite the lookup rows of ``service_id`` from its row and sites (in the caller's transaction)."""
    row = await Service.select(Service.area_national, Service.area_counties, Service.eligibility).where(Service.id == service_id).first()
    assert row is not None, f"service {service_id} is written in this transaction"
    sites = await Site.select(Site.county).where(Site.service == service_id)
    counties, forms = keys(
        row["area_national"], decode_strings(row["area_counties"]), (s["county"] for s in sites), eligibility_of(row).exploitation_forms
    )
    await ServiceCounty.delete().where(ServiceCounty.service == service_id)
    await ServiceForm.delete().where(ServiceForm.service == service_id)
    if counties:
        await ServiceCounty.insert(*[ServiceCounty(service=service_id, county=c) for c in counties])
    if forms:  # none: stated to take no form
        await ServiceForm.insert(*[ServiceForm(service=service_id, form=f) for f in forms])
