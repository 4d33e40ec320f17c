"""Source-tree rules: one module writes a service's capacity, one module writes referral, need and offer statuses."""

from __future__ import annotations

import ast
from pathlib import Path

import referralnet

SRC = Path(referralnet.__file__).parent
CAPACITY_COLUMNS = {"capacity_available", "capacity_total", "capacity_updated_at", "capacity_version"}
STATUS_TABLES = {"Referral", "Offer", "ReferralNeed"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(SRC)), ast.parse(p.read_text(encoding="utf-8"))) for p in sorted(SRC.rglob("*.py"))]


def _written_keys(tree: ast.Module, tables: set[str]) -> list[tuple[str, str, int]]:
    """(table, column, line) for every column a ``Table.update({...})``, ``Table(...)`` or raw SQL write sets."""
    found: list[tuple[str, str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key in node.keys:
                # {Service.capacity_available: ...} in an update, or {"capacity_total": ...} handed to one.
                if isinstance(key, ast.Attribute) and isinstance(key.value, ast.Name) and key.value.id in tables:
                    found.append((key.value.id, key.attr, key.lineno))
                elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                    found.append(("?", key.value, key.lineno))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in tables:
            for kw in node.keywords:  # Service(capacity_total=...) in an insert
                if kw.arg is not None:
                    found.append((node.func.id, kw.arg, kw.value.lineno))
        elif isinstance(node, ast.Assign):
            for target in node.targets:  # changes["capacity_total"] = ... for a later update
                if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                    found.append(("?", str(target.slice.value), target.lineno))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = " ".join(node.value.lower().split())
            for column in CAPACITY_COLUMNS | {"status"}:
                if f"set {column}" in text or f", {column} =" in text:
                    found.append(("sql", column, node.lineno))
    return found


def test_only_the_places_owner_writes_capacity_columns() -> None:
    writers = [
        f"{path}:{line} writes {column}"
        for path, tree in _modules()
        if path != "directory/places.py"
        for table, column, line in _written_keys(tree, {"Service"})
        if column in CAPACITY_COLUMNS and table in {"Service", "?", "sql"}
    ]
    assert writers == [], "write capacity through referralnet.directory.places: " + "; ".join(writers)


def test_the_places_owner_writes_every_capacity_column() -> None:
    tree = dict(_modules())["directory/places.py"]
    written = {column for _, column, _ in _written_keys(tree, {"Service"})}
    assert CAPACITY_COLUMNS <= written


def _starting_state(node: ast.AST) -> bool:
    if isinstance(node, ast.IfExp):
        return _starting_state(node.body) and _starting_state(node.orelse)
    return isinstance(node, ast.Name) and node.id in {"REFERRAL_START", "OFFER_START", "NEED_START", "NEED_NOT_REQUESTED"}


def _status_writes(path: str, tree: ast.Module) -> list[str]:
    writes = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in STATUS_TABLES:
            # A new row starts in lifecycle's starting state, never in a literal one.
            writes += [
                f"{path}:{kw.value.lineno} inserts a {node.func.id} with status {ast.unparse(kw.value)}"
                for kw in node.keywords
                if kw.arg == "status" and not _starting_state(kw.value)
            ]
    for table, column, line in _written_keys(tree, STATUS_TABLES):
        if column == "status" and table in STATUS_TABLES | {"sql"} and not _is_insert_keyword(tree, line):
            writes.append(f"{path}:{line} writes {table}.status")
    return writes


def _is_insert_keyword(tree: ast.Module, line: int) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in STATUS_TABLES
        and any(kw.arg == "status" and kw.value.lineno == line for kw in node.keywords)
        for node in ast.walk(tree)
    )  # fmt: skip


def test_every_referral_and_offer_status_write_goes_through_lifecycle() -> None:
    writers = [w for path, tree in _modules() if path != "referrals/lifecycle.py" for w in _status_writes(path, tree)]
    assert writers == [], "change statuses through referralnet.referrals.lifecycle: " + "; ".join(writers)


def test_the_rule_sees_a_status_written_outside_lifecycle() -> None:
    tree = ast.parse('await Offer.update({Offer.status: "accepted"}).where(Offer.id == 1)\nReferral(status="open")\n')
    assert _status_writes("x.py", tree) == ["x.py:2 inserts a Referral with status 'open'", "x.py:1 writes Offer.status"]
    assert _status_writes("y.py", ast.parse("Offer(status=OFFER_START, position=0)")) == []
    seed = ast.parse('changes["capacity_total"] = 4')
    assert ("?", "capacity_total", 1) in _written_keys(seed, {"Service"})
    raw = ast.parse('SQL = "UPDATE service SET capacity_available = 3 WHERE id = 1"')
    assert ("sql", "capacity_available", 1) in _written_keys(raw, {"Service"})


def test_only_the_networks_module_writes_an_organisations_networks() -> None:
    """``organisation.networks`` is a read copy of the network_member rows: written with them, in one place."""
    writers = [
        f"{path}:{line} writes Organisation.networks"
        for path, tree in _modules()
        if path != "directory/networks.py"
        for table, column, line in _written_keys(tree, {"Organisation"})
        if table == "Organisation" and column == "networks"
    ]
    assert writers == [], "change memberships through referralnet.directory.networks: " + "; ".join(writers)
    written = {column for table, column, _ in _written_keys(dict(_modules())["directory/networks.py"], {"Organisation"})}
    assert "networks" in written
