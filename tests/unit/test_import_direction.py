"""Imports go one way: no circle among matching's modules; notifications never import referrals."""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import referralnet

SRC = Path(referralnet.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every referralnet module a file imports, including under ``if TYPE_CHECKING``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("referralnet"):
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("referralnet"))
    return found


def _graph(package: str) -> dict[str, set[str]]:
    modules = {f"referralnet.{package}.{p.stem}": p for p in (SRC / package).glob("*.py") if p.stem != "__init__"}
    return {name: _imports(path) & set(modules) - {name} for name, path in modules.items()}


def test_matching_modules_import_in_one_direction() -> None:
    graph = _graph("matching")
    assert "referralnet.matching.scoring" in graph and "referralnet.matching.explain" in graph
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the failure message is the point
        raise AssertionError(f"import circle in matching: {exc.args[1]}") from None
    # Filtering comes before scoring, and scoring before the reasons shown.
    assert order.index("referralnet.matching.filters") < order.index("referralnet.matching.scoring")
    assert order.index("referralnet.matching.scoring") < order.index("referralnet.matching.reasons")


def test_a_circle_is_seen() -> None:
    with_circle = {"a": {"b"}, "b": {"a"}}
    try:
        list(TopologicalSorter(with_circle).static_order())
    except CycleError:
        return
    raise AssertionError("a circle went unseen")


def test_notifications_do_not_import_referrals() -> None:
    offending = {
        str(path.relative_to(SRC)): sorted(m for m in _imports(path) if m.startswith("referralnet.referrals"))
        for path in (SRC / "notifications").glob("*.py")
    }
    assert {k: v for k, v in offending.items() if v} == {}
