"""Directory reads and writes: organisations, services and their sites."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from typing import Any

from msgspec import UNSET

from referralnet import counters, sql
from referralnet.accounts import cache as token_cache
from referralnet.accounts.schemas import Actor
from referralnet.clock import Clock
from referralnet.db import write_transaction
from referralnet.directory import lookup, membership, networks, places, search
from referralnet.directory.schemas import (
    OrganisationCreate,
    OrganisationList,
    OrganisationOut,
    OrganisationUpdate,
    ServiceCreate,
    ServiceOut,
    ServiceUpdate,
    SiteIn,
)
from referralnet.directory.validation import check_service, check_webhook_url, resolve_sites
from referralnet.directory.views import SERVICE_SQL, dumps, eligibility_of, load, organisation_out, service_out, with_sites
from referralnet.errors import BadParameter, Conflict, Forbidden, InvalidInput, NotFound
from referralnet.referrals.offers import withdraw_organisation
from referralnet.settings import Settings
from referralnet.tables import Organisation, Service, Site

SERVICE_COLUMNS: tuple[Any, ...] = (
    Service.all_columns(),
    Service.organisation.name,
    Service.organisation.active,
)


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:63] or "organisation"


# ---- organisations -----------------------------------------------------------------------------


async def _service_counts(org_ids: list[int] | None = None) -> dict[int, int]:
    query = Service.select(Service.organisation)
    if org_ids is not None:
        if not org_ids:
            return {}
        query = query.where(Service.organisation.is_in(org_ids))
    counts: dict[int, int] = defaultdict(int)
    for row in await query:
        counts[row["organisation"]] += 1
    return counts


def check_kind(kind: str, institution_type: str | None) -> None:
    """An institution states its type; a provider has none."""
    if kind == "institution" and institution_type is None:
        raise InvalidInput("an institution needs an institution_type", field="institution_type")
    if kind == "provider" and institution_type is not None:
        raise InvalidInput("only an institution has an institution_type", field="institution_type")


async def list_organisations(
    *,
    q: str | None,
    network: str | None,
    limit: int,
    offset: int,
    include_inactive: bool,
    kind: str = "provider",
    index: search.OrganisationIndex | None = None,
    organisations: frozenset[int] | None = None,
) -> OrganisationList:
    """Organisations of one kind (providers unless asked), optionally found by a fuzzy search on names and aliases.

    ``organisations`` limits them to a secretariat's networks' members (None: no limit).
    """
    if network:
        await networks.network_ids([network], "network", BadParameter)  # an unknown code is a 4xx naming the nearest one
    entries = await (index.entries() if index is not None else search.load_entries())
    chosen = [e for e in entries if e.kind == kind and (include_inactive or e.active) and (not network or network in e.networks)
              and (organisations is None or e.id in organisations)]  # fmt: skip
    scores: dict[int, float] = {}
    if q and q.strip():
        found = search.search(chosen, q)
        chosen, scores = [e for e, _ in found], {e.id: score for e, score in found}
    page = await search.page_rows([e.id for e in chosen[offset : offset + limit]])
    counts = await _service_counts([r["id"] for r in page])
    items = [organisation_out(r, counts.get(r["id"], 0), scores.get(r["id"])) for r in page]
    return OrganisationList(items=items, total=len(chosen))


async def _organisation_row(org_id: int) -> dict[str, Any]:
    row = await Organisation.select().where(Organisation.id == org_id).first()
    if row is None:
        raise NotFound(f"organisation {org_id} not found", field="id")
    return row


async def get_organisation(org_id: int, actor: Actor | None = None) -> OrganisationOut:
    """One organisation; for an ``actor``, a deactivated one only if it manages it (as the lists show it), else 404.
    Without one (the pages' own reads of an organisation already in view), as it is."""
    row = await _organisation_row(org_id)
    if actor is not None and not row["active"] and not actor.can_manage(org_id):
        raise NotFound(f"organisation {org_id} not found", field="id")
    counts = await _service_counts([org_id])
    return organisation_out(row, counts.get(org_id, 0))


async def create_organisation(
    data: OrganisationCreate, actor: Actor, clock: Clock, *, fictional: bool = False, sources: list[Any] | None = None,
    settings: Settings | None = None,
) -> OrganisationOut:  # fmt: skip
    if not actor.is_staff:
        raise Forbidden("only the secretariat or an admin can add organisations")
    if data.kind == "provider":
        membership.check_change(actor, [], list(data.networks))
    await check_webhook_url(data.webhook_url, settings)
    check_kind(data.kind, data.institution_type)
    network_ids = await networks.network_ids(dict.fromkeys(data.networks), "networks")
    slug = data.slug or slugify(data.short_name or data.name)
    now = clock.now()
    async with write_transaction():
        if await Organisation.exists().where(Organisation.slug == slug):
            raise Conflict(f"an organisation with slug {slug!r} exists", field="slug")
        rows = await Organisation.insert(
            Organisation(
                slug=slug,
                name=data.name,
                short_name=data.short_name,
                aliases=dumps(data.aliases),
                legal_form=data.legal_form,
                website=data.website,
                referral_email=data.referral_email,
                webhook_url=data.webhook_url,
                description=data.description,
                places=dumps(data.places),
                sources=dumps(sources or []),
                fictional=fictional,
                active=data.active,
                referral_phone=data.referral_phone,
                phone_24h=data.phone_24h,
                kind=data.kind,
                institution_type=data.institution_type,
                county=data.county,
                city=data.city,
                city_inferred=data.city_inferred,
                created_at=now,
                updated_at=now,
            )
        ).returning(Organisation.id)
        await networks.set_memberships(rows[0]["id"], list(network_ids), network_ids)
        await counters.bump(counters.DIRECTORY)
    return await get_organisation(rows[0]["id"])


async def update_organisation(
    org_id: int, patch: OrganisationUpdate, actor: Actor, clock: Clock, settings: Settings
) -> OrganisationOut:
    """Change an organisation; deactivating it withdraws its open offers (its tokens are refused from then on)."""
    current = await _organisation_row(org_id)
    if not actor.can_manage(org_id):
        raise Forbidden("an NGO can change only its own organisation")
    if patch.active is not UNSET and not actor.is_staff:
        raise Forbidden("only the secretariat or an admin can (de)activate an organisation", field="active")
    if patch.institution_type is not UNSET:
        check_kind(current["kind"], patch.institution_type)
    if isinstance(patch.webhook_url, str):
        await check_webhook_url(patch.webhook_url, settings)
    network_ids = None
    if patch.networks is not UNSET:
        if not actor.is_staff and set(patch.networks) != set(load(current["networks"], list[str])):
            # Membership decides which secretariat reviews the organisation: the secretariat's to change.
            raise Forbidden("only the secretariat or an admin can change an organisation's networks", field="networks")
        membership.check_change(actor, load(current["networks"], list[str]), list(patch.networks))
        network_ids = await networks.network_ids(dict.fromkeys(patch.networks), "networks")
    values: dict[Any, Any] = {}
    for name in patch.__struct_fields__:
        value = getattr(patch, name)
        if value is UNSET or name == "networks":
            continue
        values[getattr(Organisation, name)] = dumps(value) if name in ("aliases", "places") else value
    if values or network_ids is not None:
        now = values[Organisation.updated_at] = clock.now()
        async with write_transaction():
            await Organisation.update(values).where(Organisation.id == org_id)
            if network_ids is not None:
                await networks.set_memberships(org_id, list(network_ids), network_ids)
            await counters.bump(counters.DIRECTORY)
            if patch.active is False and current["active"]:
                await withdraw_organisation(org_id, now, settings, actor.label)
            if patch.active is not UNSET and patch.active != current["active"]:
                await counters.bump(counters.ACCESS)  # its tokens: refused (or accepted) by every instance
        token_cache.forget_everywhere()
    return await get_organisation(org_id)


# ---- services ----------------------------------------------------------------------------------


async def _service_row(service_id: int) -> dict[str, Any]:
    row = await Service.select(*SERVICE_COLUMNS).where(Service.id == service_id).first()
    if row is None:
        raise NotFound(f"service {service_id} not found", field="id")
    return row


async def get_service(service_id: int, actor: Actor) -> ServiceOut:
    """One service with its sites; an inactive one, or one of a deactivated organisation, only for those who manage it."""
    rows = with_sites(await sql.fetch(SERVICE_SQL, service_id))
    if not rows or not (rows[0][0]["active"] and rows[0][0]["organisation.active"]) and not actor.can_manage(rows[0][0]["organisation"]):
        raise NotFound(f"service {service_id} not found", field="id")
    return service_out(*rows[0], actor)


async def _insert_sites(service_id: int, sites: list[dict[str, Any]]) -> None:
    if sites:
        await Site.insert(*[Site(service=service_id, **s) for s in sites])


async def create_service(org_id: int, data: ServiceCreate, actor: Actor, clock: Clock) -> ServiceOut:
    org = await _organisation_row(org_id)
    if org["kind"] != "provider":
        raise Conflict("an institution refers people and offers no services", field="organisation")
    if not actor.can_manage(org_id):
        raise Forbidden("an NGO can add services only to its own organisation")
    check_service(data.eligibility, data.capacity)
    sites = resolve_sites(data.sites)
    now = clock.now()
    cap = data.capacity
    async with write_transaction():
        rows = await Service.insert(
            Service(
                organisation=org_id,
                type=data.type,
                name=data.name,
                description=data.description,
                licence=data.licence,
                eligibility=dumps(data.eligibility),
                area_national=data.service_area.national,
                area_counties=dumps(sorted(set(data.service_area.counties))),
                capacity_unit=cap.unit if cap else None,
                **places.initial(cap, now),
                active=data.active,
                sources=dumps(data.sources),
                created_at=now,
                updated_at=now,
            )
        ).returning(Service.id)
        service_id = rows[0]["id"]
        await _insert_sites(service_id, sites)
        await lookup.reindex(service_id)
        await counters.bump(counters.DIRECTORY)
    return await get_service(service_id, actor)


async def update_service(service_id: int, patch: ServiceUpdate, actor: Actor, clock: Clock) -> ServiceOut:
    row = await _service_row(service_id)
    if not actor.can_manage(row["organisation"]):
        raise Forbidden("an NGO can change only its own services")
    eligibility = patch.eligibility if patch.eligibility is not UNSET else eligibility_of(row)
    check_service(eligibility, None)
    sites: list[SiteIn] | None = patch.sites if patch.sites is not UNSET else None
    resolved = resolve_sites(sites) if sites is not None else None
    values: dict[Any, Any] = {}
    for name in ("type", "name", "description", "licence", "capacity_unit", "active"):
        value = getattr(patch, name)
        if value is not UNSET:
            values[getattr(Service, name)] = value
    if patch.eligibility is not UNSET:
        values[Service.eligibility] = dumps(patch.eligibility)
    if patch.service_area is not UNSET:
        values[Service.area_national] = patch.service_area.national
        values[Service.area_counties] = dumps(sorted(set(patch.service_area.counties)))
    async with write_transaction():
        values[Service.updated_at] = clock.now()
        await Service.update(values).where(Service.id == service_id)
        if resolved is not None:
            await Site.delete().where(Site.service == service_id)
            await _insert_sites(service_id, resolved)
        if resolved is not None or patch.eligibility is not UNSET or patch.service_area is not UNSET:
            await lookup.reindex(service_id)
        await counters.bump(counters.DIRECTORY)
    return await get_service(service_id, actor)
