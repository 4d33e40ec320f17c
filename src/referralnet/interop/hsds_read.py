"""Reading HSDS 3.0 input into tables of rows, each row knowing where it came from.

Two inputs: a tabular data package (a folder with ``datapackage.json`` and CSVs) or HSDS JSON
(compiled ``service`` objects, or ``organization`` or ``service_at_location`` ones, one or a list
or a paged body; a folder of our own JSON export).
Compiled objects are flattened into the same tables as the CSVs, so the mapping sees one shape.
Every row gets ``_where`` (``services.csv:3`` or ``services.json $[2].organization``) for the report.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

# Table name -> file name when a package's descriptor does not list it.
DEFAULT_PATHS = {
    "organization": "organizations.csv", "service": "services.csv", "attribute": "attributes.csv",
    "service_at_location": "service_at_location.csv", "location": "locations.csv", "address": "addresses.csv",
    "service_area": "service_areas.csv", "language": "languages.csv", "taxonomy_term": "taxonomy_terms.csv",
    "taxonomy": "taxonomies.csv", "organization_identifier": "organization_identifiers.csv", "phone": "phones.csv",
    "service_capacity": "service_capacities.csv", "unit": "units.csv",
}  # fmt: skip
TABLES = tuple(DEFAULT_PATHS)

Tables = dict[str, list[dict[str, Any]]]


class ReadError(ValueError):
    """The input cannot be read at all (no such file, not JSON, no descriptor)."""


def read_input(path: Path) -> Tables:
    """Tables of the package or JSON at ``path``."""
    if not path.exists():
        raise ReadError(f"{path}: no such file or folder")
    if path.is_dir() and (path / "datapackage.json").is_file():
        return read_package(path)
    if path.is_dir() and (path / "services.json").is_file():
        return read_json_files([p for p in (path / "services.json", path / "organizations.json") if p.is_file()])
    if path.is_file() and path.suffix == ".json":
        return read_json_files([path])
    raise ReadError(f"{path}: neither a data package folder (datapackage.json) nor HSDS JSON")


def _csv_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        start = 2
        for row in reader:
            clean = {k: (v if v != "" else None) for k, v in row.items() if k is not None}
            clean["_where"] = f"{path.name}:{start}"
            rows.append(clean)
            start = reader.line_num + 1
    return rows


def read_package(folder: Path) -> Tables:
    try:
        descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReadError(f"{folder / 'datapackage.json'}: {exc}") from exc
    paths = dict(DEFAULT_PATHS)
    for resource in descriptor.get("resources", []):
        if resource.get("name") in paths and isinstance(resource.get("path"), str):
            paths[resource["name"]] = resource["path"]
    tables: Tables = {name: [] for name in TABLES}
    for name, rel in paths.items():
        file = folder / rel
        if file.is_file():
            tables[name] = _csv_rows(file)
    return tables


# ---- compiled JSON -----------------------------------------------------------------------------


class _Flattener:
    def __init__(self) -> None:
        self.tables: Tables = {name: [] for name in TABLES}
        self.seen: set[tuple[str, str]] = set()

    def add(self, table: str, obj: dict[str, Any], where: str, **links: Any) -> bool:
        """Add the scalar fields of ``obj`` (plus ``links``) once per id; False when already there."""
        key = (table, str(obj.get("id")))
        if obj.get("id") is not None and key in self.seen:
            return False
        self.seen.add(key)
        row = {k: v for k, v in obj.items() if not isinstance(v, (dict, list))}
        row.update({k: v for k, v in links.items() if v is not None})
        row["_where"] = where
        self.tables[table].append(row)
        return True

    def attributes(self, obj: dict[str, Any], where: str, entity: str) -> None:
        for i, attr in enumerate(obj.get("attributes") or []):
            term = attr.get("taxonomy_term") or {}
            self.add("attribute", attr, f"{where}.attributes[{i}]", link_id=obj.get("id"), link_entity=attr.get("link_entity") or entity,
                     taxonomy_term_id=attr.get("taxonomy_term_id") or term.get("id"))  # fmt: skip
            if term:
                self.add("taxonomy_term", term, f"{where}.attributes[{i}].taxonomy_term")

    def location(self, loc: dict[str, Any], where: str, org_id: Any) -> None:
        if self.add("location", loc, where, organization_id=loc.get("organization_id") or org_id):
            for j, address in enumerate(loc.get("addresses") or []):
                self.add("address", address, f"{where}.addresses[{j}]", location_id=loc.get("id"))
            self.attributes(loc, where, "location")

    def organization(self, org: dict[str, Any], where: str) -> None:
        if not self.add("organization", org, where):
            return
        for i, ident in enumerate(org.get("organization_identifiers") or []):
            self.add("organization_identifier", ident, f"{where}.organization_identifiers[{i}]", organization_id=org.get("id"))
        self.attributes(org, where, "organization")
        for i, phone in enumerate(org.get("phones") or []):
            self.add("phone", phone, f"{where}.phones[{i}]", organization_id=org.get("id"))
        for i, loc in enumerate(org.get("locations") or []):
            self.location(loc, f"{where}.locations[{i}]", org.get("id"))
        for i, service in enumerate(org.get("services") or []):
            self.service(service, f"{where}.services[{i}]", org.get("id"))

    def service(self, svc: dict[str, Any], where: str, org_id: Any = None) -> None:
        org = svc.get("organization")
        if isinstance(org, dict):
            self.organization(org, f"{where}.organization")
        if not self.add("service", svc, where, organization_id=svc.get("organization_id") or (org or {}).get("id") or org_id):
            return
        sid = svc.get("id")
        self.attributes(svc, where, "service")
        for i, area in enumerate(svc.get("service_areas") or []):
            self.add("service_area", area, f"{where}.service_areas[{i}]", service_id=sid)
            self.attributes(area, f"{where}.service_areas[{i}]", "service_area")
        for i, sal in enumerate(svc.get("service_at_locations") or []):
            loc = sal.get("location") or {}
            self.add(
                "service_at_location", sal, f"{where}.service_at_locations[{i}]", service_id=sid, location_id=sal.get("location_id") or loc.get("id")
            )
            if loc:
                self.location(loc, f"{where}.service_at_locations[{i}].location", None)
        for i, lang in enumerate(svc.get("languages") or []):
            self.add("language", lang, f"{where}.languages[{i}]", service_id=sid)
        for i, cap in enumerate(svc.get("capacities") or []):
            unit = cap.get("unit") or {}
            self.add("service_capacity", cap, f"{where}.capacities[{i}]", service_id=sid, unit_id=cap.get("unit_id") or unit.get("id"))
            if unit:
                self.add("unit", unit, f"{where}.capacities[{i}].unit")


def read_json_files(paths: list[Path]) -> Tables:
    flat = _Flattener()
    for path in paths:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ReadError(f"{path}: {exc}") from exc
        if isinstance(data, dict) and isinstance(data.get("contents"), list):
            data = data["contents"]  # a paged API body
        items = data if isinstance(data, list) else [data]
        for i, obj in enumerate(items):
            where = f"{path.name} $[{i}]" if isinstance(data, list) else f"{path.name} $"
            if not isinstance(obj, dict):
                raise ReadError(f"{where}: not an object")
            # A compiled organization has no organization_id and may list services; a service has both;
            # a service_at_location holds its service and its location.
            if isinstance(obj.get("service"), dict):
                sal = {k: v for k, v in obj.items() if k != "service"}
                sals = [*(obj["service"].get("service_at_locations") or []), sal]
                flat.service({**obj["service"], "service_at_locations": sals}, f"{where}.service")
            elif "organization" in obj or "organization_id" in obj or "service_at_locations" in obj:
                flat.service(obj, where)
            else:
                flat.organization(obj, where)
    return flat.tables
