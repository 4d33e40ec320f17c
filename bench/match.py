"""Matching latency and throughput on synthetic directories of 1k, 10k and 100k services, SQLite and PostgreSQL.

For each engine and size: a fresh database is migrated and bulk-loaded with a seeded synthetic
directory (``_synthetic.py``). Then, with 200 seeded need profiles:

* service layer (``matching.services.match_profile`` in this process): the first (cold) match, which
  builds the directory snapshot; the snapshot's memory (``tracemalloc``: what a build keeps); the
  SQL a match sends (the same profile again: only the version look-up; a new profile: that, and
  the capacity of its survivors not read yet; never the directory); p50/p99 of ``--requests``
  matches one after another with nothing changing, and of ``--requests`` more each made after a
  capacity update (not timed), which makes every match read its survivors' capacity again;
* HTTP (``python -m referralnet serve``: uvicorn serving ``create_app``, on a free port; the
  benches' light client, ``_client.Client``): the first request, p50/p99 of the same two series,
  then requests/s with ``--clients`` concurrent clients for ``--seconds``; and the same load on a
  bare Litestar JSON endpoint served by uvicorn with the same settings (``_load.py``), in the same run.

Targets: p99 < 25 ms at 10k services and < 100 ms at 100k; match/bare requests/s >= 0.1 at 10k.

    PYTHONPATH=src python bench/match.py [--engine sqlite|postgres|both] [--sizes 1000,10000,100000]
        [--requests 300] [--clients 8] [--seconds 5] [--seed 1] [--postgres-url URL] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import math
import re
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_POSTGRES_URL,
    fresh_database,
    latency_summary,
    machine_info,
    postgres_unreachable,
    print_report,
    running_server,
    use_source_tree,
)

use_source_tree()

import _synthetic  # noqa: E402
import msgspec  # noqa: E402
import numpy as np  # noqa: E402
from _client import Client, Response  # noqa: E402
from _load import bare_server, throughput  # noqa: E402

TARGET_P99_MS = {10_000: 25.0, 100_000: 100.0}
TARGET_RATIO = 0.1
# What a warm match may ask the database: the versions only (the first match read every service's capacity).
VERSION_READ = "SELECT (SELECT value FROM change_counter WHERE name = "  # the directory counter (truncated summary)


# ---- service layer -----------------------------------------------------------------------------


def statement_summary(sql: str) -> str:
    """A statement's first 60 characters, without its id list."""
    sql = re.sub(r"ANY\([^)]*\)", "ANY(...)", re.sub(r"IN \([\d, ]*\)", "IN (...)", sql))
    return sql if len(sql) <= 60 else sql[:57] + "..."


def statements_ok(r: dict[str, Any]) -> bool:
    """The same profile again, and a new one, ask only the versions."""
    same, new = r["repeat_statements"], r["new_profile_statements"]
    return len(same) == 1 and same[0].startswith(VERSION_READ) and len(new) == 1 and new[0].startswith(VERSION_READ)


