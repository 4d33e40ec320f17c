"""The organisation list and its fuzzy search over folded names and aliases, from a cached index.

The index (id, name, kind, active, networks, folded search keys of every organisation, in name
order) is rebuilt only when the ``directory`` counter moves, so a search folds nothing and scores
every key in one rapidfuzz call; only the page's rows are then read.
"""

from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from rapidfuzz import fuzz, process

from referralnet import counters
from referralnet.directory.views import decode_strings
from referralnet.tables import Organisation
from referralnet.vocabulary.geo import fold

# A fuzzy-search hit must score at least this (0-100, rapidfuzz WRatio on folded text).
SEARCH_THRESHOLD = 80.0


class Entry(NamedTuple):
    id: int
    kind: str
    active: bool
    networks: frozenset[str]
    keys: tuple[str, ...]  # folded name, short name and aliases


async def load_entries() -> list[Entry]:
    rows = await Organisation.select(
        Organisation.id, Organisation.name, Organisation.short_name, Organisation.aliases,
        Organisation.kind, Organisation.active, Organisation.networks,
    ).order_by(Organisation.name)  # fmt: skip
    return [
        Entry(
            id=r["id"], kind=r["kind"], active=bool(r["active"]), networks=frozenset(decode_strings(r["networks"])),
            keys=tuple(fold(k) for k in [r["name"], *([r["short_name"]] if r["short_name"] else []), *decode_strings(r["aliases"])]),
        )  # fmt: skip
        for r in rows
    ]


class OrganisationIndex:
    """This process's index of organisations, kept while the ``directory`` counter stays put."""

    def __init__(self) -> None:
        self.builds = 0
        self._entries: list[Entry] = []
        self._version: int | None = None
        self._lock: asyncio.Lock | None = None

    async def entries(self) -> list[Entry]:
        version = await counters.read(counters.DIRECTORY)
        if version != self._version:
            if self._lock is None:
                self._lock = asyncio.Lock()  # created on the serving loop, not at import
            async with self._lock:
                version = await counters.read(counters.DIRECTORY)
                if version != self._version:
                    self._entries, self._version = await load_entries(), version
                    self.builds += 1
        return self._entries


def search(entries: list[Entry], q: str) -> list[tuple[Entry, float]]:
    """Entries with a key scoring at least the threshold, best first (then in name order), with the score."""
    needle = fold(q)
    owners = [i for i, e in enumerate(entries) for _ in e.keys]
    choices = [k for e in entries for k in e.keys]
    best: dict[int, float] = {}
    for _, score, at in process.extract(needle, choices, scorer=fuzz.WRatio, score_cutoff=SEARCH_THRESHOLD, limit=None):
        owner = owners[at]
        best[owner] = max(best.get(owner, 0.0), score)
    order = sorted(best, key=lambda i: (-best[i], i))  # i is the name order
    return [(entries[i], round(best[i], 1)) for i in order]


async def page_rows(ids: list[int]) -> list[dict[str, Any]]:
    rows = {r["id"]: r for r in await Organisation.select().where(Organisation.id.is_in(ids))} if ids else {}
    return [rows[i] for i in ids]
