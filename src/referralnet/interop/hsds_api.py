"""The HSDS read API's data: compiled objects the caller may see, filtered and paged as HSDS 3.0 says.

Confidential sites never carry an address or coordinates here, whatever the role (the export
mapping withholds them); inactive records are shown only to those who manage them, as in the
directory API.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from referralnet.accounts.schemas import Actor
from referralnet.errors import NotFound
from referralnet.interop.hsds_compiled import clean, compile_all
from referralnet.interop.hsds_export import build_tables
from referralnet.interop.schemas import HsdsPage
from referralnet.interop.services import directory_rows
from referralnet.interop.taxonomy import taxonomy_rows, term_id, term_key, term_rows, uid
from referralnet.vocabulary.geo import fold


def page_of(items: list[dict[str, Any]], page: int, per_page: int) -> HsdsPage:
    """One page; a page past the end is empty (``empty`` true) and still reports the totals."""
    total = len(items)
    pages = math.ceil(total / per_page)
    contents = items[(page - 1) * per_page : page * per_page]
    return HsdsPage(
        total_items=total,
        total_pages=pages,
        page_number=page,
        size=len(contents),
        first_page=page == 1,
        last_page=page >= pages,
        empty=not contents,
        contents=contents,
    )


async def visible(actor: Actor) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Compiled services and organizations the actor may read."""
    orgs, services, sites = await directory_rows()
    tables = build_tables(orgs, services, sites)
    compiled_services, compiled_orgs = compile_all(tables)
    org_db = {uid("organization", o["slug"]): o for o in orgs}

    def org_ok(hsds_id: str) -> bool:
        row = org_db[hsds_id]
        return bool(row["active"]) or actor.can_manage(row["id"])

    shown_services = [
        s for s in compiled_services
        if org_ok(s["organization_id"]) and (s["status"] == "active" or actor.can_manage(org_db[s["organization_id"]]["id"]))
    ]  # fmt: skip
    return shown_services, [o for o in compiled_orgs if org_ok(o["id"])]


def _matches(obj: dict[str, Any], needle: str) -> bool:
    return any(needle in fold(str(obj.get(k) or "")) for k in ("name", "alternate_name", "description"))


def search_organizations(orgs: list[dict[str, Any]], search: str) -> list[dict[str, Any]]:
    needle = fold(search)
    return [o for o in orgs if _matches(o, needle)]


def _english(term: str) -> str:
    """A term id in either language -> the English term's id (the one attributes point to)."""
    key = term_key().get(term)
    return term_id(*key) if key else term


def filter_services(
    services: list[dict[str, Any]],
    *,
    search: str | None,
    taxonomy_term_id: str | None,
    organization_id: str | None,
    modified_after: dt.datetime | None,
) -> list[dict[str, Any]]:
    out = services
    if search and search.strip():
        needle = fold(search)
        out = [s for s in out if _matches(s, needle) or _matches(s["organization"], needle)]
    if taxonomy_term_id:
        wanted = _english(taxonomy_term_id)
        out = [s for s in out if any(a["taxonomy_term_id"] == wanted for a in s["attributes"])]
    if organization_id:
        out = [s for s in out if s["organization_id"] == organization_id]
    if modified_after is not None:
        after = modified_after if modified_after.tzinfo else modified_after.replace(tzinfo=dt.timezone.utc)
        out = [s for s in out if "last_modified" in s and dt.datetime.fromisoformat(s["last_modified"]) >= after.replace(microsecond=0)]
    return out


async def get_service(actor: Actor, service_id: str) -> dict[str, Any]:
    services, _ = await visible(actor)
    for service in services:
        if service["id"] == service_id:
            return service
    raise NotFound(f"service {service_id} not found", field="id")


async def get_organization(actor: Actor, organization_id: str) -> dict[str, Any]:
    services, orgs = await visible(actor)
    for org in orgs:
        if org["id"] == organization_id:
            own = [{k: v for k, v in s.items() if k != "organization"} for s in services if s["organization_id"] == organization_id]
            return {**org, "services": own}
    raise NotFound(f"organization {organization_id} not found", field="id")


def taxonomies(search: str | None) -> list[dict[str, Any]]:
    rows = [clean(t) for t in taxonomy_rows()]
    return [t for t in rows if _matches(t, fold(search))] if search and search.strip() else rows


def taxonomy_terms(search: str | None, taxonomy_id: str | None, parent_id: str | None, top_only: bool) -> list[dict[str, Any]]:
    rows = [clean(t) for t in term_rows()]
    if search and search.strip():
        rows = [t for t in rows if _matches(t, fold(search))]
    if taxonomy_id:
        rows = [t for t in rows if t["taxonomy_id"] == taxonomy_id]
    if parent_id:
        rows = [t for t in rows if t.get("parent_id") == parent_id]
    if top_only:
        rows = [t for t in rows if "parent_id" not in t]
    return rows
