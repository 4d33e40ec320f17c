"""Writing and reading HSDS files: a tabular data package (``datapackage.json`` + CSVs) or compiled JSON."""

from __future__ import annotations

import copy
import csv
import io
import json
from functools import cache
from pathlib import Path
from typing import Any

from referralnet.interop.hsds_compiled import clean, compile_all
from referralnet.interop.taxonomy import taxonomy_rows, term_rows
from referralnet.vocabulary.geo import data_dir


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
