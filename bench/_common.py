"""Helpers shared by the benchmarks in ``bench/``: databases, the server subprocess, statistics, output.

Every benchmark talks to a real ``python -m referralnet serve`` process over HTTP on 127.0.0.1, against
a fresh database it creates (a temporary SQLite file, or ``CREATE DATABASE bench_<random>`` beside the
PostgreSQL database given on the command line) and removes afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"
DEFAULT_POSTGRES_URL = os.environ.get("REFERRALNET_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
ENGINES = ("sqlite", "postgres")


def use_source_tree() -> None:
    """Make ``import referralnet`` work from a checkout without ``pip install -e .``."""
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))


# ---- ports and the server subprocess -----------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(database_url: str, **settings: object) -> dict[str, str]:
    """The environment of a ``referralnet`` subprocess: this one, plus the source tree and settings.

    ``settings`` are ``Settings`` fields (``scheduler=False`` becomes ``REFERRALNET_SCHEDULER=false``).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    env["REFERRALNET_DATABASE_URL"] = database_url
    for name, value in settings.items():
        text = str(value).lower() if isinstance(value, bool) else str(value)
        env[f"REFERRALNET_{name.upper()}"] = text
    return env


@dataclass
class Server:
    """A running ``referralnet serve`` subprocess."""

    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the server process has used so far (Linux ``/proc``; else ``None``)."""
        return process_cpu_seconds(self.process.pid)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def process_cpu_seconds(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0], utime [11], stime [12]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> int:
    """SIGTERM (uvicorn shuts down gracefully on it), then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)
    return int(process.returncode)


@contextlib.asynccontextmanager
async def running_server(
    database_url: str, *, startup_timeout: float = 60.0, log_level: str = "warning", **settings: object
) -> AsyncIterator[Server]:
    """Start ``python -m referralnet serve`` on a free port and wait until ``GET /health`` is 200.

    The server migrates, then serves with uvicorn. Its output goes to a temporary log file (a pipe
    nobody reads would fill up and stall the server); the tail is shown if it fails to start.
    ``log_level`` defaults to ``warning``, which also turns uvicorn's per-request access log off.
    The scheduler is off unless ``scheduler=True`` is passed, so sweeps don't add load of their own.
    """
    settings.setdefault("scheduler", False)
    port = free_port()
    env = child_env(database_url, host="127.0.0.1", log_level=log_level, **settings)
    with tempfile.TemporaryDirectory(prefix="rn-bench-log-") as tmp:
        log_path = Path(tmp) / "server.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "referralnet", "serve", "--port", str(port)],
                env=env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, f"http://127.0.0.1:{port}", log_path)
        try:
            await _wait_healthy(server, startup_timeout)
            yield server
        finally:
            code = _stop(process)
            if code not in (0, -signal.SIGTERM):
                print(f"server exited with {code}; last lines of its log:\n{server.log_tail()}", file=sys.stderr)


async def _wait_healthy(server: Server, timeout: float) -> None:
    import asyncio

    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2.0) as client:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {server.process.returncode} before it was healthy:\n{server.log_tail()}"
                )
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not healthy after {timeout:.0f}s:\n{server.log_tail()}")
            await asyncio.sleep(0.1)


# ---- databases ---------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_sqlite_database() -> Iterator[str]:
    """``sqlite:///<temp dir>/bench.sqlite``; the directory (with -wal, -shm and lock files) is removed after."""
    with tempfile.TemporaryDirectory(prefix="rn-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.sqlite'}"


async def postgres_unreachable(admin_url: str, timeout: float = 5.0) -> str | None:
    """``None`` when ``admin_url`` accepts a connection, else why not (for a "skipping" message)."""
    import asyncpg

    try:
        conn = await asyncpg.connect(admin_url, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - any failure means "skip PostgreSQL"
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


@contextlib.asynccontextmanager
async def fresh_postgres_database(admin_url: str, prefix: str = "bench") -> AsyncIterator[str]:
    """``CREATE DATABASE <prefix>_<random>`` on the server of ``admin_url``; yields its URL; drops it after."""
    import asyncpg

    use_source_tree()
    from referralnet.db import with_database

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    url = with_database(admin_url, name)

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.asynccontextmanager
async def fresh_database(engine: str, postgres_url: str = DEFAULT_POSTGRES_URL) -> AsyncIterator[str]:
    """A fresh, empty database of ``engine`` ("sqlite" or "postgres"), removed afterwards."""
    if engine == "sqlite":
        with fresh_sqlite_database() as url:
            yield url
    elif engine == "postgres":
        async with fresh_postgres_database(postgres_url) as url:
            yield url
    else:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")


def parse_engines(text: str) -> list[str]:
    engines = [e.strip() for e in text.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise SystemExit(f"--engines: expected a comma-separated subset of {','.join(ENGINES)}, got {text!r}")
    return engines


# ---- statistics and output ---------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        return math.nan
    if not 0 <= pct <= 100:
        raise ValueError("pct must be within 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(latencies_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/max (and mean) in milliseconds from latencies in seconds."""
    ms = [v * 1000 for v in latencies_s]
    return {
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms) if ms else math.nan,
        "mean_ms": sum(ms) / len(ms) if ms else math.nan,
    }


def machine_info() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "server": server_stack(),
    }


def server_stack() -> str:
    """The HTTP parser and event loop uvicorn picks here (its ``auto``: httptools and uvloop when importable)."""
    import importlib.util

    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return f"uvicorn with {http} and {loop}"


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str, str]]) -> str:
    """A plain-text (and Markdown-compatible) table; ``columns`` are (key, heading, format spec)."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        cells.append([format(row[k], spec) if row.get(k) is not None else "-" for k, _, spec in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    # The first column (a label) is left-aligned, the figures right-aligned.
    lines = [
        "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) + " |"
        for r in cells
    ]
    lines.insert(1, "|" + "|".join(":" + "-" * (w + 1) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|")
    return "\n".join(lines)


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(payload, indent=2, default=str) + "\n")


def report_outcome(engine: str, result: dict[str, Any], errors: Any, problems: list[str], verified: str,
                   server_log: str, log_markers: tuple[str, ...] = ("Error", "locked", "deadlock")) -> None:
    """Print failed requests, verification problems (or ``verified``) and server-log errors; note the latter in ``result``."""
    if errors:
        print(f"[{engine}] {sum(errors.values())} failed requests:")
        for message, count in errors.most_common(10):
            print(f"  {count:6d} x {message}")
    if problems:
        print(f"[{engine}] verification FAILED ({len(problems)} problems):")
        for p in problems[:20]:
            print(f"  {p}")
    else:
        print(f"[{engine}] verified: {verified}")
    suspicious = [line for line in server_log.splitlines() if any(m in line for m in log_markers)]
    if suspicious:
        result["server_log_errors"] = suspicious[:50]
        print(f"[{engine}] server log has {len(suspicious)} error lines, e.g.:\n  " + "\n  ".join(suspicious[:5]))


def print_report(bench: str, headline: str, rows: list[dict[str, Any]], columns: Any, checks: list[str],
                 args: Any, info: dict[str, Any], skipped: Any) -> int:
    """Print a bench's table and verdicts, write ``--json`` if asked; exit status 1 when a target was missed."""
    print(headline)
    print(format_table(rows, columns))
    print("\n" + "\n".join(checks))
    if args.json:
        write_json(args.json, {"bench": bench, "machine": info, "params": vars(args), "skipped": skipped, "results": rows})
    return 1 if any("MISSED" in c or "unexpected" in c for c in checks) else 0