async def bench_service_layer(url: str, bodies: list[dict[str, Any]], requests: int) -> dict[str, Any]:
    from referralnet import db
    from referralnet.accounts.schemas import SYSTEM
    from referralnet.clock import SystemClock
    from referralnet.directory.capacity import set_capacity
    from referralnet.directory.schemas import CapacityUpdate
    from referralnet.matching import reader
    from referralnet.matching.cache import DirectoryCache
    from referralnet.matching.directory import Directory
    from referralnet.matching.loading import load_candidates
    from referralnet.matching.profile import Profile
    from referralnet.matching.services import match_profile

    engine = db.make_engine(url)
    db.bind(engine)
    await db.start(engine, pool_min=1, pool_max=4)
    # Every statement, through Piccolo or through matching's reader (whose PostgreSQL path is Piccolo's).
    statements: list[str] = []
    depth = 0
    engine_class, originals = type(engine), (reader.fetch, reader.fetch_columns)
    run_querystring = engine_class.run_querystring

    async def piccolo(self: Any, querystring: Any, *args: Any, **kwargs: Any) -> Any:
        if depth == 0:
            statements.append(str(querystring))
        return await run_querystring(self, querystring, *args, **kwargs)

    def counted(fn: Any) -> Any:
        async def wrapper(sql: str, *args: Any, **kwargs: Any) -> Any:
            nonlocal depth
            statements.append(sql)
            depth += 1
            try:
                return await fn(sql, *args, **kwargs)
            finally:
                depth -= 1

        return wrapper

    engine_class.run_querystring = piccolo  # type: ignore[method-assign]  # the engine's class has slots
    reader.fetch, reader.fetch_columns = counted(originals[0]), counted(originals[1])  # type: ignore[assignment]
    try:
        ps = [msgspec.convert(b, Profile) for b in bodies]
        cache, clock = DirectoryCache(), SystemClock()
        t = time.perf_counter()
        await match_profile(ps[0], cache, clock, stale_days=7)
        cold_ms = (time.perf_counter() - t) * 1000
        cold_statements = len(statements)
        statements.clear()
        await match_profile(ps[0], cache, clock, stale_days=7)
        repeat = [statement_summary(s) for s in statements]
        statements.clear()
        await match_profile(ps[1], cache, clock, stale_days=7)
        new_profile = [statement_summary(s) for s in statements]
        latencies, shown, considered = [], [], []
        for i in range(requests):
            t = time.perf_counter()
            result = await match_profile(ps[i % len(ps)], cache, clock, stale_days=7)
            latencies.append(time.perf_counter() - t)
            shown.append(len(result.candidates))
            considered.append(result.total_considered)
        # Write-heavy: a capacity update (not timed) before each match makes it read its survivors' capacity.
        changed = []
        for i in range(requests):
            await set_capacity(1 + i % len(ps), CapacityUpdate(available=1), SYSTEM, clock)
            t = time.perf_counter()
            await match_profile(ps[i % len(ps)], cache, clock, stale_days=7)
            changed.append(time.perf_counter() - t)
        assert cache.builds == 1 and cache.record_loads == 1, (cache.builds, cache.record_loads)
        gc.collect()
        tracemalloc.start()
        candidates = await load_candidates()
        directory = Directory.build(candidates)
        del candidates
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        arrays = sum(v.nbytes for v in vars(directory).values() if isinstance(v, np.ndarray))
    finally:
        engine_class.run_querystring = run_querystring  # type: ignore[method-assign]
        reader.fetch, reader.fetch_columns = originals  # type: ignore[assignment]
        await db.stop(engine)
    s, c = latency_summary(latencies), latency_summary(changed)
    return {
        "cold_ms": cold_ms, "cold_statements": cold_statements, "repeat_statements": repeat, "new_profile_statements": new_profile,
        "svc_p50_ms": s["p50_ms"], "svc_p99_ms": s["p99_ms"], "svc_mean_ms": s["mean_ms"],
        "svc_changed_p50_ms": c["p50_ms"], "svc_changed_p99_ms": c["p99_ms"],
        "cache_mb": kept / 2**20, "arrays_mb": arrays / 2**20,
        "mean_considered": statistics.fmean(considered), "mean_shown": statistics.fmean(shown),
    }  # fmt: skip


# ---- HTTP --------------------------------------------------------------------------------------


