"""The migration that makes networks records, run on a copy of a database whose organisations name their
networks as strings (both engines): every membership becomes a row, the API field stays the same, and a
second run changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from referralnet import db
from referralnet.accounts.schemas import Actor
from tests.conftest import ENGINES
from tests.integration.migration_copies import copy_before

FIRST = "2026-12-06T07:57:00:000000"
SEQUENCES = {"organisation_id_seq": 10}
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
# id, slug, networks as stored before (a code the vocabulary never had stays, as a network of its own).
ORGS = [(1, "casa", '["protect"]'), (2, "ancora", '["protect", "ngo15"]'), (3, "lumina", "[]"), (4, "vechi", '["south", "ngo15"]')]


def _rows() -> list[tuple[str, tuple[Any, ...]]]:
    return [
        ("INSERT INTO organisation (id, slug, name, aliases, networks, places, sources, fictional, active, created_at, updated_at) "
         "VALUES (?, ?, ?, '[]', ?, '[]', '[]', ?, ?, ?, ?)", (oid, slug, f"Asociația {slug}", networks, False, True, NOW, NOW))
        for oid, slug, networks in ORGS
    ]  # fmt: skip


@pytest.fixture(params=ENGINES)
def copied_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with copy_before(request.param, tmp_path, FIRST, _rows(), SEQUENCES) as url:
        yield url


async def _network_id(code: str) -> int:
    from referralnet.tables import Network

    row = await Network.select(Network.id).where(Network.code == code).first()
    assert row is not None
    return int(row["id"])


async def _duplicate_refused(network_id: int, organisation_id: int) -> bool:
    """Whether a second membership of the same organisation in the same network is refused by the unique index."""
    import sqlite3

    import asyncpg

    from referralnet.tables import NetworkMember

    try:
        await NetworkMember.insert(NetworkMember(network=network_id, organisation=organisation_id))
    except (sqlite3.IntegrityError, asyncpg.UniqueViolationError):
        return True
    return False


async def _after(url: str) -> dict[str, Any]:
    from referralnet.directory.networks import list_networks, scope_for
    from referralnet.directory.services import get_organisation

    engine = db.make_engine(url)
    await db.migrate(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    try:
        listed = await list_networks()
        duplicate_refused = await _duplicate_refused(await _network_id("protect"), 1)
        return {
            "duplicate_refused": duplicate_refused,
            "networks": {n.code: (n.name_en, n.name_ro, sorted(m.slug for m in n.members)) for n in listed.items},
            "fields": {oid: sorted((await get_organisation(oid)).networks) for oid, _, _ in ORGS},
            "scope": (await scope_for(Actor(token_id=None, name="s", role="secretariat", networks=("protect",)))).organisations,
        }
    finally:
        await db.stop(engine)


def test_every_network_string_becomes_a_membership(copied_database: str) -> None:
    state = asyncio.run(_after(copied_database))
    assert state["networks"] == {
        "protect": ("ProTECT platform", "Platforma ProTECT", ["ancora", "casa"]),
        "ngo15": ("Informal network of 15 NGOs (2020)", "Rețeaua informală a 15 ONG-uri (2020)", ["ancora", "vechi"]),
        "south": ("south", "south", ["vechi"]),
    }
    assert state["fields"] == {1: ["protect"], 2: ["ngo15", "protect"], 3: [], 4: ["ngo15", "south"]}
    assert state["scope"] == frozenset({1, 2})
    assert state["duplicate_refused"]


def test_the_migration_runs_once(copied_database: str) -> None:
    first = asyncio.run(_after(copied_database))
    assert asyncio.run(_after(copied_database)) == first
