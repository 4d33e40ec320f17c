"""The HSDS tables of :mod:`referralnet.interop.hsds_export` as compiled JSON objects (services and
organisations with what they link to), for the JSON files and the read API.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from referralnet.interop.taxonomy import terms_by_id


def compile_all(tables: dict[str, list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Compiled ``service`` objects (with organization, locations, areas, languages, attributes) and ``organization`` objects."""
    terms = terms_by_id()
    attrs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in tables["attribute"]:
        attrs[a["link_id"]].append({**clean(a), "taxonomy_term": clean(terms[a["taxonomy_term_id"]])})

    def with_attrs(row: dict[str, Any]) -> dict[str, Any]:
        return {**clean(row), "attributes": attrs.get(row["id"], [])}

    children: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for name, parent in (
        ("organization_identifier", "organization_id"), ("phone", "organization_id"), ("service_area", "service_id"), ("language", "service_id"),
                         ("service_at_location", "service_id"), ("address", "location_id"), ("service_capacity", "service_id")):  # fmt: skip
        for row in tables.get(name, []):
            children[name][row[parent]].append(row)
    units = {u["id"]: clean(u) for u in tables.get("unit", [])}
    locations = {
        loc["id"]: {**with_attrs(loc), "addresses": [clean(a) for a in children["address"][loc["id"]]]} for loc in tables["location"]
    }
    linked = {sal["location_id"] for sal in tables["service_at_location"]}
    organizations = []
    for org in tables["organization"]:
        organizations.append(
            {
                **with_attrs(org),
                "organization_identifiers": [clean(i) for i in children["organization_identifier"][org["id"]]],
                "phones": [clean(p) for p in children["phone"][org["id"]]],
                "locations": [loc for loc in locations.values() if loc.get("organization_id") == org["id"] and loc["id"] not in linked],
            }
        )
    orgs_by_id = {o["id"]: o for o in organizations}
    services = []
    for service in tables["service"]:
        sid = service["id"]
        out = {
            **with_attrs(service),
            "organization": orgs_by_id[service["organization_id"]],
            "service_areas": [with_attrs(a) for a in children["service_area"][sid]],
            "service_at_locations": [
                {**clean(sal), "location": locations[sal["location_id"]]} for sal in children["service_at_location"][sid]
            ],
            "languages": [clean(lang) for lang in children["language"][sid]],
            "phones": [],
            "schedules": [],
        }
        if "service_capacity" in tables:
            out["capacities"] = [
                {**clean(c), "unit": units[c["unit_id"]]} for c in children["service_capacity"][sid]
            ]
        services.append(out)
    return services, organizations


def clean(row: dict[str, Any]) -> dict[str, Any]:
    """Drop unknown (null) fields: JSON readers take a missing key as unknown, and the schemas allow it."""
    return {k: v for k, v in row.items() if v is not None}
