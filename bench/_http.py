"""The body of ``bench/http.py`` (see there): HTTP throughput and latency from outside, with wrk:
the API's hot calls against a bare Litestar endpoint.

For each engine and directory size (synthetic, from ``_synthetic.py``), one ``referralnet serve``
process is driven by ``wrk`` (one thread, ``--connections`` connections, ``--seconds`` each) on:
the bare Litestar ``/json`` (same uvicorn, measured in the same run), ``/health``, an authenticated
GET of one service, the filtered list page (``limit=20``, county and exploitation form), POST match,
PUT capacity, and POST match again while capacity updates arrive at ``--update-rate`` per second.
It prints requests/s, p50, p99 (wrk's ``--latency`` distribution) and the ratio to bare, and checks
issue 13's targets. The latency targets (p99 of PUT capacity, of a match under updates) are judged on
separate light-load rows: with 32 connections in a closed loop, p99 is mostly queueing (about 32 x
the CPU per request), whatever the code. wrk comes from Debian (``apt-get install wrk``) or ``--wrk PATH``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_POSTGRES_URL,
    Server,
    fresh_database,
    machine_info,
    postgres_unreachable,
    print_report,
    running_server,
    use_source_tree,
)

use_source_tree()

import _synthetic  # noqa: E402
import httpx  # noqa: E402
from _client import Client, HTTPError  # noqa: E402
from _load import bare_server  # noqa: E402

COUNTY, FORM = "RO-IS", "labour"
LIST_PATH = f"/api/v1/services?limit=20&county={COUNTY}&exploitation_form={FORM}"

# (engine-independent) targets of issue 13, as ratios to bare or milliseconds.
TARGETS = {"health": 0.6, "service": 0.35, "list": 0.2, "capacity": 0.15}
MATCH_TARGET = {10_000: 0.2, 100_000: 0.08}


def _lua_string(text: str) -> str:
    return "[==[" + text + "]==]"


def lua_script(method: str, paths: list[str], bodies: list[str], token: str) -> str:
    """A wrk script cycling through ``paths`` x ``bodies`` (each connection starts at its own offset)."""
    return "\n".join([
        f"local paths = {{{', '.join(_lua_string(p) for p in paths)}}}",
        f"local bodies = {{{', '.join(_lua_string(b) for b in bodies) or _lua_string('')}}}",
        "local i = math.random(1, 1000003)",
        f'wrk.headers["Authorization"] = "Bearer {token}"',
        'wrk.headers["Content-Type"] = "application/json"',
        "request = function()",
        "  i = i + 1",
        "  local body = nil",
        "  if #bodies[1] > 0 then body = bodies[(i % #bodies) + 1] end",
        f'  return wrk.format("{method}", paths[(i % #paths) + 1], nil, body)',
        "end",
    ])  # fmt: skip


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def parse_wrk(out: str) -> dict[str, Any]:
    """requests/s, p50/p99 (ms), non-2xx answers and socket errors from wrk's ``--latency`` output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    pct = {m.group(1): _ms(m.group(2)) for m in re.finditer(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", out, re.M)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": rps, "p50_ms": pct.get("50"), "p99_ms": pct.get("99"), "requests": int(total.group(1)) if total else 0,
        "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": sum(map(int, sock.groups())) if sock else 0,
    }  # fmt: skip


async def run_wrk(
    wrk: str,
    base_url: str,
    args: argparse.Namespace,
    script: str | None = None,
    path: str = "/",
    server: Server | None = None,
    connections: int | None = None,
) -> dict[str, Any]:
    """wrk's figures; with ``server``, also the CPU time that process spent per answered request (ms)."""
    cpu = server.cpu_seconds() if server is not None else None
    result = await _wrk(wrk, base_url, args, script, path, connections or args.connections)
    end = server.cpu_seconds() if server is not None else None
    if cpu is not None and end is not None and result["requests"]:
        result["cpu_ms"] = 1000 * (end - cpu) / result["requests"]
    return result


