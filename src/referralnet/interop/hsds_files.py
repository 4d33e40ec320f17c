"""Writing and reading HSDS files: a tabular data package (``datapackage.json`` + CSVs) or compiled JSON."""

from __future__ import annotations

import copy
import csv
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

from referralnet.interop.hsds_export import clean, compile_all
from referralnet.interop.taxonomy import taxonomy_rows, term_rows
from referralnet.vocabulary.geo import data_dir

JSON_FILES = ("services.json", "organizations.json", "taxonomies.json", "taxonomy_terms.json")


def hsds_dir() -> Path:
    return data_dir() / "hsds"


@cache
def descriptor_30() -> dict[str, Any]:
    return json.loads((hsds_dir() / "3.0" / "datapackage.json").read_text(encoding="utf-8"))


def _field(name: str, spec: dict[str, Any], required: list[str]) -> dict[str, Any]:
    kind = spec.get("type", "string")
    field: dict[str, Any] = {"name": name, "type": "number" if kind in ("number", "integer") else "string"}
    if spec.get("format") == "uuid":
        field["format"] = "uuid"
    elif spec.get("format") == "date-time":
        field["type"] = "datetime"
    field["description"] = spec.get("description", "")
    field["constraints"] = {"required": name in required, "unique": name == "id"}
    return field


def _resource_31(name: str, path: str, fks: list[tuple[str, str]]) -> dict[str, Any]:
    schema = json.loads((hsds_dir() / "3.1-dev" / "schema" / f"{name}.json").read_text(encoding="utf-8"))
    required = ["id", *schema.get("tabular_required", schema.get("required", []))]
    fields = [_field(k, v, required) for k, v in schema["properties"].items() if v.get("type") != "array" and "$ref" not in v]
    return {
        "name": name,
        "path": path,
        "description": schema.get("description", ""),
        "format": "csv",
        "mediatype": "text/csv",
        "profile": "tabular-data-resource",
        "schema": {
            "primaryKey": "id",
            "fields": fields,
            "foreignKeys": [{"fields": f, "reference": {"resource": r, "fields": "id"}} for f, r in fks],
        },
    }


