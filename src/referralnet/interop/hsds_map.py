"""HSDS tables -> organisations and services of the directory (pure): what maps, what does not, bad rows.

A bad row (missing id or name, a link the import follows that points nowhere, a value of the wrong
type, a value the directory refuses) stops the whole import; it is reported with its file and line.
What merely does not map (a term outside the vocabulary, a location outside Romania, a service of
no known type) is skipped and reported. Unknown stays unknown: a location without an address gets
none, a confidential site no coordinates, a field not stated stays null.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

from referralnet.directory.schemas import OrganisationCreate, ServiceCreate
from referralnet.directory.services import slugify
from referralnet.directory.validation import check_service
from referralnet.errors import DomainError
from referralnet.interop.hsds_export import BOOL_FIELDS, LINE_24H, LIST_FIELDS, NO_DESCRIPTION, ORG_COUNTY_LINK
from referralnet.interop.hsds_read import Tables
from referralnet.interop.hsds_records import Bad, InOrg, InService, Mapped, as_float, as_int, as_time, convert
from referralnet.interop.hsds_terms import TermMap, county_of
from referralnet.vocabulary import codes, geo

LIST_OF_TAXONOMY = {taxonomy: name for name, taxonomy in LIST_FIELDS.items()}


class Mapper:
    def __init__(self, tables: Tables) -> None:
        self.t = tables
        self.out = Mapped()
        self.terms = TermMap(tables["taxonomy_term"], tables["taxonomy"])
        self.ids: dict[str, dict[str, dict[str, Any]]] = {}
        self.attrs: dict[str, list[tuple[dict[str, Any], tuple[str, str]]]] = defaultdict(list)
        self._kids: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}

    def kids(self, table: str, key: str, parent: Any) -> list[dict[str, Any]]:
        """Rows of ``table`` whose ``key`` is ``parent``, in file order (indexed once per table and key)."""
        if (table, key) not in self._kids:
            index: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for row in self.t[table]:
                index[str(row.get(key))].append(row)
            self._kids[table, key] = index
        return self._kids[table, key].get(str(parent), [])

    def bad(self, where: str, reason: str) -> None:
        self.out.bad.append((where, reason))

    def index(self) -> None:
        for name, rows in self.t.items():
            seen: dict[str, dict[str, Any]] = {}
            for row in rows:
                if row.get("id") is None:
                    self.bad(row["_where"], "id: missing")
                elif str(row["id"]) in seen:
                    self.bad(row["_where"], f"id: {row['id']} repeats {seen[str(row['id'])]['_where']}")
                else:
                    seen[str(row["id"])] = row
            self.ids[name] = seen
        linkable = {k for name in ("organization", "service", "location", "service_area") for k in self.ids[name]}
        for row in self.t["attribute"]:
            if row.get("taxonomy_term_id") is None:
                self.bad(row["_where"], "taxonomy_term_id: missing")
            elif str(row.get("link_id")) not in linkable:
                self.terms.resolve(str(row["taxonomy_term_id"]))
                self.out.skipped.append((row["_where"], f"attribute links to no organization, service, location or area ({row.get('link_id')})"))
            else:
                found = self.terms.resolve(str(row["taxonomy_term_id"]))
                if found:
                    self.attrs[str(row["link_id"])].append((row, found))
        for name, links in (("service", ("organization_id",)), ("service_at_location", ("service_id", "location_id")),
                            ("address", ("location_id",)), ("service_capacity", ("service_id",))):  # fmt: skip
            for row in self.t[name]:
                for key in links:
                    target = {"organization_id": "organization", "service_id": "service", "location_id": "location"}[key]
                    if str(row.get(key)) not in self.ids[target]:
                        self.bad(row["_where"], f"{key}: no {target} with id {row.get(key)}")

    def kept(self, table: str) -> list[dict[str, Any]]:
        """The rows of ``table`` that :meth:`index` kept: the first of each id (a repeat or a row without one is reported)."""
        return list(self.ids[table].values())

    def run(self) -> Mapped:
        # Rows are mapped even after index() found a repeated id or a dangling link, so that one reading of the
        # package reports every bad row, not only the first kind found; nothing is imported while any is bad.
        self.index()
        self.sites_of: dict[str, list[str]] = defaultdict(list)
        for sal in self.t["service_at_location"]:
            if str(sal.get("location_id")) in self.ids["location"]:  # a dangling one is reported by index()
                self.sites_of[str(sal["service_id"])].append(str(sal["location_id"]))
        linked = {loc for locs in self.sites_of.values() for loc in locs}
        services_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in self.kept("service"):
            services_of[str(row.get("organization_id"))].append(row)
        places_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for loc in self.kept("location"):
            if str(loc["id"]) not in linked and loc.get("organization_id") is not None:
                places_of[str(loc["organization_id"])].append(loc)
        for row in self.kept("organization"):
            org = None
            try:
                org = self.organisation(row, places_of[str(row["id"])])
            except Bad as exc:
                self.bad(exc.where, exc.reason)
            for svc in services_of[str(row["id"])]:
                if org is not None and org.data.kind == "institution":
                    self.out.skipped.append((svc["_where"], "a service of a referring institution (institutions offer none): not imported"))
                    continue
                try:
                    mapped = self.service(svc)  # mapped even under a bad organisation, to report every bad row
                except Bad as exc:
                    self.bad(exc.where, exc.reason)
                    continue
                if mapped is not None and org is not None:
                    org.services.append(mapped)
            if org is not None:
                self.out.orgs.append(org)
        self.terms.resolve_unused()
        self.out.unmapped = dict(sorted(self.terms.unmapped.items()))
        return self.out

    # ---- organisations --------------------------------------------------------------------------

    def organisation(self, row: dict[str, Any], place_rows: list[dict[str, Any]]) -> InOrg:
        if not row.get("name"):
            raise Bad(row["_where"], "name: missing")
        slug = next((str(i["identifier"]) for i in self.kids("organization_identifier", "organization_id", row["id"])
                     if i.get("identifier_scheme") == "referralnet"
                     and i.get("identifier_type") == "slug"), None)  # fmt: skip
        values: dict[str, Any] = {
            "name": row["name"], "short_name": row.get("alternate_name"), "slug": slug or slugify(row.get("alternate_name") or row["name"]),
            "website": row.get("website"), "referral_email": row.get("email"),
            "description": None if row.get("description") == NO_DESCRIPTION else row.get("description"),
            "aliases": [], "networks": [], "places": [],
        }  # fmt: skip
        fictional = False
        for attr, (tax, code) in self.attrs[str(row["id"])]:
            if tax == "legal_form":
                values["legal_form"] = code
            elif tax == "network":
                values["networks"].append(code)
            elif (tax, code) == ("rule", "alias") and attr.get("value"):
                values["aliases"].append(attr["value"])
            elif (tax, code) == ("rule", "fictional"):
                fictional = attr.get("value") == "true"
            elif (tax, code) == ("rule", "organisation_inactive"):
                values["active"] = False
            elif tax == "institution_type":
                values.update(kind="institution", institution_type=code)
            elif tax == "county" and attr.get("link_type") == ORG_COUNTY_LINK:
                values.update(county=code, city=attr.get("value"))
            elif (tax, code) == ("rule", "city_inferred"):
                values["city_inferred"] = attr.get("value") == "true"
            else:
                self.out.skipped.append((attr["_where"], f"{tax}.{code} does not apply to an organization"))
        if "legal_form" not in values and row.get("legal_status"):
            legal = [c for c, (en, ro) in codes.LEGAL_FORMS.items() if geo.fold(row["legal_status"]) in (geo.fold(en), geo.fold(ro))]
            values["legal_form"] = legal[0] if len(legal) == 1 else None
        self.phones(row, values)
        for loc in place_rows:
            county, locality = self.where_is(loc)
            if county is None:
                self.out.skipped.append((loc["_where"], "location in no Romanian county: not imported"))
            else:
                values["places"].append({"county": county, "locality": locality})
        data = convert(row["_where"], {k: v for k, v in values.items() if v is not None}, OrganisationCreate)
        return InOrg(where=row["_where"], data=data, fictional=fictional, slug_stated=slug is not None)

    def phones(self, row: dict[str, Any], values: dict[str, Any]) -> None:
        """The organisation's own lines (not a service's, a location's or a contact's): 24-hour line and referral line."""
        links = ("service_id", "location_id", "contact_id", "service_at_location_id")
        for phone in self.kids("phone", "organization_id", row["id"]):
            if any(phone.get(k) for k in links) or not phone.get("number"):
                continue
            key = "phone_24h" if phone.get("description") == LINE_24H else "referral_phone"
            number = str(phone["number"])
            if values.get(key) is not None:
                self.out.skipped.append((phone["_where"], f"another {key.replace('_', ' ')}: not imported"))
            elif not re.fullmatch(r"\+?[0-9][0-9 ()./-]{2,39}", number):
                self.out.skipped.append((phone["_where"], f"phone number {number!r} is not digits, spaces and + ( ) . / -: not imported"))
            else:
                values[key] = number

    def where_is(self, loc: dict[str, Any]) -> tuple[str | None, str | None]:
        """County and locality of a location: our county attribute, else its address (Romania only)."""
        for attr, (tax, code) in self.attrs[str(loc["id"])]:
            if tax == "county":
                return code, self.locality(code, attr.get("value"), attr["_where"])
        for address in self.kids("address", "location_id", loc["id"]):
            if (address.get("country") or "RO").upper() not in ("RO", "ROU"):
                continue
            county = county_of(address.get("state_province")) or county_of(address.get("region"))
            if county is None and county_of(address.get("city")) == "RO-B":
                county = "RO-B"
            if county:
                return county, self.locality(county, address.get("city"), address["_where"])
        return None, None

    def locality(self, county: str, name: str | None, where: str) -> str | None:
        if not name:
            return None
        found = geo.find_locality(county, name)
        if found is None:
            self.out.skipped.append((where, f"locality {name!r} not found in {county}: left unknown"))
            return None
        return found.name

    # ---- services -------------------------------------------------------------------------------

    def service(self, row: dict[str, Any]) -> InService | None:
        if not row.get("name"):
            raise Bad(row["_where"], "name: missing")
        sid = str(row["id"])
        status = row.get("status") or "active"
        if status not in ("active", "inactive", "defunct", "temporarily closed"):
            raise Bad(row["_where"], f"status: not an HSDS status: {status!r}")
        elig: dict[str, Any] = {
            "age_min": as_int(row, "minimum_age", 0, 120), "age_max": as_int(row, "maximum_age", 0, 120), "excludes": [], "requires": []
        }
        types: list[str] = []
        for attr, (tax, code) in self.attrs[sid]:
            link = attr.get("link_type")
            if tax == "service_type":
                types.append(code)
            elif tax == "rule" and code in LIST_FIELDS:
                elig[code] = elig.get(code) or []
            elif tax == "rule" and code in BOOL_FIELDS:
                if attr.get("value") not in ("true", "false"):
                    raise Bad(attr["_where"], f"value: {code} must be true or false, not {attr.get('value')!r}")
                elig[code] = attr["value"] == "true"
            elif tax == "rule" and code in ("age_min", "age_max"):
                elig[code] = as_int(attr, "value", 0, 120)
            elif tax in LIST_OF_TAXONOMY:
                values = elig.get(LIST_OF_TAXONOMY[tax]) or []
                elig[LIST_OF_TAXONOMY[tax]] = values + ([code] if code not in values else [])
            elif tax == "condition" and link in ("excludes", "requires"):
                elig[link].append(code)
            else:
                self.out.skipped.append((attr["_where"], f"{tax}.{code} (link_type {link!r}) does not apply to a service"))
        if not types:
            self.out.skipped.append((row["_where"], f"service {row['name']!r}: no service type of the vocabulary; not imported"))
            return None
        if len(set(types)) > 1:
            self.out.skipped.append((row["_where"], f"several service types {types}: {types[0]} used"))
        if elig.get("languages") is None:
            langs = [str(r["code"]) for r in self.kids("language", "service_id", sid) if r.get("code") in codes.LANGUAGES]
            elig["languages"] = list(dict.fromkeys(langs)) or None
        area = self.area(sid)
        sites = [self.site(self.ids["location"][loc]) for loc in self.sites_of[sid]]
        capacity, capas_time = self.capacity(sid)
        values = {
            "type": types[0], "name": row["name"], "description": row.get("description"), "licence": row.get("licenses"),
            "eligibility": {k: v for k, v in elig.items() if v is not None}, "service_area": area,
            "active": status == "active", "capacity": capacity,
        }  # fmt: skip
        data = convert(row["_where"], {k: v for k, v in values.items() if v is not None}, ServiceCreate)
        try:
            check_service(data.eligibility, data.capacity)
        except DomainError as exc:
            raise Bad(row["_where"], f"{exc.field}: {exc.detail}") from None
        return InService(row["_where"], row["name"], types[0], data, [s for s in sites if s], as_time(row, "last_modified"), capas_time)

    def area(self, sid: str) -> dict[str, Any]:
        out: dict[str, Any] = {"counties": [], "national": False}
        for row in self.kids("service_area", "service_id", sid):
            attrs = self.attrs[str(row["id"])]
            county = next((code for _, (tax, code) in attrs if tax == "county"), None) or county_of(row.get("name"))
            if any(key == ("rule", "national") for _, key in attrs) or geo.fold(row.get("name") or "") in ("romania", "national"):
                out["national"] = True
            elif county:
                out["counties"].append(county)
            else:
                self.out.skipped.append((row["_where"], f"service area {row.get('name')!r}: no Romanian county; not imported"))
        return out

    def site(self, loc: dict[str, Any]) -> dict[str, Any] | None:
        county, locality = self.where_is(loc)
        if county is None:
            self.out.skipped.append((loc["_where"], f"location {loc.get('name')!r} in no Romanian county: not imported as a site"))
            return None
        confidential = any(key == ("rule", "confidential_site") for _, key in self.attrs[str(loc["id"])])
        lat, lon = as_float(loc, "latitude"), as_float(loc, "longitude")
        if (lat is None) != (lon is None):
            raise Bad(loc["_where"], "latitude/longitude: give both or neither")
        if lat is not None and not (43.5 <= lat <= 48.5 and 20.0 <= float(lon or 0) <= 30.0):
            raise Bad(loc["_where"], f"latitude/longitude: ({lat}, {lon}) is outside Romania")
        address = None
        for row in self.kids("address", "location_id", loc["id"]):
            if row.get("address_1"):
                address = ", ".join(str(p) for p in (row["address_1"], row.get("address_2")) if p)
                break
        if address is not None and len(address) > 500:
            raise Bad(loc["_where"], "address: longer than 500 characters")
        return {"county": county, "locality": locality, "address": address, "lat": lat, "lon": lon, "confidential": confidential}

    def capacity(self, sid: str) -> tuple[dict[str, Any] | None, dt.datetime | None]:
        rows = self.kids("service_capacity", "service_id", sid)
        if not rows:
            return None, None
        row = rows[0]
        unit_row = self.ids["unit"].get(str(row.get("unit_id"))) or {}
        unit = unit_row.get("identifier") if unit_row.get("scheme") == "referralnet" else None
        if unit not in codes.CAPACITY_UNITS:
            names = [c for c, (en, ro) in codes.CAPACITY_UNITS.items() if geo.fold(str(unit_row.get("name"))) in (geo.fold(en), geo.fold(ro), c)]
            unit = names[0] if len(names) == 1 else None
        if unit is None:
            self.out.skipped.append((row["_where"], f"capacity unit {unit_row.get('name')!r} is not in the vocabulary: capacity not imported"))
            return None, None
        available, total = as_int(row, "available"), as_int(row, "maximum")
        return {"unit": unit, "available": available, "total": total}, as_time(row, "updated")


def map_tables(tables: Tables) -> Mapped:
    """Organisations and services the tables describe, with bad rows, skipped rows and unmapped terms."""
    return Mapper(tables).run()

