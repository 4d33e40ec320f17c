"""Matching under capacity change: a change patches the cached capacity of the services it stamped (no
snapshot rebuild, no re-read of the rest), and the next match sees it, also after concurrent changes.

On PostgreSQL the exact counts of patches assume that no other transaction holding an id is open on the server
meanwhile (in any database): the reach of a capacity read is the oldest such transaction's id (``capacity_reads``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import pytest

from referralnet.accounts.schemas import SYSTEM
from referralnet.db import write_transaction
from referralnet.directory import places
from referralnet.directory.schemas import CapacityUpdate
from referralnet.matching import cache as matching_cache
from referralnet.matching.profile import Profile
from referralnet.matching.services import match_profile
from tests.conftest import in_app
from tests.integration.test_matching_api import PROFILE, directory  # noqa: F401  (the fixture)


async def _available(client: Any, institution: dict[str, str], service_id: int) -> int | None:
    body = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    return next((c["available"] for c in body["candidates"] if c["service_id"] == service_id), None)


class _OlderTransaction:
    """A write transaction on the app's loop that takes its id when begun (so below any later write's) and runs
    ``last`` (if given) just before it commits, when told to end."""

    def __init__(self, client: Any, last: Callable[[], Awaitable[Any]] | None = None) -> None:
        self.client, self.last = client, last
        self.state = {"began": False, "go": False, "done": False}
        self.tasks: list[asyncio.Task[None]] = []

    async def _run(self) -> None:
        from referralnet import sql

        async with write_transaction():
            await sql.fetch("SELECT pg_current_xact_id()")
            self.state["began"] = True
            while not self.state["go"]:
                await asyncio.sleep(0.005)
            if self.last is not None:
                await self.last()
        self.state["done"] = True

    async def _start(self) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(self._run()))

    async def _until(self, key: str) -> None:
        for _ in range(1000):
            if self.state[key]:
                return
            await asyncio.sleep(0.005)
        raise AssertionError(f"never {key}")

    async def begin(self) -> None:
        in_app(self.client, self._start)
        await self._until("began")

    async def end(self) -> None:
        self.state["go"] = True
        await self._until("done")


async def test_a_capacity_change_rereads_only_the_changed_service(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    cache = client.app.state.matching_cache
    shelter = directory["men_shelter"]
    assert await _available(client, institution, shelter) == 2
    read: list[list[int]] = []
    since: list[int] = []
    by_id, changed_since = matching_cache.live_capacity, matching_cache.capacity_since

    async def counting_by_id(ids: list[int]) -> Any:
        read.append(ids)
        return await by_id(ids)

    async def counting_since(version: int) -> Any:
        since.append(version)
        return await changed_since(version)

    monkeypatch.setattr(matching_cache, "live_capacity", counting_by_id)
    monkeypatch.setattr(matching_cache, "capacity_since", counting_since)
    resp = await client.put(f"/api/v1/services/{shelter}/capacity", json={"available": 1}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert await _available(client, institution, shelter) == 1
    assert read == []  # the other survivors' capacity stayed cached
    assert len(since) == 1 and cache.capacity_patches == 1 and cache.builds == 1
    resp = await client.put(f"/api/v1/services/{shelter}/capacity", json={"available": 0}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert await _available(client, institution, shelter) is None  # full: no longer offered
    assert since[1] > since[0] and cache.builds == 1


async def test_concurrent_capacity_changes_are_all_seen_by_the_next_match(
    client: Any, directory: dict[str, int], institution: dict[str, str], clock: Any  # noqa: F811
) -> None:
    """Two writers at once (on SQLite they take turns; on PostgreSQL each stamps its own transaction's id, and
    the older one commits last); the first one committing last does not hide its change."""
    men, vaslui = directory["men_shelter"], directory["vaslui_shelter"]
    assert await _available(client, institution, men) == 2

    async def change(service_id: int, available: int, hold: float) -> None:
        async with write_transaction():
            await places.set_figures(service_id, CapacityUpdate(available=available), SYSTEM, clock.now())
            await asyncio.sleep(hold)

    async def both() -> None:
        await asyncio.gather(change(men, 7, 0.3), change(vaslui, 4, 0.0))

    in_app(client, both)
    assert await _available(client, institution, men) == 7
    wanted = {**PROFILE, "avoid_counties": [], "max_distance_km": None}
    body = (await client.post("/api/v1/matches", json={"profile": wanted}, headers=institution)).json()
    assert next(c["available"] for c in body["candidates"] if c["service_id"] == vaslui) == 4

    async def versions() -> list[int]:
        from referralnet import sql

        rows = await sql.fetch("SELECT capacity_version FROM service WHERE id IN ({}, {}) ORDER BY id", men, vaslui)
        return [r["capacity_version"] for r in rows]

    stamps = in_app(client, versions)
    assert len(set(stamps)) == 2 and min(stamps) > 0


async def test_matches_arriving_together_after_a_change_all_see_it_through_one_patch(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str]  # noqa: F811
) -> None:
    """A shelter its NGO reports full is offered by none of the matches that arrive together after the change;
    the change is read once for all of them (on PostgreSQL by the versions read they share)."""
    cache = client.app.state.matching_cache
    shelter = directory["men_shelter"]
    assert await _available(client, institution, shelter) == 2
    patches = cache.capacity_patches
    resp = await client.put(f"/api/v1/services/{shelter}/capacity", json={"available": 0}, headers=admin)
    assert resp.status_code == 200, resp.text
    seen = await asyncio.gather(*(_available(client, institution, shelter) for _ in range(8)))
    assert seen == [None] * 8  # full: no longer offered
    assert cache.capacity_patches == patches + 1 and cache.builds == 1


async def test_matches_waiting_for_a_rebuild_take_it_without_a_versions_read_each(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str], clock: Any,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch, database_url: str,
) -> None:
    """After a directory change, matches that arrive together wait for one rebuild and use it: none reads the versions
    again once it holds the rebuild's lock (one after another, those reads held the last of them for tens of ms)."""
    cache = client.app.state.matching_cache
    assert await _available(client, institution, directory["men_shelter"]) == 2  # the snapshot is built
    resp = await client.patch(f"/api/v1/services/{directory['men_shelter']}", json={"description": "Shelter for men"}, headers=admin)
    assert resp.status_code == 200, resp.text
    builds, reads, read = cache.builds, [], matching_cache.versions

    async def counting() -> Any:
        reads.append(1)
        return await read()

    monkeypatch.setattr(matching_cache, "versions", counting)

    async def together() -> list[Any]:
        return await asyncio.gather(*(cache.get(clock.now()) for _ in range(8)))

    snapshots = in_app(client, together)
    assert cache.builds == builds + 1 and len({id(s.directory) for s in snapshots}) == 1
    # One read each before the lock (on PostgreSQL shared: the one under way and the next), and the builder's.
    assert len(reads) <= (8 if database_url.startswith("sqlite") else 2) + 1