def descriptor(version: str) -> dict[str, Any]:
    """The HSDS data package descriptor, plus the 3.1 draft's capacity tables when asked."""
    out = copy.deepcopy(descriptor_30())
    out["name"] = "referralnet_directory"
    out["title"] = f"referralnet directory as HSDS {version}"
    out["description"] = (
        "Organisations and services for victims of trafficking in Romania, from referralnet. Confidential sites "
        "are given by county and locality only; their street addresses and coordinates are never exported."
    )
    out.pop("license", None)  # that licence is the specification's; the data's is the directory's own
    out["version"] = "3.1.0-draft" if version == "3.1" else "3.0.0"
    if version == "3.1":
        out["resources"].append(_resource_31("unit", "units.csv", []))
        out["resources"].append(_resource_31("service_capacity", "service_capacities.csv", [("service_id", "service"), ("unit_id", "unit")]))
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def csv_text(fields: list[str], rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow([_cell(row.get(f)) for f in fields])
    return buf.getvalue()


def write_package(folder: Path, tables: dict[str, list[dict[str, Any]]], version: str) -> list[Path]:
    """Write ``datapackage.json`` and one CSV per table (headers only where empty); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    desc = descriptor(version)
    written = []
    for resource in desc["resources"]:
        fields = [f["name"] for f in resource["schema"]["fields"]]
        path = folder / resource["path"]
        path.write_text(csv_text(fields, tables.get(resource["name"], [])), encoding="utf-8")
        written.append(path)
    path = folder / "datapackage.json"
    path.write_text(json.dumps(desc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return [path, *written]


def write_json(folder: Path, tables: dict[str, list[dict[str, Any]]]) -> list[Path]:
    """Write compiled ``services.json`` and ``organizations.json`` and the taxonomies."""
    folder.mkdir(parents=True, exist_ok=True)
    services, organizations = compile_all(tables)
    content = {
        "services.json": services,
        "organizations.json": organizations,
        "taxonomies.json": [clean(t) for t in taxonomy_rows()],
        "taxonomy_terms.json": [clean(t) for t in term_rows()],
    }
    paths = []
    for name, value in content.items():
        path = folder / name
        path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


# ---- reading -----------------------------------------------------------------------------------


class Row(dict[str, Any]):
    """An input row that remembers where it came from, so a bad one can be named."""

    where: str = ""


def _read_csv(path: Path) -> list[Row]:
    out = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for line, raw in enumerate(csv.DictReader(f), start=2):
            row = Row({k: (v if v != "" else None) for k, v in raw.items() if k is not None})
            row.where = f"{path.name} line {line}"
            out.append(row)
    return out


def read_package(folder: Path) -> dict[str, list[Row]]:
    """Tables of an HSDS data package folder; file names from its ``datapackage.json`` or HSDS 3.0's."""
    paths = {r["name"]: r["path"] for r in descriptor("3.1")["resources"]}
    own = folder / "datapackage.json"
    try:
        paths.update({r["name"]: r["path"] for r in json.loads(own.read_text(encoding="utf-8"))["resources"]})
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no descriptor (or a stub): the standard file names
    return {name: _read_csv(folder / p) for name, p in paths.items() if (folder / p).is_file()}


def read_json(path: Path) -> dict[str, list[Row]]:
    """Flatten compiled HSDS JSON (a service, an organization, or lists of them) into tables."""
    files = [path / n for n in JSON_FILES if (path / n).is_file()] if path.is_dir() else [path]
    tables: dict[str, list[Row]] = {}
    seen: set[tuple[str, str]] = set()

    def add(table: str, obj: dict[str, Any], where: str, **parent: Any) -> None:
        key = (table, str(obj.get("id")))
        if key in seen:
            return
        seen.add(key)
        row = Row({k: v for k, v in obj.items() if not isinstance(v, (list, dict))})
        for k, v in parent.items():
            row.setdefault(k, v)
        row.where = where
        tables.setdefault(table, []).append(row)
        nested = {
            "organization": [("locations", "location", "organization_id"), ("organization_identifiers", "organization_identifier", "organization_id"),
                             ("phones", "phone", "organization_id"), ("contacts", "contact", "organization_id")],
            "service": [("service_areas", "service_area", "service_id"), ("service_at_locations", "service_at_location", "service_id"),
                        ("languages", "language", "service_id"), ("phones", "phone", "service_id"), ("schedules", "schedule", "service_id"),
                        ("capacities", "service_capacity", "service_id"), ("contacts", "contact", "service_id")],
            "location": [("addresses", "address", "location_id"), ("phones", "phone", "location_id"), ("languages", "language", "location_id")],
        }  # fmt: skip
        for attr_obj in obj.get("attributes") or []:
            term = attr_obj.get("taxonomy_term")
            if isinstance(term, dict):
                add("taxonomy_term", term, where)
            add("attribute", attr_obj, where, link_id=obj.get("id"), link_entity=table)
        for key_name, child, fk in nested.get(table, []):
            for i, item in enumerate(obj.get(key_name) or []):
                add(child, item, f"{where} {key_name}[{i}]", **{fk: obj.get("id")})
        if table == "service" and isinstance(obj.get("organization"), dict):
            add("organization", obj["organization"], f"{where} organization")
            row.setdefault("organization_id", obj["organization"].get("id"))
        if table == "service_at_location" and isinstance(obj.get("location"), dict):
            add("location", obj["location"], f"{where} location")
            row.setdefault("location_id", obj["location"].get("id"))
        if table == "service_capacity" and isinstance(obj.get("unit"), dict):
            add("unit", obj["unit"], f"{where} unit")
            row.setdefault("unit_id", obj["unit"].get("id"))

    for file in files:
        data = json.loads(file.read_text(encoding="utf-8"))
        items = data if isinstance(data, list) else data.get("contents", [data]) if isinstance(data, dict) else []
        kind = {"organizations.json": "organization", "taxonomies.json": "taxonomy", "taxonomy_terms.json": "taxonomy_term"}.get(file.name)
        for i, item in enumerate(items):
            table = kind or ("organization" if "services" in item or ("name" in item and "status" not in item and "organization" not in item) else "service")
            add(table, item, f"{file.name}[{i}]")
            for j, service in enumerate(item.get("services") or [] if table == "organization" else []):
                add("service", service, f"{file.name}[{i}] services[{j}]", organization_id=item.get("id"))
    return tables
