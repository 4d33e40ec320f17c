"""SIGKILL the real server in the middle of a burst of writes, several times, on SQLite and PostgreSQL.

A ``python -m referralnet serve`` subprocess (scheduler on) takes concurrent capacity updates,
referral creations, offer accepts and cancels over HTTP; the test kills it with SIGKILL mid-stream,
checks the database, restarts it and goes on. Every write answered 2xx must be in the database
whole, nothing may be half-written, and the SQLite file must pass ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from referralnet import db
from tests.conftest import ENGINES, PG_URL, REPO, pg_admin
from tests.integration.helpers import PROFILE

ROUNDS = 3
# A round is killed once this many writes were answered 2xx in it (or after ROUND_MAX_S seconds).
KILL_AFTER_ACKED = (25, 70)
ROUND_MAX_S = 6.0
# Places of the three shelters referrals go to; the last one fills up, so accepts meet "no place".
SHELTER_PLACES = (400, 400, 4)
CAPACITY_START = 1_000_000  # of the services that only capacity updates change
CREATORS, CANCELLERS = 3, 1


def shelter(name: str, places: int, *, county: str = "RO-IS", locality: str = "Iași", gender: str = "female") -> dict[str, Any]:
    return {
        "type": "residential_shelter",
        "name": name,
        "eligibility": {"age_min": 18, "genders": [gender]},
        "service_area": {"counties": [county], "national": False},
        "sites": [{"county": county, "locality": locality, "confidential": True}],
        "capacity": {"unit": "beds", "total": places, "available": places},
    }


# ---- the server subprocess and the command line ---------------------------------------------


def _env(database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.update(
        REFERRALNET_DATABASE_URL=database_url,
        REFERRALNET_HOST="127.0.0.1",
        REFERRALNET_SCHEDULER="true",
        REFERRALNET_SWEEP_INTERVAL_SECONDS="1",
        REFERRALNET_LOG_LEVEL="warning",
        REFERRALNET_DEBUG="true",  # a 500 answers with its traceback, which then shows in the failure
    )
    return env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def tail(self) -> str:
        lines = [line for line in self.log.read_text(errors="replace").splitlines() if "apscheduler" not in line]
        return "\n".join(lines[-30:])


async def start_server(database_url: str, log: Path, timeout: float = 40.0) -> Server:
    """``referralnet serve`` on a free port, once ``GET /health`` answers 200."""
    port = _free_port()
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "referralnet", "serve", "--port", str(port)],
            env=_env(database_url), cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited with {process.returncode}:\n{server.tail()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/health")).status_code == 200:
                    return server
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"server not healthy after {timeout:.0f}s:\n{server.tail()}")
            await asyncio.sleep(0.05)


async def create_tokens(database_url: str, specs: list[dict[str, str]]) -> list[dict[str, str]]:
    """``referralnet token create`` per spec, all at once; bearer headers from the last line printed."""

    async def one(spec: dict[str, str]) -> dict[str, str]:
        args = [f"--{k}={v}" for k, v in spec.items()]
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "referralnet", "token", "create", *args,
            env=_env(database_url), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return {"Authorization": f"Bearer {out.decode().strip().splitlines()[-1]}"}

    return list(await asyncio.gather(*(one(s) for s in specs)))


@contextlib.asynccontextmanager
async def fresh_database(engine: str, tmp_path: Path) -> AsyncIterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'crash.sqlite'}"
        return
    assert PG_URL
    name = f"rn_crash_{uuid.uuid4().hex[:10]}"
    await pg_admin(PG_URL, f'CREATE DATABASE "{name}"')
    try:
        yield db.with_database(PG_URL, name)
    finally:
        await pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- what the clients were told ---------------------------------------------------------------


@dataclass
class Ledger:
    """Every write the clients sent, and which ones were acknowledged (2xx)."""

    referrals: dict[int, list[int]] = field(default_factory=dict)  # acknowledged: referral -> its offers
    accepted: dict[int, int] = field(default_factory=dict)  # acknowledged accept: offer -> referral
    cancel_tried: set[int] = field(default_factory=set)
    cancelled: set[int] = field(default_factory=set)  # acknowledged
    capacity_sent: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    capacity_acked: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)
    acked_in_round: int = 0

    def answer(self, what: str, resp: httpx.Response, allowed: tuple[int, ...]) -> bool:
        """Count the answer; an unexpected status is a failure. True when it is 2xx."""
        self.statuses[f"{what} {resp.status_code}"] += 1
        if resp.status_code not in allowed:
            self.unexpected.append(f"{what}: {resp.status_code} {resp.text[:4000]}")
        if 200 <= resp.status_code < 300:
            self.acked_in_round += 1
            return True
        return False


@dataclass
class World:
    admin: dict[str, str]
    institutions: list[dict[str, str]]
    ngos: list[dict[str, str]]
    shelters: list[int]  # referral targets, one per NGO
    capacity_services: list[int]  # changed only by capacity updates, one per NGO
    owner_of: dict[int, int]  # service -> index of its NGO
    pending: list[list[tuple[int, int]]]  # per NGO: (offer, referral) still to answer
    creator_of: dict[int, int] = field(default_factory=dict)  # referral -> institution index
    next_capacity: dict[int, int] = field(default_factory=dict)


FIRST_TOKENS = [{"role": "admin", "name": "crash admin"}]
INSTITUTIONS = 2


async def build_world(client: httpx.AsyncClient, database_url: str, first_tokens: list[dict[str, str]]) -> World:
    """Institutions, organisations and shelters through the API, then their tokens from ``referralnet token create``."""
    (admin,) = first_tokens
    police = []
    for i in range(INSTITUTIONS):
        body = {"name": f"IPJ Crash {i}", "kind": "institution", "institution_type": "police"}
        resp = await client.post("/api/v1/organisations", json=body, headers=admin)
        assert resp.status_code == 201, resp.text
        police.append(resp.json()["id"])
    institutions = await create_tokens(
        database_url, [{"role": "institution", "organisation": str(o), "name": f"IPJ officer {i}"} for i, o in enumerate(police)]
    )
    orgs, shelters, capacity_services = [], [], []
    for i, places in enumerate(SHELTER_PLACES):
        resp = await client.post("/api/v1/organisations", json={"name": f"Asociația Crash {i}"}, headers=admin)
        assert resp.status_code == 201, resp.text
        orgs.append(resp.json()["id"])
        for target, body in (
            (shelters, shelter(f"Casa crash {i}", places)),
            (capacity_services, shelter(f"Casa capacitate {i}", CAPACITY_START, county="RO-CJ", locality="Cluj-Napoca", gender="male")),
        ):
            resp = await client.post(f"/api/v1/organisations/{orgs[-1]}/services", json=body, headers=admin)
            assert resp.status_code == 201, resp.text
            target.append(resp.json()["id"])
    ngos = await create_tokens(
        database_url, [{"role": "ngo", "organisation": str(o), "name": f"crash coordinator {i}"} for i, o in enumerate(orgs)]
    )
    owner_of = {s: i for i, s in enumerate(shelters)} | {s: i for i, s in enumerate(capacity_services)}
    return World(admin, institutions, ngos, shelters, capacity_services, owner_of, [[] for _ in orgs])


# ---- the clients ------------------------------------------------------------------------------


async def _loop(stop: asyncio.Event, ledger: Ledger, step: Callable[[], Awaitable[None]]) -> None:
    """Repeat ``step`` until the round ends; a transport error means the server is gone."""
    while not stop.is_set():
        try:
            await step()
        except httpx.TransportError:
            ledger.statuses["transport error"] += 1
            return


def clients(client: httpx.AsyncClient, world: World, ledger: Ledger, rng: random.Random, stop: asyncio.Event) -> list[Awaitable[None]]:
    def creator(i: int) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            roomy, small = world.shelters[:-1], world.shelters[-1]
            services = rng.sample(roomy, rng.choice([1, 2])) + ([small] if rng.random() < 0.3 else [])
            body = {"profile": PROFILE, "consent": True, "mode": "parallel", "service_ids": services,
                    "notify_email": f"officer{i}@ipj.example.org"}  # fmt: skip
            resp = await client.post("/api/v1/referrals", json=body, headers=world.institutions[i % 2])
            # 422 only when the small shelter is full right now, so it is not eligible.
            if resp.status_code == 422 and "not eligible" not in resp.text:
                ledger.unexpected.append(f"create: 422 {resp.text[:500]}")
            if ledger.answer("create", resp, (201, 422)):
                referral = resp.json()
                offers = [o["id"] for o in referral["offers"]]
                assert sorted(o["service_id"] for o in referral["offers"]) == sorted(services)
                ledger.referrals[referral["id"]] = offers
                world.creator_of[referral["id"]] = i % 2
                for o in referral["offers"]:
                    world.pending[world.owner_of[o["service_id"]]].append((o["id"], referral["id"]))

        return step

    def acceptor(n: int) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            if not world.pending[n]:
                await asyncio.sleep(0.005)
                return
            offer_id, referral_id = world.pending[n].pop(rng.randrange(len(world.pending[n])))
            resp = await client.post(f"/api/v1/offers/{offer_id}/accept", headers=world.ngos[n])
            # 409: another provider accepted first, the referral was cancelled, or no place is free.
            if ledger.answer("accept", resp, (200, 409)):
                assert resp.json()["status"] == "accepted" and resp.json()["reserved"] is True, resp.text
                ledger.accepted[offer_id] = referral_id

        return step

    def canceller() -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            await asyncio.sleep(0.03)
            candidates = sorted(set(ledger.referrals) - ledger.cancel_tried)
            if not candidates:
                return
            # Mostly placed referrals (a place is released), sometimes open ones (racing the accepts).
            placed = sorted(set(ledger.accepted.values()) - ledger.cancel_tried)
            referral_id = rng.choice(placed if placed and rng.random() < 0.7 else candidates)
            ledger.cancel_tried.add(referral_id)
            resp = await client.post(
                f"/api/v1/referrals/{referral_id}/cancel", json={"reason": "crash test"},
                headers=world.institutions[world.creator_of[referral_id]],
            )  # fmt: skip
            if ledger.answer("cancel", resp, (200,)):
                assert resp.json()["status"] == "cancelled", resp.text
                ledger.cancelled.add(referral_id)

        return step

    def capacity_writer(service_id: int) -> Callable[[], Awaitable[None]]:
        async def step() -> None:
            # Strictly increasing figures, so each acknowledged one names exactly one history row.
            value = world.next_capacity.get(service_id, 0) + 1
            world.next_capacity[service_id] = value
            ledger.capacity_sent[service_id].append(value)
            headers = world.ngos[world.owner_of[service_id]]
            resp = await client.put(f"/api/v1/services/{service_id}/capacity", json={"available": value}, headers=headers)
            if ledger.answer("capacity", resp, (200,)):
                ledger.capacity_acked[service_id].append(value)

        return step

    steps = [creator(i) for i in range(CREATORS)] + [acceptor(n) for n in range(len(world.ngos))]
    steps += [canceller() for _ in range(CANCELLERS)] + [capacity_writer(s) for s in world.capacity_services[:2]]
    return [_loop(stop, ledger, s) for s in steps]


# ---- reading the database directly --------------------------------------------------------------

QUERIES = {
    "referral": "SELECT id, status, placed_offer FROM referral",
    "offer": "SELECT id, referral, service, status, reserved FROM offer",
    "event": "SELECT referral, offer, kind FROM referral_event",
    "notification": "SELECT kind, referral, offer FROM notification",
    "service": "SELECT id, capacity_total, capacity_available FROM service",
    "capacity_change": "SELECT id, service, previous_available, available FROM capacity_change ORDER BY id",
}


async def snapshot(database_url: str) -> dict[str, list[dict[str, Any]]]:
    if database_url.startswith("sqlite:///"):
        con = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        con.row_factory = sqlite3.Row
        try:
            return {name: [dict(r) for r in con.execute(sql)] for name, sql in QUERIES.items()}
        finally:
            con.close()
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return {name: [dict(r) for r in await conn.fetch(sql)] for name, sql in QUERIES.items()}
    finally:
        await conn.close()


def sqlite_integrity(database_url: str) -> list[str]:
    """Problems ``PRAGMA integrity_check`` and ``foreign_key_check`` report (none: the file is sound)."""
    con = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    try:
        problems = [r[0] for r in con.execute("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in con.execute("PRAGMA foreign_key_check")]
        return problems
    finally:
        con.close()


def check(db: dict[str, list[dict[str, Any]]], world: World, ledger: Ledger) -> list[str]:
    """Every problem found: lost acknowledged writes and half-written or double-booked state."""
    problems: list[str] = []
    referrals = {r["id"]: r for r in db["referral"]}
    offers = {o["id"]: {**o, "reserved": bool(o["reserved"])} for o in db["offer"]}
    offers_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for o in offers.values():
        offers_of[o["referral"]].append(o)
    events = Counter((e["referral"], e["offer"], e["kind"]) for e in db["event"])
    kinds_of = defaultdict(Counter)
    for (referral_id, _, kind), n in events.items():
        kinds_of[referral_id][kind] += n
    notified = {(n["kind"], n["offer"]) for n in db["notification"]} | {(n["kind"], n["referral"]) for n in db["notification"]}

    # Acknowledged writes are all there.
    for referral_id, offer_ids in ledger.referrals.items():
        if referral_id not in referrals:
            problems.append(f"acknowledged referral {referral_id} is missing")
        elif sorted(o["id"] for o in offers_of[referral_id]) != sorted(offer_ids):
            problems.append(f"referral {referral_id}: offers {sorted(o['id'] for o in offers_of[referral_id])}, acknowledged {offer_ids}")
    for offer_id, referral_id in ledger.accepted.items():
        offer, referral = offers.get(offer_id), referrals.get(referral_id)
        if offer is None or offer["status"] != "accepted" or referral is None or referral["placed_offer"] != offer_id:
            problems.append(f"acknowledged accept of offer {offer_id} is lost: {offer}, {referral}")
        elif referral["status"] != "placed" and referral_id not in ledger.cancel_tried:
            problems.append(f"referral {referral_id} of acknowledged accept {offer_id} is {referral['status']}")
    for referral_id in ledger.cancelled:
        if referrals.get(referral_id, {}).get("status") != "cancelled":
            problems.append(f"acknowledged cancel of referral {referral_id} is lost: {referrals.get(referral_id)}")
    services = {s["id"]: s for s in db["service"]}
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in db["capacity_change"]:
        history[row["service"]].append(row)
    for service_id in world.capacity_services[:2]:
        rows = history[service_id]
        values = [r["available"] for r in rows]
        if missing := set(ledger.capacity_acked[service_id]) - set(values):
            problems.append(f"service {service_id}: acknowledged capacity updates lost: {sorted(missing)}")
        if values != sorted(values) or not set(values) <= set(ledger.capacity_sent[service_id]):
            problems.append(f"service {service_id}: capacity history {values} is not a subsequence of what was sent")
        if [r["previous_available"] for r in rows] != [CAPACITY_START, *values[:-1]]:
            problems.append(f"service {service_id}: capacity history does not chain")
        if rows and services[service_id]["capacity_available"] != values[-1]:
            problems.append(f"service {service_id}: capacity_available is not the last figure recorded")

    # Nothing is half-written.
    for referral_id, referral in referrals.items():
        own = offers_of[referral_id]
        accepted = [o for o in own if o["status"] == "accepted"]
        kinds = kinds_of[referral_id]
        if kinds["referral_created"] != 1:
            problems.append(f"referral {referral_id} has {kinds['referral_created']} 'referral_created' events")
        if not own:
            problems.append(f"referral {referral_id} has no offers")
        for o in own:
            if events[(referral_id, o["id"], "offer_sent")] != 1 or ("offer_new", o["id"]) not in notified:
                problems.append(f"offer {o['id']} lacks its 'offer_sent' event or its notification")
        if len(accepted) > 1:
            problems.append(f"referral {referral_id} has {len(accepted)} accepted offers")
        status, placed = referral["status"], referral["placed_offer"]
        if status == "open" and (accepted or placed is not None):
            problems.append(f"open referral {referral_id} has an accepted offer")
        if status in ("placed", "cancelled") and placed is not None:
            if [o["id"] for o in accepted] != [placed]:
                problems.append(f"referral {referral_id} placed with offer {placed} but accepted {[o['id'] for o in accepted]}")
            if events[(referral_id, placed, "offer_accepted")] != 1 or events[(referral_id, placed, "referral_placed")] != 1:
                problems.append(f"referral {referral_id}: acceptance events missing")
            if ("referral_placed", referral_id) not in notified:
                problems.append(f"referral {referral_id}: 'referral_placed' notification missing")
        if status == "placed":
            if placed is None or not offers.get(placed, {}).get("reserved"):
                problems.append(f"placed referral {referral_id} holds no place")
            if any(o["status"] == "pending" for o in own):
                problems.append(f"placed referral {referral_id} still has pending offers")
        if status == "cancelled":
            if any(o["status"] == "pending" or o["reserved"] for o in own) or kinds["referral_cancelled"] != 1:
                problems.append(f"cancelled referral {referral_id} still holds offers or a place, or lacks its event")
            if placed is not None and kinds["place_released"] != 1:
                problems.append(f"cancelled referral {referral_id}: 'place_released' event missing")
        if status not in ("open", "placed", "cancelled"):
            problems.append(f"referral {referral_id} is {status}")
    for service_id in world.shelters:
        s = services[service_id]
        reserved = sum(1 for o in offers.values() if o["service"] == service_id and o["reserved"])
        if not 0 <= s["capacity_available"] == s["capacity_total"] - reserved:
            problems.append(f"shelter {service_id}: available {s['capacity_available']}, total {s['capacity_total']}, {reserved} reserved")
    return problems


# ---- the test -----------------------------------------------------------------------------------


async def served_after_restart(client: httpx.AsyncClient, world: World, ledger: Ledger) -> None:
    """The restarted server answers from what was written before the crash."""
    for offer_id, referral_id in sorted(ledger.accepted.items())[-1:]:
        resp = await client.get(f"/api/v1/referrals/{referral_id}", headers=world.institutions[world.creator_of[referral_id]])
        assert resp.status_code == 200 and resp.json()["placed_offer_id"] == offer_id, resp.text


@pytest.mark.parametrize("engine", ENGINES)
async def test_sigkill_mid_burst_loses_no_acknowledged_write(engine: str, tmp_path: Path) -> None:
    rng = random.Random(4)
    ledger = Ledger()
    log = tmp_path / "server.log"
    async with fresh_database(engine, tmp_path) as url:
        # The first server and the token commands migrate the empty database at the same time.
        server, first_tokens = await asyncio.gather(start_server(url, log), create_tokens(url, FIRST_TOKENS))
        world: World | None = None
        for round_no in range(ROUNDS):
            if round_no:
                server = await start_server(url, log)
            try:
                async with httpx.AsyncClient(base_url=server.base_url, timeout=60.0) as client:
                    if world is None:
                        world = await build_world(client, url, first_tokens)
                    else:
                        await served_after_restart(client, world, ledger)
                    stop = asyncio.Event()
                    ledger.acked_in_round = 0
                    tasks = [asyncio.ensure_future(c) for c in clients(client, world, ledger, rng, stop)]
                    target, started = rng.randint(*KILL_AFTER_ACKED), time.monotonic()
                    while ledger.acked_in_round < target and time.monotonic() - started < ROUND_MAX_S:
                        if failed := [t for t in tasks if t.done() and t.exception()]:
                            raise failed[0].exception()  # type: ignore[misc]
                        await asyncio.sleep(0.01)
                    server.process.send_signal(signal.SIGKILL)
                    server.process.wait(timeout=10)
                    stop.set()
                    await asyncio.gather(*tasks)
            finally:
                if server.process.poll() is None:
                    server.process.kill()
                    server.process.wait(timeout=10)
            assert ledger.acked_in_round >= 10, f"round {round_no}: too few writes answered: {ledger.statuses}\n{server.tail()}"
            assert not ledger.unexpected, "\n".join(ledger.unexpected[:20]) + f"\n{server.tail()}"
            if engine == "sqlite":
                assert sqlite_integrity(url) == [], f"round {round_no}"
            assert world is not None
            problems = check(await snapshot(url), world, ledger)
            assert not problems, f"round {round_no}:\n" + "\n".join(problems[:30])

    # The stream really mixed every kind of write, and the kills hit it.
    for kind in ("create 201", "accept 200", "accept 409", "cancel 200", "capacity 200", "transport error"):
        assert ledger.statuses[kind] > 0, ledger.statuses
