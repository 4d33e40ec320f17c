"""PostgreSQL through its Unix socket (``postgresql:///db?host=/var/run/postgresql``): the URL without a host goes
through every path that reads it (the test's derived URL, migrations and their advisory lock, the CLI, the app's pool)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import pytest
from litestar.testing import AsyncTestClient

from referralnet import db, sql
from referralnet.app import create_app
from referralnet.clock import FixedClock
from referralnet.settings import Settings
from tests.conftest import PG_URL, REPO, START, Tokens, in_app, pg_admin
from tests.integration.helpers import make_org

SOCKET_DIR = os.environ.get("REFERRALNET_TEST_POSTGRES_SOCKET_DIR", "/var/run/postgresql")


def _socket_url(database: str) -> str | None:
    """``PG_URL``'s server, user and database through the socket in ``SOCKET_DIR``; ``None`` if there is none."""
    if not PG_URL:
        return None
    parts = urlsplit(PG_URL)
    port = parts.port or 5432
    if not Path(SOCKET_DIR, f".s.PGSQL.{port}").exists():
        return None
    options = {"host": SOCKET_DIR, "port": port, "user": unquote(parts.username or "postgres")}
    if parts.password:
        options["password"] = unquote(parts.password)
    return f"postgresql:///{database}?{urlencode(options)}"


ADMIN_URL = _socket_url(urlsplit(PG_URL).path.lstrip("/") if PG_URL else "")


def test_with_database_keeps_a_url_without_host() -> None:
    assert db.with_database("postgresql:///test?host=/run/pg&user=u", "other") == "postgresql:///other?host=/run/pg&user=u"
    assert db.with_database("postgresql://u:p@127.0.0.1:5432/test?sslmode=disable", "other") == (
        "postgresql://u:p@127.0.0.1:5432/other?sslmode=disable"
    )
    assert db.with_database("postgresql://u@%2Frun%2Fpg/test", "other") == "postgresql://u@%2Frun%2Fpg/other"


@pytest.mark.skipif(ADMIN_URL is None, reason=f"no REFERRALNET_TEST_POSTGRES_URL, or no PostgreSQL socket in {SOCKET_DIR}")
async def test_the_app_serves_over_the_socket() -> None:
    assert ADMIN_URL is not None
    name = f"rn_sock_{uuid.uuid4().hex[:10]}"
    url = db.with_database(ADMIN_URL, name)
    await pg_admin(ADMIN_URL, f'CREATE DATABASE "{name}"')
    try:
        # A password as a parameter (trust authentication ignores one) is not printed by the CLI.
        secret = urlsplit(PG_URL).password or "not-to-be-printed"
        cli_url = url if "password=" in url else f"{url}&password={secret}"
        cli = subprocess.run(
            [sys.executable, "-m", "referralnet", "--database-url", cli_url, "migrate"],
            cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        assert "database ready" in cli.stdout and "password=***" in cli.stdout + cli.stderr
        assert secret not in cli.stdout + cli.stderr
        await db.migrate(db.make_engine(url))  # a second run, in the process: the advisory lock's connection

        settings = Settings(database_url=url, data_dir=str(REPO / "data"), scheduler=False, debug=True)
        async with AsyncTestClient(app=create_app(settings, clock=FixedClock(START))) as client:
            assert (await client.get("/health")).status_code == 200
            tokens = Tokens(client)
            admin = tokens.make("admin")
            org = await make_org(client, admin, "Socket shelter")
            listed = await client.get("/api/v1/organisations", headers=admin)
            assert listed.status_code == 200
            assert org["id"] in [o["id"] for o in listed.json()["items"]]

            async def where() -> Any:
                return await sql.first("SELECT inet_server_addr() AS address, current_database() AS name")

            row = in_app(client, where)
            assert row == {"address": None, "name": name}  # no server address: a Unix socket
    finally:
        await pg_admin(ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
