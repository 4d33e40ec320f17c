"""Resolving HSDS taxonomy terms to the project's vocabulary, and HSDS places to counties.

Our own terms (from our export) map back by id, qualified code or ``term_uri``; other terms map by
code or name (either language, diacritics ignored) only when exactly one code fits. Everything
else is reported as unmapped, never guessed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from functools import cache
from typing import Any

from referralnet.interop.taxonomy import TAXONOMY_URI, _lists, term_key
from referralnet.vocabulary.geo import counties, fold

# Taxonomies other systems' terms may map to by name (rules and groups are ours only).
NAMEABLE = ("service_type", "exploitation_form", "gender", "nationality_group", "victim_status", "language",
            "accessibility", "condition", "capacity_unit", "county", "network", "legal_form")  # fmt: skip


@cache
def _name_index() -> tuple[dict[str, set[tuple[str, str]]], dict[str, set[tuple[str, str]]]]:
    by_code: dict[str, set[tuple[str, str]]] = defaultdict(set)
    by_name: dict[str, set[tuple[str, str]]] = defaultdict(set)
    lists = _lists()
    for tax in NAMEABLE:
        for code, labels in lists[tax][1].items():
            by_code[code.casefold()].add((tax, code))
            for label in labels:
                by_name[fold(label)].add((tax, code))
    return by_code, by_name


@cache
def county_by_name() -> dict[str, str]:
    out: dict[str, str] = {}
    for code, county in counties().items():
        for name in (county.name, county.name_ascii, code, code.removeprefix("RO-")):
            out[fold(name)] = code
            out[fold(f"judetul {name}")] = code
    out[fold("Municipiul București")] = "RO-B"
    return out


def county_of(text: str | None) -> str | None:
    return county_by_name().get(fold(text)) if text else None


class TermMap:
    """Term ids of one input -> (taxonomy, code) of the vocabulary, counting what does not map."""

    def __init__(self, term_rows: list[dict[str, Any]], taxonomy_rows: list[dict[str, Any]]) -> None:
        self.rows = {str(t["id"]): t for t in term_rows if t.get("id")}
        self.taxonomies = {str(t["id"]): t for t in taxonomy_rows if t.get("id")}
        self.unmapped: Counter[str] = Counter()
        self._cache: dict[str, tuple[str, str] | None] = {}

    def resolve(self, term_id: str) -> tuple[str, str] | None:
        if term_id not in self._cache:
            self._cache[term_id] = self._resolve(term_id)[0]
        found = self._cache[term_id]
        if found is None:
            self.unmapped[self.describe(term_id)] += 1
        return found

    def resolve_unused(self) -> None:
        """Report the input's terms no attribute used that do not map either (with a count of 0)."""
        for term_id in self.rows:
            if term_id not in self._cache:
                self._cache[term_id] = found = self._resolve(term_id)[0]
                if found is None:
                    self.unmapped[self.describe(term_id)] += 0

    def describe(self, term_id: str) -> str:
        row = self.rows.get(term_id)
        if row is None:
            return f"term {term_id} (not in the input's taxonomy_terms)"
        tax = row.get("taxonomy") or (self.taxonomies.get(str(row.get("taxonomy_id"))) or {}).get("name") or "?"
        return f"{tax}: code {row.get('code') or '-'}, name {row.get('name')!r}{self._reason(term_id)}"

    def _reason(self, term_id: str) -> str:
        _, why = self._resolve(term_id)
        return f" ({why})" if why else ""

    def _resolve(self, term_id: str) -> tuple[tuple[str, str] | None, str]:
        known = term_key().get(term_id)
        if known:
            return known, ""
        row = self.rows.get(term_id)
        if row is None:
            return None, "unknown term"
        lists = _lists()
        code = str(row.get("code") or "")
        if "." in code:
            tax, _, rest = code.partition(".")
            if tax in lists and rest in lists[tax][1]:
                return (tax, rest), ""
        uri = str(row.get("term_uri") or "")
        if uri.startswith(TAXONOMY_URI):
            tax, _, rest = uri.removeprefix(TAXONOMY_URI).partition(":")
            if tax in lists and rest in lists[tax][1]:
                return (tax, rest), ""
        by_code, by_name = _name_index()
        candidates = set(by_code.get(code.casefold(), set())) if code else set()
        if row.get("name"):
            candidates |= by_name.get(fold(str(row["name"])), set())
        if len(candidates) == 1:
            return next(iter(candidates)), ""
        if candidates:
            return None, "ambiguous: " + ", ".join(sorted(f"{t}.{c}" for t, c in candidates))
        return None, "no such code or name in the vocabulary"
