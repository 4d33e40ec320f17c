"""Several server processes on one database: ``serve --workers 2`` (its sweeps in one separate
worker) and a second ``serve`` with its own scheduler. Stale-capacity reminders are swept and
their e-mails delivered exactly once, on PostgreSQL and on one SQLite file."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import time
from typing import Any

import httpx

from referralnet import db
from referralnet.accounts.schemas import SYSTEM
from referralnet.clock import FixedClock
from referralnet.directory.schemas import CapacityIn, OrganisationCreate, ServiceCreate
from referralnet.directory.services import create_organisation, create_service
from tests.conftest import REPO
from tests.integration.servers import Inbox, free_port

SERVICES = 3


async def _stale_directory(url: str) -> None:
    """Three organisations, each with a shelter whose capacity was last reported 30 days ago."""
    engine = db.make_engine(url)
    db.bind(engine)
    await db.start(engine)
    try:
        old = FixedClock(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30))
        for i in range(SERVICES):
            org = await create_organisation(OrganisationCreate(name=f"Asociația {i}", referral_email=f"org{i}@example.org"), SYSTEM, old)
            await create_service(
                org.id, ServiceCreate(type="residential_shelter", name=f"Casa {i}", capacity=CapacityIn(unit="beds", total=5, available=2)), SYSTEM, old
            )  # fmt: skip
    finally:
        await db.stop(engine)


def _start(url: str, port: int, smtp_port: int, *extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ, "PYTHONPATH": str(REPO / "src"), "REFERRALNET_DATABASE_URL": url, "REFERRALNET_SCHEDULER": "true",
        "REFERRALNET_SWEEP_INTERVAL_SECONDS": "1", "REFERRALNET_SMTP_HOST": "127.0.0.1", "REFERRALNET_SMTP_PORT": str(smtp_port),
        "REFERRALNET_LOG_LEVEL": "warning", "REFERRALNET_DATA_DIR": str(REPO / "data"),
    }  # fmt: skip
    cmd = [sys.executable, "-m", "referralnet", "serve", "--port", str(port), *extra]
    return subprocess.Popen(cmd, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _healthy(port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            try:
                if (await client.get(f"http://127.0.0.1:{port}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server on {port} not healthy"
            await asyncio.sleep(0.2)


async def _rows(url: str, sql: str) -> list[dict[str, Any]]:
    engine = db.make_engine(url)
    db.bind(engine)
    await db.start(engine)
    try:
        return await engine.run_ddl(sql)  # type: ignore[no-any-return]
    finally:
        await db.stop(engine)


def test_two_server_processes_sweep_and_deliver_once(database_url: str, inbox: tuple[Inbox, int]) -> None:
    asyncio.run(_stale_directory(database_url))
    received, smtp_port = inbox  # a TCP server: the server processes deliver to it like any other
    ports = (free_port(), free_port())
    servers = [_start(database_url, ports[0], smtp_port, "--workers", "2"), _start(database_url, ports[1], smtp_port)]
    try:
        for port in ports:
            asyncio.run(_healthy(port))
        deadline = time.monotonic() + 60
        while len(received.messages) < SERVICES and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(4)  # several more sweep rounds in each process
        assert sorted(m["To"] for m in received.messages) == [f"org{i}@example.org" for i in range(SERVICES)]
        rows = asyncio.run(_rows(database_url, "SELECT kind, status, attempts FROM notification"))
        assert [(r["kind"], r["status"], r["attempts"]) for r in rows] == [("capacity_stale", "sent", 1)] * SERVICES
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
