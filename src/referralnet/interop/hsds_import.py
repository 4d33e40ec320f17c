"""``referralnet import hsds``: plan (create/merge/skip), likely duplicates, one write transaction.

An incoming organisation is a likely duplicate of an existing one (or of one created earlier in the
same input) with the same slug, or with a name (or short name) at least ``DUPLICATE_THRESHOLD``
similar once diacritics and case are folded (rapidfuzz ``token_sort_ratio``) and a county in common;
where either states no county, only the same folded name counts. Without ``merge`` such organisations are
skipped, with their services; with it they are merged: unknown fields are filled, lists united,
new services and sites added. Nothing stated in the directory is overwritten (live capacity
belongs to the NGO). Everything is written in one transaction, or nothing (bad rows, dry run).

Ids: HSDS ids are not stored. Our export derives them from the organisation's slug (kept through
``organization_identifier``) and the order of services and sites, which the import keeps, so an
export imported into an empty database exports to identical files.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from rapidfuzz import fuzz

from referralnet import counters
from referralnet.clock import Clock
from referralnet.db import write_transaction
from referralnet.directory import lookup, networks, places
from referralnet.directory.views import decode_strings, dumps, eligibility_of
from referralnet.interop.hsds_map import map_tables
from referralnet.interop.hsds_read import read_input
from referralnet.interop.hsds_records import InOrg, InService, Mapped
from referralnet.tables import Organisation, Service, Site
from referralnet.vocabulary.geo import fold

DUPLICATE_THRESHOLD = 90.0
Progress = Callable[[float, str], None]


@dataclass
class Step:
    action: str  # create, merge, skip
    incoming: InOrg
    target: dict[str, Any] | None = None
    reason: str = ""
    services: list[tuple[str, InService, dict[str, Any] | None]] = field(default_factory=list)
    created_id: int | None = None


@dataclass
class Plan:
    source: str
    mapped: Mapped
    steps: list[Step] = field(default_factory=list)
    applied: bool = False

    @property
    def duplicates_held(self) -> int:
        return sum(1 for s in self.steps if s.action == "skip" and s.target is not None)

    def count(self, action: str) -> tuple[int, int]:
        orgs = sum(1 for s in self.steps if s.action == action)
        services = sum(1 for s in self.steps for a, _, _ in s.services if a == action)
        return orgs, services


def _similar(a: str, b: str) -> float:
    """Similarity of folded names; names whose numbers differ ("Centrul 1", "Centrul 11") are different."""
    a, b = fold(a), fold(b)
    if re.findall(r"\d+", a) != re.findall(r"\d+", b):
        return 0.0
    return fuzz.token_sort_ratio(a, b)


async def _existing() -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    orgs = await Organisation.select(Organisation.id, Organisation.slug, Organisation.name, Organisation.short_name,
                                     Organisation.county, Organisation.places, Organisation.kind)  # fmt: skip
    services = await Service.select(Service.id, Service.organisation, Service.type, Service.name, Service.area_counties).order_by(Service.id)
    sites = await Site.select(Site.service, Site.county)
    site_counties: dict[int, set[str]] = defaultdict(set)
    for s in sites:
        site_counties[s["service"]].add(s["county"])
    by_org: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for svc in services:
        svc["counties"] = set(decode_strings(svc["area_counties"])) | site_counties[svc["id"]]
        by_org[svc["organisation"]].append(svc)
    for org in orgs:
        stated = msgspec.json.decode(org["places"]) if isinstance(org["places"], (str, bytes)) else org["places"]
        org["counties"] = {p["county"] for p in stated} | ({org["county"]} if org["county"] else set())
        org["counties"] |= {c for svc in by_org[org["id"]] for c in svc["counties"]}
    return orgs, by_org


def _twin(incoming: InOrg, orgs: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    for org in orgs:
        if incoming.slug_stated and org["slug"] == incoming.data.slug:
            return org, f"same slug {org['slug']!r}"
    best, score = None, 0.0
    names = [n for n in (incoming.data.name, incoming.data.short_name) if n]
    for org in orgs:
        # Where either side states no county, only the same name (once folded) counts.
        unknown = not (incoming.counties and org["counties"])
        if not unknown and not incoming.counties & org["counties"]:
            continue
        theirs = [n for n in (org["name"], org["short_name"]) if n]
        value = max(_similar(a, b) for a in names for b in theirs)
        if value >= (100.0 if unknown else DUPLICATE_THRESHOLD) and value > score:
            best, score = org, value
    if best is None:
        return None, ""
    common = ", ".join(sorted(incoming.counties & best["counties"]))
    if not common:
        return best, f"the same name as {best['name']!r}, county not stated"
    return best, f"name {score:.0f}% similar to {best['name']!r}, same county ({common})"


def _service_twin(svc: InService, existing: list[dict[str, Any]]) -> dict[str, Any] | None:
    for row in existing:
        same_place = not (svc.counties and row["counties"]) or bool(svc.counties & row["counties"])
        if row["type"] == svc.type and same_place and _similar(row["name"], svc.name) >= DUPLICATE_THRESHOLD:
            return row
    return None


def _same_service(svc: InService, other: InService) -> bool:
    same_place = not (svc.counties and other.counties) or bool(svc.counties & other.counties)
    return svc.type == other.type and same_place and _similar(svc.name, other.name) >= DUPLICATE_THRESHOLD


def _plan_existing(incoming: InOrg, target: dict[str, Any], why: str, services: list[dict[str, Any]], merge: bool) -> Step:
    if target["kind"] != "provider" and incoming.services:
        return Step("skip", incoming, target, f"likely duplicate of institution {target['slug']} ({why}), which offers no services")
    step = Step("merge" if merge else "skip", incoming, target, why if merge else f"likely duplicate ({why}); run with --merge to merge")
    for svc in incoming.services:
        twin = _service_twin(svc, services)
        step.services.append(("skip" if not merge else "merge" if twin else "create", svc, twin))
    return step


def _plan_earlier(incoming: InOrg, target: dict[str, Any], why: str, merge: bool) -> Step:
    """A likely duplicate of an organisation created earlier in the same input: merged into it with --merge."""
    earlier: Step = target["step"]
    where = f"earlier in this input, {earlier.incoming.where}: {why}"
    step = Step("merge" if merge else "skip", incoming, target, where if merge else f"likely duplicate ({where}); run with --merge to merge")
    for svc in incoming.services:
        repeated = any(_same_service(svc, other) for _, other, _ in earlier.services)
        step.services.append(("skip" if not merge or repeated else "create", svc, None))
    return step


async def make_plan(mapped: Mapped, source: str, *, merge: bool) -> Plan:
    """What an import would do, read from the bound database (call inside the write transaction to apply).

    Each organisation is compared with the directory, then with those the same input creates before it.
    """
    plan = Plan(source=source, mapped=mapped)
    orgs, services_of = await _existing()
    created: list[dict[str, Any]] = []  # organisations this input creates, as _twin compares them
    slugs = {o["slug"] for o in orgs}
    for incoming in mapped.orgs:
        target, why = _twin(incoming, orgs)
        if target is not None:
            step = _plan_existing(incoming, target, why, services_of[target["id"]], merge)
        elif (found := _twin(incoming, [c for c in created if not (incoming.slug_stated and c["stated"])]))[0] is not None:
            step = _plan_earlier(incoming, found[0], found[1], merge)
        else:
            slug, n = incoming.data.slug or "organisation", 2
            while slug in slugs:
                slug, n = f"{incoming.data.slug}-{n}"[:63], n + 1
            incoming.data = msgspec.structs.replace(incoming.data, slug=slug)
            step = Step("create", incoming)
            step.services = [("create", svc, None) for svc in incoming.services]
            # Two organisations whose source gave each its own referralnet slug are two, by that source's word.
            created.append({"id": None, "slug": slug, "name": incoming.data.name, "short_name": incoming.data.short_name,
                            "kind": incoming.data.kind, "counties": incoming.counties, "step": step, "stated": incoming.slug_stated})  # fmt: skip
        slugs.add(incoming.data.slug or "")
        plan.steps.append(step)
    return plan


# ---- writing -----------------------------------------------------------------------------------


def _sources(plan: Plan, where: str) -> str:
    return dumps([{"ref": "HSDS import", "note": f"{plan.source}: {where}"}])


async def _create_services(org_id: int, new: list[InService], plan: Plan, now: dt.datetime) -> list[int]:
    """Insert services in one statement and their sites in another (imports of thousands stay quick)."""
    if not new:
        return []
    rows = []
    for svc in new:
        cap = svc.data.capacity
        rows.append(Service(
            organisation=org_id, type=svc.type, name=svc.data.name, description=svc.data.description, licence=svc.data.licence,
            eligibility=dumps(svc.data.eligibility), area_national=svc.data.service_area.national,
            area_counties=dumps(sorted(set(svc.data.service_area.counties))), capacity_unit=cap.unit if cap else None,
            **places.initial(cap, now, reported_at=svc.capacity_updated_at),
            active=svc.data.active, sources=_sources(plan, svc.where), created_at=now, updated_at=svc.updated_at or now,
        ))  # fmt: skip
    # Ids ascend in the order of the VALUES list on both engines; sorting them pairs each with its service.
    ids = sorted(r["id"] for r in await Service.insert(*rows).returning(Service.id))
    sites = [Site(service=sid, **site) for sid, svc in zip(ids, new, strict=True) for site in svc.sites]
    if sites:
        await Site.insert(*sites)
    return ids


async def _merge_service(row_id: int, svc: InService, now: dt.datetime) -> None:
    row = await Service.select().where(Service.id == row_id).first()
    assert row is not None
    values: dict[Any, Any] = {}
    for name in ("description", "licence"):
        if row[name] is None and getattr(svc.data, name) is not None:
            values[getattr(Service, name)] = getattr(svc.data, name)
    current, new = eligibility_of(row), svc.data.eligibility
    filled = {f: getattr(new, f) for f in current.__struct_fields__ if getattr(current, f) is None and getattr(new, f) is not None}
    filled.update({f: list(dict.fromkeys([*getattr(current, f), *getattr(new, f)])) for f in ("excludes", "requires")})
    merged = msgspec.structs.replace(current, **filled)
    if merged != current:
        values[Service.eligibility] = dumps(merged)
    counties = sorted(set(decode_strings(row["area_counties"])) | set(new_c for new_c in svc.data.service_area.counties))
    if counties != decode_strings(row["area_counties"]):
        values[Service.area_counties] = dumps(counties)
    if svc.data.service_area.national and not row["area_national"]:
        values[Service.area_national] = True
    cap = svc.data.capacity
    if cap and row["capacity_unit"] is None:
        values[Service.capacity_unit] = cap.unit
    # Only a total the directory does not know; the free places are the NGO's live figure, never imported over.
    values.update({getattr(Service, k): v for k, v in places.fill_unknown_total(row, cap).items()})
    have = {(s["county"], s["locality"], s["address"]) for s in await Site.select().where(Site.service == row_id)}
    new_sites = [s for s in svc.sites if (s["county"], s["locality"], s["address"]) not in have]
    if new_sites:
        await Site.insert(*[Site(service=row_id, **site) for site in new_sites])
    if values or new_sites:
        values[Service.updated_at] = now
        await Service.update(values).where(Service.id == row_id)


async def _merge_org(target: dict[str, Any], incoming: InOrg, now: dt.datetime) -> None:
    row = await Organisation.select().where(Organisation.id == target["id"]).first()
    assert row is not None
    data, values = incoming.data, {}
    for name in ("short_name", "legal_form", "website", "referral_email", "description", "referral_phone", "phone_24h", "county", "city"):
        if row[name] is None and getattr(data, name) is not None:
            values[getattr(Organisation, name)] = getattr(data, name)
    aliases = decode_strings(row["aliases"])
    extra = [a for a in [data.name, *data.aliases] if fold(a) != fold(row["name"]) and fold(a) not in {fold(x) for x in aliases}]
    if extra:
        values[Organisation.aliases] = dumps(aliases + list(dict.fromkeys(extra)))
    current = decode_strings(row["networks"])
    if set(data.networks) - set(current):
        await networks.set_memberships(target["id"], current + [n for n in dict.fromkeys(data.networks) if n not in current])
        values[Organisation.updated_at] = now
    stated = msgspec.json.decode(row["places"]) if isinstance(row["places"], (str, bytes)) else list(row["places"])
    have = {(p["county"], p.get("locality")) for p in stated}
    new_places = [msgspec.to_builtins(p) for p in data.places if (p.county, p.locality) not in have]
    if new_places:
        values[Organisation.places] = dumps(stated + new_places)
    if values:
        values[Organisation.updated_at] = now
        await Organisation.update(values).where(Organisation.id == target["id"])


async def _create_org(incoming: InOrg, plan: Plan, now: dt.datetime) -> int:
    d = incoming.data
    rows = await Organisation.insert(
        Organisation(
            slug=d.slug, name=d.name, short_name=d.short_name, aliases=dumps(d.aliases), legal_form=d.legal_form,
            website=d.website, referral_email=d.referral_email, description=d.description,
            places=dumps(d.places), sources=_sources(plan, incoming.where), fictional=incoming.fictional, active=d.active,
            referral_phone=d.referral_phone, phone_24h=d.phone_24h, kind=d.kind, institution_type=d.institution_type,
            county=d.county, city=d.city, city_inferred=d.city_inferred,
            created_at=now, updated_at=now,
        )  # fmt: skip
    ).returning(Organisation.id)
    await networks.set_memberships(rows[0]["id"], list(dict.fromkeys(d.networks)))
    return int(rows[0]["id"])


async def import_hsds(path: Path, clock: Clock, *, merge: bool = False, dry_run: bool = False, progress: Progress | None = None) -> Plan:
    """Read, map and (unless ``dry_run`` or a bad row) write the input in one transaction."""
    mapped = map_tables(read_input(path))
    if mapped.bad or dry_run:
        return await make_plan(mapped, path.name, merge=merge) if not mapped.bad else Plan(path.name, mapped)
    progress = progress or (lambda fraction, label: None)
    now = clock.now()
    async with write_transaction():
        plan = await make_plan(mapped, path.name, merge=merge)
        total = max(1, len(plan.steps))
        for i, step in enumerate(plan.steps):
            progress(i / total, step.incoming.data.name)
            if step.action == "skip":
                continue
            if step.action == "create":
                org_id = step.created_id = await _create_org(step.incoming, plan, now)
            else:
                assert step.target is not None
                org_id = step.target["id"] if step.target["id"] is not None else step.target["step"].created_id
                await _merge_org({**step.target, "id": org_id}, step.incoming, now)
            written = await _create_services(org_id, [svc for action, svc, _ in step.services if action == "create"], plan, now)
            for action, svc, twin in step.services:
                if action == "merge" and twin is not None:
                    await _merge_service(twin["id"], svc, now)
                    written.append(twin["id"])
            for service_id in written:  # the list filters' county and form rows, as every service write keeps them
                await lookup.reindex(service_id)
        await counters.bump(counters.DIRECTORY)  # caches (matching, search, list totals) see the import at once
        progress(1.0, "done")
        plan.applied = True
    return plan
