"""The directory as HSDS 3.0 tables (and the 3.1 draft's ``service_capacity``/``unit``): pure mapping.

Input: organisation, service and site rows as the database returns them. A confidential site
never yields a street address or coordinates, only its county and locality, and its location's
``description`` says so. Webhook settings, sources and capacity history are never exported.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from referralnet.directory.views import decode_strings, eligibility_of
from referralnet.interop.taxonomy import term_id, uid
from referralnet.jsoncol import load
from referralnet.vocabulary import codes
from referralnet.vocabulary.geo import counties

CONFIDENTIAL_NOTE = (
    "Confidential site: only its county and locality are published; "
    "the street address and coordinates are never exported."
)
PLACE_NOTE = "Where the organisation is stated to work (city or county level; not an address)."
NO_DESCRIPTION = "No description stated."
REFERRAL_LINE = "Referral line"
LINE_24H = "24-hour line"
NO_POSTAL_CODE = "n/a"  # HSDS requires a postal code; the directory does not hold one.
LIST_FIELDS = {
    "genders": "gender",
    "nationality_groups": "nationality_group",
    "victim_statuses": "victim_status",
    "exploitation_forms": "exploitation_form",
    "languages": "language",
    "accessibility": "accessibility",
}
BOOL_FIELDS = ("accepts_children", "interpretation_available")
CONDITION_FIELDS = ("excludes", "requires")
ORG_COUNTY_LINK = "organisation_county"  # an institution's own county (and city as the value)
TABLES_30 = (
    "organization", "program", "service", "attribute", "service_at_location", "location", "phone", "contact",
    "address", "schedule", "funding", "service_area", "required_document", "language", "accessibility",
    "taxonomy_term", "metadata", "meta_table_description", "cost_option", "organization_identifier", "taxonomy",
)  # fmt: skip
TABLES_31 = ("service_capacity", "unit")


def timestamp(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC to the second (what HSDS readers parse everywhere)."""
    if value is None:
        return None
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Builder:
    """Accumulates HSDS rows per table; ids come from natural keys, so output is deterministic."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.tables: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def attribute(self, entity: str, link_id: str, taxonomy: str, code: str, link_type: str, value: str | None = None) -> None:
        tid = term_id(taxonomy, code)
        self.tables["attribute"].append(
            {
                "id": uid("attribute", link_id, tid, link_type, value or ""),
                "link_id": link_id,
                "taxonomy_term_id": tid,
                "link_type": link_type,
                "link_entity": entity,
                "value": value,
            }
        )

    def organisation(self, row: dict[str, Any]) -> str:
        oid = uid("organization", row["slug"])
        legal = row["legal_form"]
        self.tables["organization"].append(
            {
                "id": oid,
                "name": row["name"],
                "alternate_name": row["short_name"],
                "description": row["description"] or NO_DESCRIPTION,
                "email": row["referral_email"],
                "website": row["website"],
                "legal_status": codes.LEGAL_FORMS[legal][0] if legal else None,
            }
        )
        self.tables["organization_identifier"].append(
            {"id": uid("organization_identifier", row["slug"]), "organization_id": oid, "identifier_scheme": "referralnet",
             "identifier_type": "slug", "identifier": row["slug"]}  # fmt: skip
        )
        if legal:
            self.attribute("organization", oid, "legal_form", legal, "legal_form")
        for network in decode_strings(row["networks"]):
            # The taxonomy's terms are the vocabulary's networks; one an admin added since has no term to point to.
            if network in codes.NETWORKS:
                self.attribute("organization", oid, "network", network, "networks")
        for alias in decode_strings(row["aliases"]):
            self.attribute("organization", oid, "rule", "alias", "aliases", alias)
        if row["fictional"]:
            self.attribute("organization", oid, "rule", "fictional", "fictional", "true")
        if not row["active"]:
            self.attribute("organization", oid, "rule", "organisation_inactive", "active", "false")
        if row["kind"] == "institution" and row["institution_type"]:
            self.attribute("organization", oid, "institution_type", row["institution_type"], "institution_type")
        if row["county"]:
            self.attribute("organization", oid, "county", row["county"], ORG_COUNTY_LINK, row["city"])
        if row["city_inferred"]:
            self.attribute("organization", oid, "rule", "city_inferred", "city_inferred", "true")
        for key, number, label in (("referral", row["referral_phone"], REFERRAL_LINE), ("24h", row["phone_24h"], LINE_24H)):
            if number:
                self.tables["phone"].append(
                    {"id": uid("phone", row["slug"], key), "organization_id": oid, "number": number, "type": "voice", "description": label}
                )
        places = row["places"]
        for j, place in enumerate(_decode_places(places), start=1):
            lid = uid("place", row["slug"], j)
            self.tables["location"].append(
                {"id": lid, "location_type": "physical", "organization_id": oid,
                 "name": place["locality"] or counties()[place["county"]].name, "description": PLACE_NOTE}  # fmt: skip
            )
            self.attribute("location", lid, "county", place["county"], "county", place["locality"])
        return oid

    def service(self, row: dict[str, Any], key: str, org_id: str, sites: list[dict[str, Any]]) -> None:
        sid = uid("service", key)
        elig = eligibility_of(row)
        self.tables["service"].append(
            {
                "id": sid,
                "organization_id": org_id,
                "name": row["name"],
                "description": row["description"],
                "status": "active" if row["active"] else "inactive",
                "interpretation_services": _interpretation(elig.interpretation_available),
                "eligibility_description": eligibility_text(elig),
                "minimum_age": elig.age_min,
                "maximum_age": elig.age_max,
                "licenses": row["licence"],
                "last_modified": timestamp(row["updated_at"]),
            }
        )
        self.attribute("service", sid, "service_type", row["type"], "service_type")
        for field in ("age_min", "age_max"):
            value = getattr(elig, field)
            if value is not None:
                self.attribute("service", sid, "rule", field, "eligibility", str(value))
        for field, taxonomy in LIST_FIELDS.items():
            values = getattr(elig, field)
            if values is None:
                continue
            self.attribute("service", sid, "rule", field, "eligibility", "stated")
            for code in values:
                self.attribute("service", sid, taxonomy, code, field)
        for field in BOOL_FIELDS:
            value = getattr(elig, field)
            if value is not None:
                self.attribute("service", sid, "rule", field, "eligibility", "true" if value else "false")
        for field in CONDITION_FIELDS:
            for code in getattr(elig, field):
                self.attribute("service", sid, "condition", code, field)
        for code in elig.languages or []:
            self.tables["language"].append(
                {"id": uid("language", key, code), "service_id": sid, "name": codes.LANGUAGES[code][0], "code": code}
            )
        if row["area_national"]:
            aid = uid("service_area", key, "national")
            self.tables["service_area"].append({"id": aid, "service_id": sid, "name": "România", "description": "Works nationally"})
            self.attribute("service_area", aid, "rule", "national", "area", "true")
        for county in decode_strings(row["area_counties"]):
            aid = uid("service_area", key, county)
            self.tables["service_area"].append({"id": aid, "service_id": sid, "name": counties()[county].name})
            self.attribute("service_area", aid, "county", county, "county")
        for j, site in enumerate(sites, start=1):
            self._site(site, f"{key}:{j}", sid, org_id, row["name"])
        if self.version == "3.1" and row["capacity_unit"] and row["capacity_available"] is not None:
            unit = row["capacity_unit"]
            self.tables["service_capacity"].append(
                {
                    "id": uid("service_capacity", key),
                    "service_id": sid,
                    "unit_id": uid("unit", unit),
                    "available": row["capacity_available"],
                    "maximum": row["capacity_total"],
                    "updated": timestamp(row["capacity_updated_at"]),
                }
            )

    def _site(self, site: dict[str, Any], key: str, sid: str, org_id: str, service_name: str) -> None:
        lid = uid("location", key)
        hidden = bool(site["confidential"])
        where = site["locality"] or counties()[site["county"]].name
        self.tables["location"].append(
            {
                "id": lid,
                "location_type": "physical",
                "organization_id": org_id,
                "name": f"{service_name} ({where})",
                "description": CONFIDENTIAL_NOTE if hidden else None,
                "latitude": None if hidden else site["lat"],
                "longitude": None if hidden else site["lon"],
            }
        )
        self.tables["service_at_location"].append({"id": uid("service_at_location", key), "service_id": sid, "location_id": lid})
        self.attribute("location", lid, "county", site["county"], "county", site["locality"])
        if hidden:
            self.attribute("location", lid, "rule", "confidential_site", "confidential", "true")
        elif site["address"]:
            self.tables["address"].append(
                {
                    "id": uid("address", key),
                    "location_id": lid,
                    "address_1": site["address"],
                    "city": site["locality"] or "",
                    "state_province": counties()[site["county"]].name,
                    "postal_code": NO_POSTAL_CODE,
                    "country": "RO",
                    "address_type": "physical",
                }
            )

    def finish(self) -> dict[str, list[dict[str, Any]]]:
        from referralnet.interop.taxonomy import taxonomy_rows, term_rows

        self.tables["taxonomy"] = list(taxonomy_rows())
        self.tables["taxonomy_term"] = list(term_rows())
        if self.version == "3.1":
            self.tables["unit"] = [
                {"id": uid("unit", code), "name": en, "scheme": "referralnet", "identifier": code}
                for code, (en, _) in codes.CAPACITY_UNITS.items()
            ]
        names = TABLES_30 + (TABLES_31 if self.version == "3.1" else ())
        return {name: self.tables.get(name, []) for name in names}


def _decode_places(value: Any) -> list[dict[str, Any]]:
    return list(load(value))


def _interpretation(value: bool | None) -> str | None:
    if value is None:
        return None
    return "Interpretation available" if value else "No interpretation"


def eligibility_text(elig: Any) -> str | None:
    """A readable summary of the stated eligibility (English); ``None`` when nothing is stated."""
    parts: list[str] = []
    if elig.age_min is not None or elig.age_max is not None:
        low = elig.age_min if elig.age_min is not None else 0
        parts.append(f"ages {low}-{elig.age_max}" if elig.age_max is not None else f"ages {low}+")
    labels = {"genders": codes.GENDERS, "nationality_groups": codes.NATIONALITY_GROUPS, "victim_statuses": codes.VICTIM_STATUSES,
              "exploitation_forms": codes.EXPLOITATION_FORMS, "languages": codes.LANGUAGES, "accessibility": codes.ACCESSIBILITY}  # fmt: skip
    for field, table in labels.items():
        values = getattr(elig, field)
        if values is not None:
            parts.append(f"{field.replace('_', ' ')}: " + (", ".join(table[v][0] for v in values) or "none"))
    if elig.accepts_children is not None:
        parts.append("accepts accompanying children" if elig.accepts_children else "no accompanying children")
    for field in CONDITION_FIELDS:
        values = getattr(elig, field)
        if values:
            parts.append(f"{field}: " + ", ".join(codes.CONDITION_FLAGS[v][0] for v in values))
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] if parts else None


def build_tables(
    orgs: Iterable[dict[str, Any]], services: Iterable[dict[str, Any]], sites: Iterable[dict[str, Any]], *, version: str = "3.0"
) -> dict[str, list[dict[str, Any]]]:
    """HSDS tables of the given directory rows (organisations by slug, services and sites by id)."""
    builder = Builder(version)
    by_org: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for service in sorted(services, key=lambda r: r["id"]):
        by_org[service["organisation"]].append(service)
    by_service: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for site in sorted(sites, key=lambda r: r["id"]):
        by_service[site["service"]].append(site)
    for org in sorted(orgs, key=lambda r: r["slug"]):
        oid = builder.organisation(org)
        for k, service in enumerate(by_org[org["id"]], start=1):
            builder.service(service, f"{org['slug']}:{k}", oid, by_service[service["id"]])
    return builder.finish()