@pytest.mark.parametrize("writer", ["figures", "place"])
async def test_a_capacity_write_of_an_older_transaction_committing_late_is_seen(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str], clock: Any, database_url: str,  # noqa: F811
    writer: str,
) -> None:
    """On PostgreSQL a capacity stamp is its writer's transaction id, and ids commit in any order: a write of a
    transaction older than one matching has already read, committed after that read, is read by the next match.
    Written as an NGO's figures (``set_figures``: the stamp in its statement) or as a place taken (a decrement and
    ``_stamp``, the transaction's last statement, as an accepted offer's ``reserve`` and a ``release`` stamp)."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite has one writer at a time: its stamps (a counter) commit in order")
    from referralnet import sql

    men, vaslui = directory["men_shelter"], directory["vaslui_shelter"]
    assert await _available(client, institution, men) == 2

    async def take_a_place() -> None:
        await sql.fetch("UPDATE service SET capacity_available = capacity_available - 1 WHERE id = {}", men)
        await places._stamp([men])

    if writer == "figures":
        older = _OlderTransaction(client, lambda: places.set_figures(men, CapacityUpdate(available=5), SYSTEM, clock.now()))
    else:
        older = _OlderTransaction(client, take_a_place)
    await older.begin()
    resp = await client.put(f"/api/v1/services/{vaslui}/capacity", json={"available": 4}, headers=admin)  # a newer transaction
    assert resp.status_code == 200, resp.text
    assert await _available(client, institution, men) == 2  # this match read the newer write; the older is still open
    await older.end()
    assert await _available(client, institution, men) == (5 if writer == "figures" else 1)


async def test_stamps_from_another_server_are_read_afresh_and_hold_no_match_back(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str], database_url: str,  # noqa: F811
) -> None:
    """A dump restored into a new PostgreSQL server keeps the old server's transaction ids as stamps, far above the new
    server's (and past 2^31, where a busy server gets within weeks): the column keeps them, a fresh read takes their
    services, and they do not make every match read them again (only a write changes them, and it stamps anew)."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite's stamps are the capacity counter's values (and its integers 64-bit)")
    from referralnet import sql

    cache = client.app.state.matching_cache
    men, vaslui = directory["men_shelter"], directory["vaslui_shelter"]
    big = 2**33 + 7

    async def restored() -> None:
        await sql.fetch("UPDATE service SET capacity_version = {} WHERE id = {}", big, men)

    in_app(client, restored)
    resp = await client.patch(f"/api/v1/services/{men}", json={"description": "Shelter for men"}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert await _available(client, institution, men) == 2  # a directory change: every service's capacity read afresh
    resp = await client.put(f"/api/v1/services/{vaslui}/capacity", json={"available": 4}, headers=admin)
    assert resp.status_code == 200, resp.text
    patches = cache.capacity_patches
    for _ in range(3):
        assert await _available(client, institution, men) == 2
    assert cache.capacity_patches == patches + 1  # the PUT's patch, then nothing more to read
    resp = await client.put(f"/api/v1/services/{men}/capacity", json={"available": 1}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert await _available(client, institution, men) == 1
    columns, _ = in_app(client, matching_cache.capacity_since, big)  # a stamp past 32 bits as a read's bound
    assert columns.service_id.size == 0


async def test_matches_together_while_an_older_transaction_is_open_patch_once_per_versions_read(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str], clock: Any, database_url: str,  # noqa: F811
) -> None:
    """While a transaction older than the newest capacity stamp is open (PostgreSQL's reach stays below that stamp),
    matches arriving together share the versions read's patch instead of each reading the changes again in turn."""
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite's reach is the capacity counter: it never stays below the newest stamp")
    cache = client.app.state.matching_cache
    men, vaslui = directory["men_shelter"], directory["vaslui_shelter"]
    assert await _available(client, institution, men) == 2
    older = _OlderTransaction(client)
    await older.begin()
    try:
        resp = await client.put(f"/api/v1/services/{men}/capacity", json={"available": 1}, headers=admin)
        assert resp.status_code == 200, resp.text
        patches = cache.capacity_patches
        profile, stale_days = msgspec.convert(PROFILE, Profile), client.app.state.settings.capacity_stale_days

        async def together() -> list[int | None]:
            results = await asyncio.gather(*(match_profile(profile, cache, clock, stale_days=stale_days) for _ in range(8)))
            return [next((c.available for c in r.candidates if c.service_id == men), None) for r in results]

        assert in_app(client, together) == [1] * 8
        # One patch per shared versions read (the one under way and the next), never one per match.
        assert cache.capacity_patches - patches <= 2
    finally:
        await older.end()
    resp = await client.put(f"/api/v1/services/{vaslui}/capacity", json={"available": 3}, headers=admin)
    assert resp.status_code == 200, resp.text
    patches = cache.capacity_patches
    for _ in range(3):  # the older transaction has ended: once the change is read, nothing more to read
        assert await _available(client, institution, men) == 1
    assert cache.capacity_patches == patches + 1


async def test_a_database_restored_under_a_running_server_is_read_afresh(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str], database_url: str, tmp_path: Any,  # noqa: F811
) -> None:
    """A database restored from a dump while the server runs (or a replica failed over to) can come back with the
    directory counter the server's cache knows and capacity stamps no higher than those it read: without telling
    the databases apart, the server kept offering the places it cached (2 free places of a shelter the restored
    database has full)."""
    if database_url.startswith("sqlite"):
        pytest.skip("an SQLite file is replaced with the service stopped; PostgreSQL is restored under running instances")
    import shutil
    import subprocess

    from tests.conftest import PG_URL, pg_admin

    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.fail("pg_dump and pg_restore (Debian's postgresql-client) are needed beside the PostgreSQL server")
    men = directory["men_shelter"]
    resp = await client.put(f"/api/v1/services/{men}/capacity", json={"available": 0}, headers=admin)
    assert resp.status_code == 200, resp.text
    dump = tmp_path / "full.dump"
    subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", f"--dbname={database_url}"], check=True)
    resp = await client.put(f"/api/v1/services/{men}/capacity", json={"available": 2}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert await _available(client, institution, men) == 2
    name = database_url.rsplit("/", 1)[1]
    await pg_admin(PG_URL, f'DROP DATABASE "{name}" WITH (FORCE)')
    await pg_admin(PG_URL, f'CREATE DATABASE "{name}"')
    subprocess.run(["pg_restore", f"--dbname={database_url}", str(dump)], check=True)
    # The pool's connections to the dropped database were ended; a request may meet one before it is seen closed.
    for _ in range(3):
        resp = await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)
        if resp.status_code < 500:
            break
    assert resp.status_code == 200, resp.text
    assert men not in [c["service_id"] for c in resp.json()["candidates"]]  # full in the restored database
