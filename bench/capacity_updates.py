"""Capacity updates per second and their latency, with concurrent NGOs, on SQLite and PostgreSQL.

For each engine: a fresh database is migrated and given one organisation per client, each with one
residential shelter of 50 places and its own ngo token. A real ``python -m referralnet serve``
subprocess is started on it, and every client (a ``_client.Client``: one keep-alive connection, with
its own token) sends ``PUT /api/v1/services/{id}/capacity`` with a random ``available`` (0..50)
``--requests`` times, one request after another, all clients at once. Every response must be 200.

Afterwards the database is read directly: each service's capacity history must hold exactly the
updates that were answered 200, in the order they were sent, each row's ``previous_available`` must
be the row before's ``available`` (no update lost or interleaved) and the service's current figure
must be the last one sent. Any error or mismatch is printed and makes the exit status 1.

    PYTHONPATH=src python bench/capacity_updates.py [--engines sqlite,postgres] [--clients 20]
        [--requests 250] [--postgres-url URL] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_POSTGRES_URL,
    Server,
    format_table,
    fresh_database,
    latency_summary,
    machine_info,
    parse_engines,
    postgres_unreachable,
    report_outcome,
    running_server,
    use_source_tree,
    write_json,
)

use_source_tree()

from _client import Client, HTTPError  # noqa: E402

TOTAL_PLACES = 50


@dataclass
class Tenant:
    """One NGO of the benchmark: its organisation, its shelter and its bearer token."""

    organisation_id: int
    service_id: int
    token: str


@dataclass
class ClientLog:
    latencies: list[float] = field(default_factory=list)
    sent_ok: list[int] = field(default_factory=list)  # "available" values answered 200, in order
    errors: list[str] = field(default_factory=list)


async def prepare(database_url: str, clients: int) -> list[Tenant]:
    """Migrate the empty database and create one organisation, shelter and ngo token per client."""
    from referralnet import db
    from referralnet.accounts.schemas import SYSTEM
    from referralnet.accounts.services import create_token
    from referralnet.clock import SystemClock
    from referralnet.directory.schemas import CapacityIn, OrganisationCreate, ServiceArea, ServiceCreate
    from referralnet.directory.services import create_organisation, create_service

    engine = db.make_engine(database_url)
    await db.migrate(engine)
    db.bind(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    clock = SystemClock()
    tenants = []
    try:
        for i in range(clients):
            org = await create_organisation(
                OrganisationCreate(name=f"Bench NGO {i:03d}", slug=f"bench-ngo-{i:03d}"), SYSTEM, clock
            )
            service = await create_service(
                org.id,
                ServiceCreate(
                    type="residential_shelter",
                    name=f"Bench shelter {i:03d}",
                    service_area=ServiceArea(counties=["RO-B"]),
                    capacity=CapacityIn(unit="places", total=TOTAL_PLACES, available=TOTAL_PLACES),
                ),
                SYSTEM,
                clock,
            )
            token, _ = await create_token(role="ngo", name=f"bench ngo {i:03d}", organisation=org.id, clock=clock)
            tenants.append(Tenant(org.id, service.id, token))
    finally:
        await db.stop(engine)
    return tenants


async def run_client(
    base_url: str, tenant: Tenant, requests: int, rng: random.Random, gate: asyncio.Event, ready: asyncio.Barrier
) -> ClientLog:
    log = ClientLog()
    headers = {"Authorization": f"Bearer {tenant.token}"}
    path = f"/api/v1/services/{tenant.service_id}/capacity"
    async with Client(base_url, headers=headers, timeout=120.0) as client:
        # Warm-up, not timed and not a write: opens the connection and checks the token works.
        warm = await client.get(f"/api/v1/services/{tenant.service_id}")
        if warm.status_code != 200:
            log.errors.append(f"warm-up GET: {warm.status_code} {warm.text[:200]}")
        await ready.wait()
        await gate.wait()
        for _ in range(requests):
            available = rng.randint(0, TOTAL_PLACES)
            started = time.perf_counter()
            try:
                resp = await client.put(path, json={"available": available})
            except HTTPError as exc:
                log.latencies.append(time.perf_counter() - started)
                log.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            log.latencies.append(time.perf_counter() - started)
            if resp.status_code == 200:
                log.sent_ok.append(available)
            else:
                log.errors.append(f"HTTP {resp.status_code}: {resp.text[:300]}")
    return log


@dataclass
class Run:
    logs: list[ClientLog]
    wall_s: float
    server_cpu_s: float | None  # CPU the server used during the run (user + system)
    client_cpu_s: float  # CPU this load generator used during the run


async def load(server: Server, tenants: list[Tenant], requests: int, seed: int) -> Run:
    """All clients at once; the wall time runs from the start signal to the last answer."""
    base_url = server.base_url
    gate = asyncio.Event()
    ready = asyncio.Barrier(len(tenants) + 1)
    tasks = [
        asyncio.create_task(run_client(base_url, t, requests, random.Random(seed * 1_000_003 + i), gate, ready))
        for i, t in enumerate(tenants)
    ]
    await ready.wait()  # every client connected and warmed up
    server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    gate.set()
    logs = await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    server_cpu_end = server.cpu_seconds()
    return Run(
        list(logs),
        wall,
        server_cpu_end - server_cpu if server_cpu is not None and server_cpu_end is not None else None,
        time.process_time() - client_cpu,
    )


async def verify(database_url: str, tenants: list[Tenant], logs: list[ClientLog]) -> list[str]:
    """Problems found by reading the database directly (empty: every update is there, in order)."""
    from referralnet import db
    from referralnet.tables import CapacityChange, Service

    engine = db.make_engine(database_url)
    db.bind(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    try:
        rows = await CapacityChange.select(
            CapacityChange.service, CapacityChange.available, CapacityChange.previous_available
        ).order_by(CapacityChange.id)
        current = {
            r["id"]: r["capacity_available"]
            for r in await Service.select(Service.id, Service.capacity_available)
        }
    finally:
        await db.stop(engine)
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        history[row["service"]].append(row)

    problems = []
    for tenant, log in zip(tenants, logs):
        sid = tenant.service_id
        got = history.get(sid, [])
        if len(got) != len(log.sent_ok):
            problems.append(f"service {sid}: {len(got)} history rows for {len(log.sent_ok)} updates answered 200")
        if [r["available"] for r in got] != log.sent_ok:
            problems.append(f"service {sid}: history values differ from the values sent")
        previous = TOTAL_PLACES
        for n, row in enumerate(got):
            if row["previous_available"] != previous:
                problems.append(
                    f"service {sid}: history row {n} has previous_available={row['previous_available']}, expected {previous}"
                )
                break
            previous = row["available"]
        expected_now = log.sent_ok[-1] if log.sent_ok else TOTAL_PLACES
        if current.get(sid) != expected_now:
            problems.append(f"service {sid}: capacity_available={current.get(sid)}, last sent {expected_now}")
    return problems


async def bench_engine(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    async with fresh_database(engine, args.postgres_url) as url:
        t0 = time.perf_counter()
        tenants = await prepare(url, args.clients)
        print(f"[{engine}] {len(tenants)} organisations, services and tokens ready in {time.perf_counter() - t0:.1f}s")
        async with running_server(url) as server:
            print(f"[{engine}] server at {server.base_url}; {args.clients} clients x {args.requests} updates ...")
            run = await load(server, tenants, args.requests, args.seed)
            server_log = server.log_tail(400)
        logs, wall = run.logs, run.wall_s
        problems = await verify(url, tenants, logs)

    latencies = [v for log in logs for v in log.latencies]
    ok = sum(len(log.sent_ok) for log in logs)
    errors = Counter(e for log in logs for e in log.errors)
    result: dict[str, Any] = {
        "engine": engine,
        "clients": args.clients,
        "requests": len(latencies),
        "ok": ok,
        "errors": sum(errors.values()),
        "wall_s": wall,
        "updates_per_s": ok / wall if wall > 0 else 0.0,
        **latency_summary(latencies),
        # Share of one core: the server is a single uvicorn process; this machine has os.cpu_count() cores.
        "server_cpu_pct": 100 * run.server_cpu_s / wall if run.server_cpu_s is not None and wall > 0 else None,
        "client_cpu_pct": 100 * run.client_cpu_s / wall if wall > 0 else None,
        "history_rows_verified": not problems,
        "error_messages": dict(errors.most_common()),
        "verification_problems": problems,
    }
    report_outcome(engine, result, errors, problems,
                   f"{ok} history rows, in order, previous values chained, current figures match", server_log)
    return result


COLUMNS = [
    ("engine", "engine", ""),
    ("clients", "clients", "d"),
    ("requests", "requests", "d"),
    ("errors", "errors", "d"),
    ("wall_s", "wall s", ".2f"),
    ("updates_per_s", "updates/s", ".0f"),
    ("p50_ms", "p50 ms", ".1f"),
    ("p95_ms", "p95 ms", ".1f"),
    ("p99_ms", "p99 ms", ".1f"),
    ("max_ms", "max ms", ".1f"),
    ("server_cpu_pct", "server CPU %", ".0f"),
    ("client_cpu_pct", "client CPU %", ".0f"),
]


async def main_async(args: argparse.Namespace) -> int:
    results: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for engine in parse_engines(args.engines):
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
    print(f"capacity updates, {args.clients} concurrent clients x {args.requests} requests; "
          f"{info['date']}, {info['cpus']} CPUs, Python {info['python']}")
    print(format_table(results, COLUMNS))
    if args.json:
        write_json(
            args.json,
            {
                "bench": "capacity_updates",
                "machine": info,
                "params": {"clients": args.clients, "requests_per_client": args.requests, "seed": args.seed},
                "skipped": skipped,
                "results": results,
            },
        )
        print(f"results written to {args.json}")
    failed = [r["engine"] for r in results if r["errors"] or r["verification_problems"]]
    if failed:
        print(f"FAILED on {', '.join(failed)}: see the errors above", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engines", default="sqlite,postgres", help="comma-separated: sqlite,postgres (default both)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent NGOs, one token and shelter each (20)")
    parser.add_argument("--requests", type=int, default=250, help="capacity updates per client (250)")
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="PostgreSQL server to create the bench database on (REFERRALNET_TEST_POSTGRES_URL, "
        "else postgresql://postgres@127.0.0.1:5432/test)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the random capacity figures (1)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.requests < 1:
        parser.error("--clients and --requests must be at least 1")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
