"""Validation of HSDS output against the specification's own schemas (jsonschema and frictionless)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import frictionless
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import REPO

HSDS = REPO / "data" / "hsds"


@cache
def registry(version: str) -> Registry:
    files = {p.name: p for p in (HSDS / "3.0" / "schema").glob("*.json")}
    if version == "3.1":
        files.update({p.name: p for p in (HSDS / "3.1-dev" / "schema").glob("*.json")})
    resources = [(name, Resource(json.loads(p.read_text()), specification=DRAFT202012)) for name, p in files.items()]
    return Registry().with_resources(resources)


def validator(name: str, version: str = "3.0") -> Draft202012Validator:
    if name == "compiled_service" and version == "3.0":
        schema = json.loads((HSDS / "3.0" / "schema" / "compiled" / "service_with_definitions.json").read_text())
        return Draft202012Validator(schema, format_checker=FormatChecker())
    return Draft202012Validator({"$ref": f"{name}.json"}, registry=registry(version), format_checker=FormatChecker())


def errors(name: str, obj: Any, version: str = "3.0") -> list[str]:
    return [f"{name} {list(e.absolute_path)}: {e.message}" for e in validator(name, version).iter_errors(obj)]


@cache
def row_validator(name: str, version: str) -> Draft202012Validator:
    """The entity schema as the specification applies it to a table row: ``tabular_required`` where given."""
    folder = HSDS / ("3.1-dev" if version == "3.1" and (HSDS / "3.1-dev" / "schema" / f"{name}.json").is_file() else "3.0") / "schema"
    schema = json.loads((folder / f"{name}.json").read_text())
    if "tabular_required" in schema:
        schema["required"] = sorted({"id", *schema["tabular_required"]})
    return Draft202012Validator(schema, registry=registry(version), format_checker=FormatChecker())


def row_errors(name: str, row: dict[str, Any], version: str) -> list[str]:
    return [f"{name} {e.message}" for e in row_validator(name, version).iter_errors(row)]


def typed_row(row: dict[str, str], fields: list[dict[str, Any]]) -> dict[str, Any]:
    """A CSV row as JSON: empty cells dropped, numbers as numbers (as the tabular schema types them)."""
    kinds = {f["name"]: f["type"] for f in fields}
    out: dict[str, Any] = {}
    for key, value in row.items():
        if value in ("", None):
            continue
        out[key] = float(value) if kinds.get(key) == "number" else value
    return out


def validate_package(folder: Path, version: str = "3.0") -> dict[str, int]:
    """Frictionless validation of the whole package (types, required, unique, foreign keys) under the
    specification's own table schemas, then every row of every table against the entity JSON Schema.
    Returns the row count per table."""
    import csv

    ours = json.loads((folder / "datapackage.json").read_text())
    # the specification's descriptor, as copied into the repository (data/hsds/3.0/SOURCE.md)
    canonical = json.loads((HSDS / "3.0" / "datapackage.json").read_text())
    assert ours["profile"] == "tabular-data-package"
    by_name = {r["name"]: r for r in ours["resources"]}
    # The resources' schemas must be the specification's, not our own variant of them.
    for resource in canonical["resources"]:
        assert by_name[resource["name"]]["schema"] == resource["schema"], resource["name"]
    report = frictionless.validate(folder / "datapackage.json")
    problems = [f"{t.name}: {e.message}" for t in report.tasks for e in t.errors]
    assert report.valid, problems[:20]
    counts = {}
    for resource in ours["resources"]:
        with (folder / resource["path"]).open(encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        counts[resource["name"]] = len(rows)
        found: list[str] = []
        for row in rows:
            found += row_errors(resource["name"], typed_row(row, resource["schema"]["fields"]), version)
        assert not found, found[:10]
    return counts