async def _wrk(wrk: str, base_url: str, args: argparse.Namespace, script: str | None, path: str, connections: int) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script or "")
    cmd = [wrk, "-t1", f"-c{connections}", f"-d{args.seconds}s", "--latency", "--timeout", "10s"]
    cmd += ["-s", fh.name] if script else []
    proc = await asyncio.create_subprocess_exec(*cmd, base_url + path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = (await proc.communicate())[0].decode()
    Path(fh.name).unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {out}")
    return parse_wrk(out)


async def prepare(url: str, engine: str, size: int, seed: int) -> dict[str, Any]:
    """Migrate, bulk-load the synthetic directory, then make the tokens; ids the requests will use.

    The directory is loaded first so that its organisations get the ids its services refer to;
    the institution the token is bound to comes after them.
    """
    import datetime as dt

    from referralnet import db
    from referralnet.accounts.schemas import SYSTEM
    from referralnet.accounts.services import create_token
    from referralnet.clock import SystemClock
    from referralnet.directory.schemas import OrganisationCreate
    from referralnet.directory.services import create_organisation

    eng = db.make_engine(url)
    await db.migrate(eng)
    await db.start(eng, pool_min=1, pool_max=2)
    try:
        admin, actor = await create_token(role="admin", name="bench admin")
    finally:
        await db.stop(eng)
    data = _synthetic.generate(size, seed, dt.datetime.now(dt.timezone.utc))
    if engine == "sqlite":
        await asyncio.to_thread(_synthetic.load_sqlite, url.removeprefix("sqlite:///"), data, actor.token_id)
    else:
        await _synthetic.load_postgres(url, data, actor.token_id)
    await db.start(eng, pool_min=1, pool_max=2)
    try:
        inst = await create_organisation(
            OrganisationCreate(name="Bench institution", kind="institution", institution_type="police"), SYSTEM, SystemClock()
        )
        institution, _ = await create_token(role="institution", name="bench", organisation=inst.id)
    finally:
        await db.stop(eng)
    sql = "SELECT id, capacity_total FROM service WHERE capacity_total >= 5 AND active ORDER BY id"
    # Services an institution may read (active, of an active organisation: others answer 404 to it, as not there).
    readable = "SELECT s.id FROM service s JOIN organisation o ON o.id = s.organisation WHERE s.active AND o.active ORDER BY s.id"
    if engine == "sqlite":
        with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
            rows = con.execute(sql.replace("AND active", "AND active = 1")).fetchall()
            shown = con.execute(readable.replace("s.active AND o.active", "s.active = 1 AND o.active = 1")).fetchall()
    else:
        import asyncpg

        con = await asyncpg.connect(url)
        try:
            rows = [tuple(r) for r in await con.fetch(sql)]
            shown = [tuple(r) for r in await con.fetch(readable)]
        finally:
            await con.close()
    return {"institution": institution, "admin": admin, "capacity_ids": [r[0] for r in rows], "readable_ids": [r[0] for r in shown], "size": size}


async def capacity_updates(base_url: str, token: str, ids: list[int], rate: float, stop: asyncio.Event) -> dict[str, float]:
    """PUT capacity at ``rate`` per second (each on its own schedule, not waiting for the previous answer) until ``stop``."""
    sent = failed = 0
    tasks: list[asyncio.Task[None]] = []
    idle: list[Client] = []  # keep-alive connections not in use; a PUT due while all are busy opens another
    headers = {"Authorization": f"Bearer {token}"}

    async def put(sid: int, available: int) -> None:
        nonlocal failed
        client = idle.pop() if idle else Client(base_url, headers=headers, timeout=30)
        try:
            resp = await client.put(f"/api/v1/services/{sid}/capacity", json={"available": available, "total": 5})
            failed += resp.status_code != 200
        except HTTPError:
            failed += 1
        idle.append(client)

    start = time.perf_counter()
    while not stop.is_set():
        due = start + sent / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        tasks.append(asyncio.create_task(put(ids[sent % len(ids)], sent % 5)))
        sent += 1
    elapsed = time.perf_counter() - start
    await asyncio.gather(*tasks)
    for client in idle:
        await client.aclose()
    return {"sent": sent, "failed": failed, "rate": sent / elapsed}


async def warm_up(base_url: str, token: str, bodies: list[str]) -> None:
    """One request of each read kind first: the matching snapshot (seconds at 100k) is built before any figure."""
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
        for resp in (
            await client.get(LIST_PATH),
            await client.get("/api/v1/services/1"),
            await client.post("/api/v1/matches", content=bodies[0], headers={"Content-Type": "application/json"}),
        ):
            resp.raise_for_status()


def _load() -> str:
    """The 1-minute load average (how busy the machine was), for the report."""
    return f"{os.getloadavg()[0]:.1f}"


async def bench_one(wrk: str, engine: str, size: int, args: argparse.Namespace) -> list[dict[str, Any]]:
    """One engine and size: every case between two runs of the bare endpoint (both servers stay up).

    A case's ratio is its requests/s over the mean of the bare runs just before and just after it,
    so that a machine whose load changes during the run (other jobs) moves both alike.
    """
    bodies = [json.dumps({"profile": p, "limit": 20}) for p in _synthetic.profiles(50, args.seed)]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    async with fresh_database(engine, args.postgres_url) as url:
        ids = await prepare(url, engine, size, args.seed)
        inst, adm, cap_ids = ids["institution"], ids["admin"], ids["capacity_ids"]
        print(f"[{engine} {size:,}] directory ready in {time.perf_counter() - started:.0f} s (load {_load()})", flush=True)
        async with bare_server() as bare, running_server(url) as server:
            readable = ids["readable_ids"]  # about 1,000 of them, spread over the directory
            service_paths = [f"/api/v1/services/{i}" for i in readable[:: max(1, len(readable) // 997)]]
            cases = [
                ("health", "GET /health", None, "/health"),
                ("service", "GET one service", lua_script("GET", service_paths, [], inst), "/"),
                ("list", "GET list limit=20 county+form", lua_script("GET", [LIST_PATH], [], inst), "/"),
                ("match", "POST match", lua_script("POST", ["/api/v1/matches"], bodies, inst), "/"),
                ("capacity", "PUT capacity", lua_script(
                    "PUT", [f"/api/v1/services/{i}/capacity" for i in cap_ids[:500]],
                    [json.dumps({"available": k, "total": 5}) for k in range(5)], adm), "/"),
                ("match_under_change", "POST match + PUT/s", lua_script("POST", ["/api/v1/matches"], bodies, inst), "/"),
            ]  # fmt: skip
            await warm_up(server.base_url, inst, bodies)
            before = await run_wrk(wrk, bare.base_url, args, path="/json", server=bare)
            bares = [before["rps"]]
            rows.append({"engine": engine, "size": size, "request": "bare /json", **before, "ratio": 1.0, "load": _load()})
            print(f"[{engine} {size:,}] bare {before['rps']:.0f} req/s", flush=True)
            runs: dict[str, list[dict[str, Any]]] = {key: [] for key, *_ in cases}
            for key, label, script, path in [case for _ in range(args.rounds) for case in cases]:
                upd: dict[str, float] | None = None
                if key == "match_under_change":
                    stop = asyncio.Event()
                    updater = asyncio.create_task(capacity_updates(server.base_url, adm, cap_ids[500:] or cap_ids, args.update_rate, stop))
                r = await run_wrk(wrk, server.base_url, args, script, path, server=server)
                if key == "match_under_change":
                    stop.set()
                    upd = await updater
                    label = f"POST match + {upd['rate']:.0f} PUT/s"
                after = await run_wrk(wrk, bare.base_url, args, path="/json", server=bare)
                bares.append(after["rps"])
                reference = (before["rps"] + after["rps"]) / 2
                bare_cpu = [b["cpu_ms"] for b in (before, after) if b.get("cpu_ms")]
                row = {"engine": engine, "size": size, "request": label, "key": key, **r, "ratio": r["rps"] / reference,
                       "bare_rps": reference, "load": _load()}  # fmt: skip
                if bare_cpu and r.get("cpu_ms"):  # what the ratio would be if both were bound by the server's CPU alone
                    row["cpu_ratio"] = sum(bare_cpu) / len(bare_cpu) / r["cpu_ms"]
                if upd is not None:
                    row["non_2xx"] += upd["failed"]
                runs[key].append(row)
                print(f"[{engine} {size:,}] {label}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
                      f"bare around it {reference:.0f} req/s, ratio {row['ratio']:.3f}, load {row['load']}", flush=True)  # fmt: skip
                before = after
            rows.extend(median_run(runs[key]) for key, *_ in cases)
            rows[-len(cases) - 1]["rps"] = sum(bares) / len(bares)  # the bare row: the mean of its runs
            rows.extend(await light_load(wrk, engine, size, server, args, inst, adm, cap_ids, bodies))
    print(f"[{engine} {size:,}] done in {time.perf_counter() - started:.0f} s", flush=True)
    return rows


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Of one case's rounds, the run whose ratio is the median (its own req/s, latencies and CPU, so its figures
    agree with each other), with every round's ratio range and errors; a single run as it is."""
    if len(runs) == 1:
        return runs[0]
    ordered = sorted(runs, key=lambda r: r["ratio"])
    row = dict(ordered[(len(runs) - 1) // 2])
    row.update(rounds=len(runs), ratio_range=f"{ordered[0]['ratio']:.3f}-{ordered[-1]['ratio']:.3f}",
               non_2xx=sum(r["non_2xx"] for r in runs), socket_errors=sum(r["socket_errors"] for r in runs))  # fmt: skip
    return row


# Connections of the paced PUTs: two, so that one slow answer does not hold back every next update.
PACED_CONNECTIONS = 2


def paced(script: str, rate: float) -> str:
    """``script`` with wrk's ``delay()``: each of the ``PACED_CONNECTIONS`` waits its share of ``1000 / rate`` ms
    after an answer before its next request (so the rate is a little under ``rate``)."""
    return script + f"\ndelay = function() return {1000 * PACED_CONNECTIONS / rate:.0f} end"


async def light_load(
    wrk: str, engine: str, size: int, server: Server, args: argparse.Namespace, inst: str, adm: str, cap_ids: list[int], bodies: list[str]
) -> list[dict[str, Any]]:
    """The latency targets at a light load, where p99 shows the request's own time rather than the queue.

    1. PUT capacity alone from two wrk connections paced at ``--update-rate`` together (``paced``:
       each waits 2 x 1000/rate ms after an answer, so a little under the rate), for ``--seconds``
       but at least 5 s (about 250 updates, so p99 is not just the maximum).
    2. POST match from ``--light-connections`` wrk connection(s) (default 1, back to back) while the
       same paced PUTs run beside it in a second wrk; the match's p50/p99, and the PUTs' p99 meanwhile.
    Both from wrk's own latency record (no Python client's time in them).
    """
    put_script = paced(lua_script(
        "PUT", [f"/api/v1/services/{i}/capacity" for i in (cap_ids[500:] or cap_ids)],
        [json.dumps({"available": k, "total": 5}) for k in range(5)], adm), args.update_rate)  # fmt: skip
    light = argparse.Namespace(**{**vars(args), "seconds": max(args.seconds, 5)})
    put = await run_wrk(wrk, server.base_url, light, put_script, "/", server=server, connections=PACED_CONNECTIONS)
    rows = [{"engine": engine, "size": size, "request": f"light: PUT capacity alone, {put['rps']:.0f}/s", "key": "capacity_light",
             **put, "load": _load()}]  # fmt: skip
    match_script = lua_script("POST", ["/api/v1/matches"], bodies, inst)
    match, put = await asyncio.gather(
        run_wrk(wrk, server.base_url, light, match_script, "/", server=server, connections=args.light_connections),
        run_wrk(wrk, server.base_url, light, put_script, "/", connections=PACED_CONNECTIONS),
    )
    label = f"light: POST match, {args.light_connections} conn + {put['rps']:.0f} PUT/s"
    rows.append({"engine": engine, "size": size, "request": label, "key": "match_light", **match, "load": _load(),
                 "put_p99_ms": put["p99_ms"], "non_2xx": match["non_2xx"] + put["non_2xx"]})  # fmt: skip
    for row in rows:
        print(f"[{engine} {size:,}] {row['request']}: p50 {row['p50_ms']:.1f} ms, p99 {row['p99_ms']:.1f} ms", flush=True)
    return rows


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    by = {(r["engine"], r["size"], r.get("key")): r for r in rows}
    for r in rows:
        key, tag = r.get("key"), f"{r['engine']} {r['size']:,}"
        if key in TARGETS:
            out.append(f"{tag} {key} ratio {r['ratio']:.3f} >= {TARGETS[key]}: {'OK' if r['ratio'] >= TARGETS[key] else 'MISSED'}")
        if key == "capacity":
            out.append(f"{tag} capacity p99 {r['p99_ms']:.1f} ms < 20: {'OK' if r['p99_ms'] < 20 else 'MISSED'}")
        if key == "match" and r["size"] in MATCH_TARGET:
            t = MATCH_TARGET[r["size"]]
            out.append(f"{tag} match ratio {r['ratio']:.3f} >= {t}: {'OK' if r['ratio'] >= t else 'MISSED'}")
        if key == "match_under_change" and r["size"] == 10_000:
            out.append(f"{tag} match p99 under updates {r['p99_ms']:.1f} ms < 50: {'OK' if r['p99_ms'] < 50 else 'MISSED'}")
        if key == "capacity_light":
            out.append(f"{tag} light load: capacity p99 {r['p99_ms']:.1f} ms < 20: {'OK' if r['p99_ms'] < 20 else 'MISSED'}")
        if key == "match_light" and r["size"] == 10_000:
            verdict = "OK" if r["p99_ms"] < 50 else "MISSED"
            out.append(f"{tag} light load: match p99 under updates {r['p99_ms']:.1f} ms < 50: {verdict} "
                       f"(the PUTs' p99 meanwhile {r['put_p99_ms']:.1f} ms)")  # fmt: skip
        if key == "list" and r["size"] == 100_000 and (small := by.get((r["engine"], 1000, "list"))):
            growth = r["p99_ms"] / small["p99_ms"]
            verdict = "OK" if growth <= 2 else "MISSED"
            out.append(f"{tag} list p99 {r['p99_ms']:.1f} ms vs 1k {small['p99_ms']:.1f} ms = {growth:.2f}x <= 2: {verdict}")
        if r["non_2xx"] or r["socket_errors"]:
            out.append(f"{tag} {r['request']}: unexpected {r['non_2xx']} non-2xx answers, {r['socket_errors']} socket errors")
    return out


COLUMNS = [
    ("engine", "engine", ""), ("size", "services", ","), ("request", "request", ""), ("rps", "req/s", ".0f"),
    ("p50_ms", "p50 ms", ".2f"), ("p99_ms", "p99 ms", ".2f"), ("bare_rps", "bare around", ".0f"), ("ratio", "ratio", ".3f"),
    ("cpu_ms", "server CPU ms/req", ".2f"), ("cpu_ratio", "CPU ratio", ".3f"), ("non_2xx", "non-2xx", "d"), ("load", "load", ""),
]  # fmt: skip


async def main_async(args: argparse.Namespace) -> int:
    wrk = args.wrk or shutil.which("wrk")
    if not wrk:
        print("wrk not found: apt-get install wrk (Debian), or pass --wrk PATH")
        return 2
    engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
    rows, skipped = [], {}
    for engine in engines:
        if engine == "postgres" and (why := await postgres_unreachable(args.postgres_url)):
            skipped[engine] = why
            print(f"[postgres] SKIPPED: cannot connect to {args.postgres_url} ({why})")
            continue
        for size in (int(s) for s in args.sizes.split(",")):
            rows.extend(await bench_one(wrk, engine, size, args))
    if not rows:
        return 2
    info = machine_info()
    headline = (f"\nHTTP with wrk; {info['date']}, {info['cpus']} CPUs, Python {info['python']}; 1 thread, "
                f"{args.connections} connections, {args.seconds} s per figure, one server process ({info['server']}, "
                f"the bare endpoint's too); ratio = req/s over the "
                f"mean of the bare runs just before and after; CPU ratio = bare's server CPU per request over the case's "
                f"(the server process only, not PostgreSQL's); load = 1-minute load average after the figure; 'light:' rows: the "
                f"latency targets at a light load (no bare run around them, so no ratio; see bench/README.md)\n")  # fmt: skip
    columns = COLUMNS + [("ratio_range", f"ratio of {args.rounds} rounds", "")] if args.rounds > 1 else COLUMNS
    if args.rounds > 1:
        headline += (f"each case ran {args.rounds} rounds, one after another over all cases; a row is the round whose ratio "
                     f"is the median (its own figures), beside every round's ratio range\n")  # fmt: skip
    return print_report("http", headline, rows, columns, verdicts(rows), args, info, skipped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated directory sizes (services)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--seconds", type=int, default=5, help="duration of each wrk run (5)")
    parser.add_argument("--update-rate", type=float, default=50.0, help="capacity updates/s during the second match run (50)")
    parser.add_argument("--light-connections", type=int, default=1, help="wrk connections of the light-load match row (1)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each case, the median reported (1)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the directory and the profiles (1)")
    parser.add_argument("--wrk", help="path of the wrk binary (default: wrk on PATH)")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL, help="server to create the bench database on")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return asyncio.run(main_async(args))