async def bench_http(url: str, tokens: dict[str, str], bodies: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {tokens['institution']}"}
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    payloads = [msgspec.json.encode({"profile": b}) for b in bodies]

    async def match(client: Client, i: int) -> Response:
        return await client.post("/api/v1/matches", content=payloads[i % len(payloads)], headers={**headers, "Content-Type": "application/json"})

    async def hello(client: Client, i: int) -> Response:
        return await client.get("/json")

    requests = args.requests
    async with running_server(url) as server:
        async with Client(server.base_url, timeout=120.0) as client:
            t = time.perf_counter()
            first = await match(client, 0)
            first_ms = (time.perf_counter() - t) * 1000
            assert first.status_code == 200, first.text[:500]
            latencies, changed = [], []
            for i in range(requests):
                t = time.perf_counter()
                resp = await match(client, i)
                latencies.append(time.perf_counter() - t)
                assert resp.status_code == 200, resp.text[:500]
            for i in range(requests):  # each after a capacity update (not timed), as when NGOs are busy
                put = await client.put(f"/api/v1/services/{1 + i % len(bodies)}/capacity", json={"available": 1}, headers=admin)
                assert put.status_code == 200, put.text[:500]
                t = time.perf_counter()
                resp = await match(client, i)
                changed.append(time.perf_counter() - t)
                assert resp.status_code == 200, resp.text[:500]
        match_rps, match_errors = await throughput(server.base_url, match, args.clients, args.seconds)
    async with bare_server() as bare:
        bare_rps, bare_errors = await throughput(bare.base_url, hello, args.clients, args.seconds)
    s, c = latency_summary(latencies), latency_summary(changed)
    return {
        "http_first_ms": first_ms, "http_p50_ms": s["p50_ms"], "http_p99_ms": s["p99_ms"],
        "http_changed_p50_ms": c["p50_ms"], "http_changed_p99_ms": c["p99_ms"],
        "match_rps": match_rps, "bare_rps": bare_rps, "ratio": match_rps / bare_rps, "http_errors": match_errors + bare_errors,
    }  # fmt: skip


# ---- one engine and size -----------------------------------------------------------------------


async def prepare(url: str, engine_name: str, size: int, seed: int) -> tuple[dict[str, str], dict[str, Any]]:
    """Migrate, bulk-load the directory, then add an institution and the tokens; the tokens and fill figures.

    The synthetic rows name organisations 1..N, so the institution is created after them (created
    first, it would take id 1 and the first synthetic organisation's services would be its own).
    """
    from referralnet import db
    from referralnet.accounts.schemas import SYSTEM
    from referralnet.accounts.services import create_token
    from referralnet.clock import SystemClock
    from referralnet.directory.schemas import OrganisationCreate
    from referralnet.directory.services import create_organisation

    engine = db.make_engine(url)
    await db.migrate(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    try:  # the synthetic referrals' author: an admin token, which needs no organisation
        admin, admin_actor = await create_token(role="admin", name="bench admin")
    finally:
        await db.stop(engine)
    t = time.perf_counter()
    data = _synthetic.generate(size, seed, dt.datetime.now(dt.timezone.utc))
    generated = time.perf_counter() - t
    if engine_name == "sqlite":
        await asyncio.to_thread(_synthetic.load_sqlite, url.removeprefix("sqlite:///"), data, admin_actor.token_id)
    else:
        await _synthetic.load_postgres(url, data, admin_actor.token_id)
    loaded = time.perf_counter() - t - generated
    await db.start(engine, pool_min=1, pool_max=2)
    try:
        inst = await create_organisation(
            OrganisationCreate(name="Bench institution", kind="institution", institution_type="police"), SYSTEM, SystemClock()
        )
        token, _ = await create_token(role="institution", name="bench", organisation=inst.id)
    finally:
        await db.stop(engine)
    return {"institution": token, "admin": admin}, {
        "organisations": len(data.organisations), "sites": len(data.sites), "offers": len(data.offers),
        "generate_s": generated, "load_s": loaded,
    }  # fmt: skip


async def bench_one(engine: str, size: int, args: argparse.Namespace, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    async with fresh_database(engine, args.postgres_url) as url:
        tokens, fill = await prepare(url, engine, size, args.seed)
        print(f"[{engine} {size:,}] loaded {fill['organisations']:,} organisations, {fill['sites']:,} sites, "
              f"{fill['offers']:,} offers in {fill['generate_s'] + fill['load_s']:.1f} s", flush=True)  # fmt: skip
        svc = await bench_service_layer(url, bodies, args.requests)
        print(f"[{engine} {size:,}] service layer: cold {svc['cold_ms']:.0f} ms, p50 {svc['svc_p50_ms']:.1f} ms, "
              f"p99 {svc['svc_p99_ms']:.1f} ms (after a capacity change: p50 {svc['svc_changed_p50_ms']:.1f}, "
              f"p99 {svc['svc_changed_p99_ms']:.1f}); the same profile again runs {svc['repeat_statements']}, "
              f"a new one {svc['new_profile_statements']}", flush=True)  # fmt: skip
        http = await bench_http(url, tokens, bodies, args)
        print(f"[{engine} {size:,}] HTTP: p50 {http['http_p50_ms']:.1f} ms, p99 {http['http_p99_ms']:.1f} ms (after a "
              f"capacity change: p50 {http['http_changed_p50_ms']:.1f}, p99 {http['http_changed_p99_ms']:.1f}); "
              f"{http['match_rps']:.0f} matches/s vs {http['bare_rps']:.0f} bare/s", flush=True)  # fmt: skip
    return {"engine": engine, "services": size, **fill, **svc, **http}


COLUMNS = [
    ("engine", "engine", ""), ("services", "services", ","), ("cold_ms", "cold ms", ".0f"), ("cache_mb", "cache MB", ".1f"),
    ("svc_p50_ms", "svc p50", ".1f"), ("svc_p99_ms", "svc p99", ".1f"),
    ("svc_changed_p50_ms", "svc p50 chg", ".1f"), ("svc_changed_p99_ms", "svc p99 chg", ".1f"),
    ("http_first_ms", "HTTP 1st ms", ".0f"), ("http_p50_ms", "HTTP p50", ".1f"), ("http_p99_ms", "HTTP p99", ".1f"),
    ("http_changed_p50_ms", "HTTP p50 chg", ".1f"), ("http_changed_p99_ms", "HTTP p99 chg", ".1f"),
    ("match_rps", "match/s", ".0f"), ("bare_rps", "bare/s", ".0f"), ("ratio", "ratio", ".3f"), ("growth", "p50 chg growth", ".2f"),
]  # fmt: skip


def add_growth(rows: list[dict[str, Any]]) -> None:
    """``growth``: k in p50 ~ size^k between this size and the previous one (matches after a capacity change)."""
    for prev, row in zip(rows, rows[1:]):
        if prev["engine"] == row["engine"]:
            ratio = row["svc_changed_p50_ms"] / prev["svc_changed_p50_ms"]
            row["growth"] = math.log(ratio) / math.log(row["services"] / prev["services"])


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in rows:
        target = TARGET_P99_MS.get(r["services"])
        if target is not None:
            for key in ("svc_p99_ms", "svc_changed_p99_ms", "http_p99_ms", "http_changed_p99_ms"):
                ok = "OK" if r[key] < target else "MISSED"
                out.append(f"{r['engine']} {r['services']:,} {key.removesuffix('_ms')} {r[key]:.1f} ms < {target:g} ms: {ok}")
        if r["services"] == 10_000:
            out.append(f"{r['engine']} 10,000 match/bare {r['ratio']:.3f} >= {TARGET_RATIO}: {'OK' if r['ratio'] >= TARGET_RATIO else 'MISSED'}")
        if not statements_ok(r):
            out.append(f"{r['engine']} {r['services']:,}: unexpected statements: {r['repeat_statements']} / {r['new_profile_statements']}")
    return out


async def main_async(args: argparse.Namespace) -> int:
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    sizes = [int(s) for s in args.sizes.split(",")]
    bodies = _synthetic.profiles(200, args.seed)
    rows, skipped = [], {}
    for engine in engines:
        if engine == "postgres" and (why := await postgres_unreachable(args.postgres_url)):
            skipped[engine] = why
            print(f"[postgres] SKIPPED: cannot connect to {args.postgres_url} ({why})")
            continue
        for size in sizes:
            rows.append(await bench_one(engine, size, args, bodies))
    if not rows:
        return 2
    add_growth(rows)
    info = machine_info()
    headline = (f"\nmatching; {info['date']}, {info['cpus']} CPUs, Python {info['python']}; {args.requests} matches per "
                f"figure, {args.clients} clients for requests/s; latencies in ms\n")  # fmt: skip
    return print_report("match", headline, rows, COLUMNS, verdicts(rows), args, info, skipped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated directory sizes (services)")
    parser.add_argument("--requests", type=int, default=300, help="matches per latency figure (300)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for requests/s (8)")
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each requests/s measurement (5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the directory and the profiles (1)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="server to create the bench database on")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
