"""What one PostgreSQL round trip costs over each given URL (e.g. TCP loopback and the server's Unix socket).

For each URL, one asyncpg connection sends ``--count`` ``SELECT $1::int`` one after another (after 500 to warm
up); rounds alternate the URLs' order. Per round trip: this process's CPU (``time.process_time``), the
backend's CPU (``/proc/<pid>/stat``, so the server must be on this machine) and the wall time; medians at the end.

    python bench/pg_roundtrip.py [--count 20000] [--rounds 6] \\
        postgresql://postgres@127.0.0.1:5432/test 'postgresql://postgres@/test?host=/var/run/postgresql'
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

import asyncpg

HZ = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


async def one(url: str, count: int) -> tuple[float, float, float]:
    """Client CPU, backend CPU and wall time per round trip (µs)."""
    conn = await asyncpg.connect(url)
    try:
        pid = conn.get_server_pid()
        for _ in range(500):
            await conn.fetchval("SELECT $1::int", 1)
        b0, c0, w0 = _cpu(pid), time.process_time(), time.perf_counter()
        for _ in range(count):
            await conn.fetchval("SELECT $1::int", 1)
        b1, c1, w1 = _cpu(pid), time.process_time(), time.perf_counter()
    finally:
        await conn.close()
    return 1e6 * (c1 - c0) / count, 1e6 * (b1 - b0) / count, 1e6 * (w1 - w0) / count


async def main_async(args: argparse.Namespace) -> None:
    results: dict[str, list[tuple[float, float, float]]] = {url: [] for url in args.urls}
    for i in range(args.rounds):
        for url in args.urls if i % 2 == 0 else args.urls[::-1]:
            r = await one(url, args.count)
            results[url].append(r)
            load = open("/proc/loadavg").read().split()[0]
            print(f"round {i} {url}: client {r[0]:.1f} µs, backend {r[1]:.1f} µs, wall {r[2]:.1f} µs (load {load})", flush=True)
    for url, rows in results.items():
        client, backend, wall = (statistics.median(column) for column in zip(*rows))
        print(f"{url}: median per round trip: client CPU {client:.1f} µs, backend CPU {backend:.1f} µs, wall {wall:.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("urls", nargs="+", help="asyncpg URLs of one server on this machine")
    parser.add_argument("--count", type=int, default=20000, help="round trips per URL and round (20000)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds, alternating the URLs' order (6)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
