"""Referrals placed per second, with concurrent institutions and NGOs, on SQLite and PostgreSQL.

For each engine: a fresh database is migrated and given ``--ngos`` organisations (default 10), each
with one residential shelter in a different county (national service area, a seeded number of
places: most roomy, a few with only 3 so they fill up), an ngo token per organisation and an
institution token per client (default 20, each in its own county). A real ``python -m referralnet
serve`` subprocess is started on it. Every institution (a ``_client.Client``, one keep-alive
connection, with its own token) sends ``POST /api/v1/referrals`` ``--referrals`` times, one after another, with an anonymised profile
from its county and ``service_ids: null``, so the server asks the top 3 matching shelters in
parallel. Each offer in an answer is handed to its NGO's client, which sends ``POST
/api/v1/offers/{id}/accept`` at once: the NGOs of one referral race, the first wins (200), the others
get 409, as does an accept when the shelter has no free place left.

Afterwards the database is read directly: every referral answered 201 and every accept answered
200 must be there; no referral may have two accepted offers; each placed referral must hold its
accepted offer; and for every shelter the places reserved by offers and the accepted offers must
each equal total - available (exactly one acceptance per place taken), with available never below
0, and an accept refused for "no free place" only by a shelter that is full. Any other answer or
mismatch is printed and makes the exit status 1; so does placed/s below issue 13's target (200 on
PostgreSQL, 100 on SQLite).

    PYTHONPATH=src python bench/referrals.py [--engine sqlite|postgres|both] [--institutions 20]
        [--referrals 20] [--ngos 10] [--seed 1] [--postgres-url URL] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_POSTGRES_URL,
    ENGINES,
    Server,
    format_table,
    fresh_database,
    latency_summary,
    machine_info,
    postgres_unreachable,
    report_outcome,
    running_server,
    use_source_tree,
    write_json,
)

use_source_tree()

from _client import Client, HTTPError, Response  # noqa: E402

ROOMY_PLACES = 60
SMALL_PLACES = 3
SMALL_SHARE = 0.2  # of shelters with only SMALL_PLACES places
# Counties of the shelters and the institutions, in the order they are handed out.
COUNTIES = [
    "RO-B", "RO-CJ", "RO-IS", "RO-TM", "RO-CT", "RO-BV", "RO-DJ", "RO-GL", "RO-PH", "RO-BH",
    "RO-AR", "RO-SB", "RO-SV", "RO-BC", "RO-MM", "RO-AG", "RO-MS", "RO-NT", "RO-BZ", "RO-VL",
]  # fmt: skip


@dataclass
class Shelter:
    """One NGO of the benchmark: its organisation, its shelter and its bearer token."""

    organisation_id: int
    service_id: int
    places: int
    token: str


@dataclass
class Institution:
    token: str
    county: str


@dataclass
class ClientLog:
    latencies: list[float] = field(default_factory=list)
    ok: list[int] = field(default_factory=list)  # referrals answered 201, or offers whose accept was answered 200
    conflicts: Counter[str] = field(default_factory=Counter)  # accepts answered 409, by reason
    errors: list[str] = field(default_factory=list)


def profile(county: str) -> dict[str, Any]:
    return {
        "age_band": "25-39",
        "gender": "female",
        "nationality_group": "romanian",
        "exploitation_forms": ["sexual"],
        "needs": [{"service_type": "residential_shelter", "priority": "required"}],
        "location": {"county": county},
        "max_distance_km": 1000,
        "urgency": "urgent",
    }


async def prepare(database_url: str, institutions: int, ngos: int, rng: random.Random) -> tuple[list[Institution], list[Shelter]]:
    """Migrate the empty database; create the shelters and every token through the service layer."""
    from referralnet import db
    from referralnet.accounts.schemas import SYSTEM
    from referralnet.accounts.services import create_token
    from referralnet.clock import SystemClock
    from referralnet.directory.schemas import (
        CapacityIn,
        Eligibility,
        OrganisationCreate,
        ServiceArea,
        ServiceCreate,
        SiteIn,
    )
    from referralnet.directory.services import create_organisation, create_service
    from referralnet.vocabulary.geo import counties

    seats = counties()
    engine = db.make_engine(database_url)
    await db.migrate(engine)
    db.bind(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    clock = SystemClock()
    shelters, clients = [], []
    try:
        for i in range(ngos):
            county = COUNTIES[i % len(COUNTIES)]
            places = SMALL_PLACES if rng.random() < SMALL_SHARE else ROOMY_PLACES
            org = await create_organisation(
                OrganisationCreate(
                    name=f"Bench NGO {i:03d}", slug=f"bench-ngo-{i:03d}", referral_email=f"ngo{i:03d}@bench.example.org"
                ),
                SYSTEM,
                clock,
            )
            service = await create_service(
                org.id,
                ServiceCreate(
                    type="residential_shelter",
                    name=f"Bench shelter {i:03d}",
                    eligibility=Eligibility(
                        age_min=18, genders=["female"], nationality_groups=["romanian", "eu_eea", "third_country"],
                        exploitation_forms=["sexual", "labour"],
                    ),  # fmt: skip
                    service_area=ServiceArea(national=True),
                    sites=[SiteIn(county=county, locality=seats[county].seat)],
                    capacity=CapacityIn(unit="places", total=places, available=places),
                ),
                SYSTEM,
                clock,
            )
            token, _ = await create_token(role="ngo", name=f"bench ngo {i:03d}", organisation=org.id, clock=clock)
            shelters.append(Shelter(org.id, service.id, places, token))
        for i in range(institutions):
            inst = await create_organisation(
                OrganisationCreate(name=f"Bench institution {i:03d}", kind="institution", institution_type="police"), SYSTEM, clock
            )
            token, _ = await create_token(role="institution", name=f"bench institution {i:03d}", organisation=inst.id, clock=clock)
            clients.append(Institution(token, rng.choice(COUNTIES)))
    finally:
        await db.stop(engine)
    return clients, shelters


async def _post(client: Client, log: ClientLog, path: str, **kw: Any) -> Response | None:
    """POST, timing it; a transport error is logged and gives ``None``."""
    started = time.perf_counter()
    try:
        resp = await client.post(path, **kw)
    except HTTPError as exc:
        log.errors.append(f"{type(exc).__name__}: {exc}")
        return None
    finally:
        log.latencies.append(time.perf_counter() - started)
    return resp


async def run_institution(
    base_url: str, who: Institution, referrals: int, inboxes: dict[int, asyncio.Queue[int | None]],
    gate: asyncio.Event, ready: asyncio.Barrier,
) -> ClientLog:  # fmt: skip
    log = ClientLog()
    body = {"profile": profile(who.county), "consent": True, "service_ids": None}
    async with Client(base_url, headers={"Authorization": f"Bearer {who.token}"}, timeout=120.0) as client:
        # Warm-up, not timed and not a write: opens the connection and checks the token works.
        warm = await client.get("/api/v1/services", params={"limit": 1})
        if warm.status_code != 200:
            log.errors.append(f"warm-up GET: {warm.status_code} {warm.text[:200]}")
        await ready.wait()
        await gate.wait()
        for _ in range(referrals):
            resp = await _post(client, log, "/api/v1/referrals", json=body)
            if resp is None:
                continue
            if resp.status_code != 201:
                log.errors.append(f"create: HTTP {resp.status_code}: {resp.text[:300]}")
                continue
            referral = resp.json()
            log.ok.append(referral["id"])
            # Stands in for the notification: each asked NGO hears of its offer at once.
            for offer in referral["offers"]:
                inboxes[offer["organisation_id"]].put_nowait(offer["id"])
    return log


async def run_ngo(
    base_url: str, shelter: Shelter, inbox: asyncio.Queue[int | None], gate: asyncio.Event, ready: asyncio.Barrier
) -> ClientLog:
    log = ClientLog()
    async with Client(base_url, headers={"Authorization": f"Bearer {shelter.token}"}, timeout=120.0) as client:
        warm = await client.get(f"/api/v1/services/{shelter.service_id}")
        if warm.status_code != 200:
            log.errors.append(f"warm-up GET: {warm.status_code} {warm.text[:200]}")
        await ready.wait()
        await gate.wait()
        while (offer_id := await inbox.get()) is not None:
            resp = await _post(client, log, f"/api/v1/offers/{offer_id}/accept")
            if resp is None:
                continue
            if resp.status_code == 200 and resp.json()["status"] == "accepted":
                log.ok.append(offer_id)
            elif resp.status_code == 409:
                detail = resp.json()["detail"]
                log.conflicts["no free place" if "no free place" in detail else "referral already placed"] += 1
            else:
                log.errors.append(f"accept: HTTP {resp.status_code}: {resp.text[:300]}")
    return log


@dataclass
class Run:
    institutions: list[ClientLog]
    ngos: list[ClientLog]
    wall_s: float
    server_cpu_s: float | None
    client_cpu_s: float


async def load(server: Server, institutions: list[Institution], shelters: list[Shelter], referrals: int) -> Run:
    """All institutions and NGOs start together; the clock stops at the last NGO's last answer."""
    inboxes: dict[int, asyncio.Queue[int | None]] = {s.organisation_id: asyncio.Queue() for s in shelters}
    gate = asyncio.Event()
    ready = asyncio.Barrier(len(institutions) + len(shelters) + 1)
    referrers = [
        asyncio.create_task(run_institution(server.base_url, who, referrals, inboxes, gate, ready)) for who in institutions
    ]
    ngos = [asyncio.create_task(run_ngo(server.base_url, s, inboxes[s.organisation_id], gate, ready)) for s in shelters]
    await ready.wait()
    server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    gate.set()
    institution_logs = await asyncio.gather(*referrers)
    for inbox in inboxes.values():
        inbox.put_nowait(None)  # after every offer already queued: the NGO answers those first
    ngo_logs = await asyncio.gather(*ngos)
    wall = time.perf_counter() - started
    server_cpu_end = server.cpu_seconds()
    return Run(
        list(institution_logs),
        list(ngo_logs),
        wall,
        server_cpu_end - server_cpu if server_cpu is not None and server_cpu_end is not None else None,
        time.process_time() - client_cpu,
    )


async def verify(database_url: str, shelters: list[Shelter], run: Run) -> list[str]:
    """Problems found by reading the database directly (empty: nothing lost, nothing double-booked)."""
    from referralnet import db
    from referralnet.tables import Offer, Referral, Service

    engine = db.make_engine(database_url)
    db.bind(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    try:
        referrals = {r["id"]: r for r in await Referral.select(Referral.id, Referral.status, Referral.placed_offer)}
        offers = {o["id"]: o for o in await Offer.select(Offer.id, Offer.referral, Offer.service, Offer.status, Offer.reserved)}
        services = {
            s["id"]: s for s in await Service.select(Service.id, Service.capacity_total, Service.capacity_available)
        }
    finally:
        await db.stop(engine)

    problems = []
    created = [r for log in run.institutions for r in log.ok]
    accepted = [o for log in run.ngos for o in log.ok]
    if missing := sorted(set(created) - set(referrals)):
        problems.append(f"{len(missing)} referrals answered 201 are missing, e.g. {missing[:5]}")
    for offer_id in accepted:
        offer = offers.get(offer_id)
        if offer is None or offer["status"] != "accepted" or referrals[offer["referral"]]["placed_offer"] != offer_id:
            problems.append(f"offer {offer_id} answered 200 to its accept is not the placed offer of its referral")
    by_referral = Counter(o["referral"] for o in offers.values() if o["status"] == "accepted")
    if twice := [r for r, n in by_referral.items() if n > 1]:
        problems.append(f"{len(twice)} referrals have more than one accepted offer, e.g. {twice[:5]}")
    placed = [r for r in referrals.values() if r["status"] == "placed"]
    if len(placed) != len(accepted):
        problems.append(f"{len(placed)} referrals are placed, but {len(accepted)} accepts were answered 200")
    for r in placed:
        if not offers.get(r["placed_offer"], {}).get("reserved"):
            problems.append(f"placed referral {r['id']} holds no place")
    reserved = Counter(o["service"] for o in offers.values() if o["reserved"])
    won = Counter(o["service"] for o in offers.values() if o["status"] == "accepted")
    for s, ngo in zip(shelters, run.ngos):
        row = services[s.service_id]
        # Exactly one acceptance per place taken, never more than the places; "no free place" only when full.
        if won[s.service_id] != row["capacity_total"] - row["capacity_available"] or won[s.service_id] > s.places:
            problems.append(f"service {s.service_id}: {won[s.service_id]} offers accepted for {s.places} places, "
                            f"{row['capacity_available']} still free")  # fmt: skip
        if ngo.conflicts["no free place"] and row["capacity_available"] != 0:
            problems.append(f"service {s.service_id}: an accept was refused for no free place, but {row['capacity_available']} are free")
        if row["capacity_total"] != s.places or row["capacity_available"] < 0:
            problems.append(f"service {s.service_id}: total {row['capacity_total']}, available {row['capacity_available']}")
        if reserved[s.service_id] != row["capacity_total"] - row["capacity_available"]:
            problems.append(
                f"service {s.service_id}: {reserved[s.service_id]} places reserved by offers, "
                f"but total - available = {row['capacity_total'] - row['capacity_available']}"
            )
    return problems


async def bench_engine(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    async with fresh_database(engine, args.postgres_url) as url:
        t0 = time.perf_counter()
        institutions, shelters = await prepare(url, args.institutions, args.ngos, rng)
        print(
            f"[{engine}] {len(shelters)} shelters ({sum(s.places for s in shelters)} places) and "
            f"{len(institutions)} institutions ready in {time.perf_counter() - t0:.1f}s"
        )
        async with running_server(url) as server:
            print(f"[{engine}] server at {server.base_url}; {args.institutions} institutions x {args.referrals} referrals ...")
            run = await load(server, institutions, shelters, args.referrals)
            server_log = server.log_tail(400)
        problems = await verify(url, shelters, run)

    create_lat = [v for log in run.institutions for v in log.latencies]
    accept_lat = [v for log in run.ngos for v in log.latencies]
    created = sum(len(log.ok) for log in run.institutions)
    placed = sum(len(log.ok) for log in run.ngos)
    conflicts: Counter[str] = Counter()
    for log in run.ngos:
        conflicts.update(log.conflicts)
    errors = Counter(e for log in [*run.institutions, *run.ngos] for e in log.errors)
    create_summary, accept_summary = latency_summary(create_lat), latency_summary(accept_lat)
    wall = run.wall_s
    result: dict[str, Any] = {
        "engine": engine,
        "institutions": args.institutions,
        "ngos": len(shelters),
        "created": created,
        "accepts": len(accept_lat),
        "placed": placed,
        "lost_race": conflicts["referral already placed"],
        "no_place": conflicts["no free place"],
        "errors": sum(errors.values()),
        "wall_s": wall,
        "placed_per_s": placed / wall if wall > 0 else 0.0,
        "created_per_s": created / wall if wall > 0 else 0.0,
        **{f"create_{k}": v for k, v in create_summary.items()},
        **{f"accept_{k}": v for k, v in accept_summary.items()},
        "server_cpu_pct": 100 * run.server_cpu_s / wall if run.server_cpu_s is not None and wall > 0 else None,
        "client_cpu_pct": 100 * run.client_cpu_s / wall if wall > 0 else None,
        # CPU per placed referral (about 4 requests: a create and 3 racing accepts) of this load generator and the server.
        "client_cpu_ms_per_placed": 1000 * run.client_cpu_s / placed if placed else None,
        "server_cpu_ms_per_placed": 1000 * run.server_cpu_s / placed if placed and run.server_cpu_s is not None else None,
        "verified": not problems,
        "error_messages": dict(errors.most_common()),
        "verification_problems": problems,
    }
    report_outcome(engine, result, errors, problems,
                   f"{created} referrals and {placed} acceptances in the database, none placed twice, "
                   "reserved places = total - available on every shelter, none below 0", server_log)
    return result


# Issue 13's targets: referrals placed per second with 20 concurrent institutions.
TARGETS = {"postgres": 200.0, "sqlite": 100.0}

COLUMNS = [
    ("engine", "engine", ""),
    ("created", "referrals", "d"),
    ("placed", "placed", "d"),
    ("lost_race", "lost race", "d"),
    ("no_place", "no place", "d"),
    ("errors", "errors", "d"),
    ("wall_s", "wall s", ".2f"),
    ("placed_per_s", "placed/s", ".1f"),
    ("create_p50_ms", "create p50 ms", ".0f"),
    ("create_p99_ms", "create p99 ms", ".0f"),
    ("accept_p50_ms", "accept p50 ms", ".0f"),
    ("accept_p99_ms", "accept p99 ms", ".0f"),
    ("server_cpu_pct", "server CPU %", ".0f"),
    ("client_cpu_pct", "client CPU %", ".0f"),
    ("server_cpu_ms_per_placed", "server CPU ms/placed", ".2f"),
    ("client_cpu_ms_per_placed", "client CPU ms/placed", ".2f"),
]


async def main_async(args: argparse.Namespace) -> int:
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for engine in ENGINES if args.engine == "both" else (args.engine,):
        if engine == "postgres":
            reason = await postgres_unreachable(args.postgres_url)
            if reason:
                skipped[engine] = reason
                print(f"[postgres] SKIPPED: cannot connect to {args.postgres_url} ({reason})")
                continue
        results.append(await bench_engine(engine, args))

    if not results:
        print("no engine was benchmarked", file=sys.stderr)
        return 2
    info = machine_info()
    print()
    print(
        f"referrals, {args.institutions} concurrent institutions x {args.referrals} referrals, {args.ngos} NGOs accepting; "
        f"{info['date']}, {info['cpus']} CPUs, Python {info['python']}"
    )
    print(format_table(results, COLUMNS))
    if args.json:
        write_json(
            args.json,
            {
                "bench": "referrals",
                "machine": info,
                "params": {
                    "institutions": args.institutions,
                    "referrals_per_institution": args.referrals,
                    "ngos": args.ngos,
                    "seed": args.seed,
                },
                "skipped": skipped,
                "results": results,
            },
        )
        print(f"results written to {args.json}")
    missed = []
    for r in results:
        target = TARGETS[r["engine"]]
        verdict = "OK" if r["placed_per_s"] >= target else "MISSED"
        missed += [r["engine"]] if verdict == "MISSED" else []
        print(f"{r['engine']}: {r['placed_per_s']:.1f} placed/s >= {target}: {verdict}")
    failed = [r["engine"] for r in results if r["errors"] or r["verification_problems"]]
    if failed:
        print(f"FAILED on {', '.join(failed)}: see the errors above", file=sys.stderr)
        return 1
    return 1 if missed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=[*ENGINES, "both"], default="both", help="database engine (default both)")
    parser.add_argument("--institutions", type=int, default=20, help="concurrent institutions, one token each (20)")
    parser.add_argument("--referrals", type=int, default=20, help="referrals per institution, one after another (20)")
    parser.add_argument("--ngos", type=int, default=10, help="NGOs, one shelter, token and client each (10)")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="PostgreSQL server to create the bench database on (REFERRALNET_TEST_POSTGRES_URL, "
        "else postgresql://postgres@127.0.0.1:5432/test)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the shelters' places and the institutions' counties (1)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    if args.institutions < 1 or args.referrals < 1 or args.ngos < 3:
        parser.error("--institutions and --referrals must be at least 1, --ngos at least 3")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
