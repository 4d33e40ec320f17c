"""Seeding the directory from data files: idempotent, no twins, unknown stays unknown; and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from referralnet.clock import FixedClock
from referralnet.directory.seed import SeedError, seed
from tests.conftest import REPO, in_app

ORGS = REPO / "data" / "organisations"
DEMO = REPO / "data" / "demo"


async def test_seed_is_idempotent(client: Any, admin: dict[str, str], clock: FixedClock) -> None:
    first = in_app(client, seed, ORGS, clock)
    files = len(list(ORGS.glob("*.toml")))
    assert len(first.created) == files and not first.near_duplicates
    clock.advance(days=1)
    second = in_app(client, seed, ORGS, clock)
    assert not second.changed and len(second.unchanged) == files
    listed = (await client.get("/api/v1/organisations", params={"limit": 500}, headers=admin)).json()
    assert listed["total"] == files
    assert all(o["updated_at"].startswith("2026-03-02") for o in listed["items"])  # nothing rewritten

    services = (await client.get("/api/v1/services", params={"limit": 500}, headers=admin)).json()["items"]
    # The sources state no free capacity for any organisation: unknown, never 0.
    assert all(s["capacity"]["available"] is None for s in services)
    found = (await client.get("/api/v1/organisations", params={"q": "eliberare"}, headers=admin)).json()["items"]
    assert found[0]["slug"] == "eliberare"


async def test_seed_keeps_capacity_reported_by_ngos(client: Any, admin: dict[str, str], clock: FixedClock) -> None:
    in_app(client, seed, DEMO, clock)
    services = (await client.get("/api/v1/services", params={"limit": 500, "has_capacity": "true"}, headers=admin)).json()["items"]
    target = services[0]
    new_value = 0 if target["capacity"]["available"] != 0 else 1
    resp = await client.put(f"/api/v1/services/{target['id']}/capacity", json={"available": new_value}, headers=admin)
    assert resp.status_code == 200
    again = in_app(client, seed, DEMO, clock)
    assert not again.changed
    after = (await client.get(f"/api/v1/services/{target['id']}", headers=admin)).json()
    assert after["capacity"]["available"] == new_value


async def test_near_duplicate_names_are_reported_not_loaded(client: Any, admin: dict[str, str], clock: FixedClock, tmp_path: Path) -> None:
    in_app(client, seed, ORGS, clock)
    twin = tmp_path / "eliberare-twin.toml"
    twin.write_text('slug = "eliberare-twin"\nname = "Asociatia eLiberare"\n', encoding="utf-8")
    report = in_app(client, seed, tmp_path, clock)
    assert report.created == [] and len(report.near_duplicates) == 1
    assert "eliberare" in report.near_duplicates[0]
    assert (await client.get("/api/v1/organisations", params={"limit": 500}, headers=admin)).json()["total"] == len(list(ORGS.glob("*.toml")))


async def test_bad_file_names_its_key_and_writes_nothing(client: Any, admin: dict[str, str], clock: FixedClock, tmp_path: Path) -> None:
    (tmp_path / "a-good.toml").write_text('slug = "a-good"\nname = "Asociația Bună"\n', encoding="utf-8")
    (tmp_path / "b-bad.toml").write_text(
        'slug = "b-bad"\nname = "Asociația Rea"\n[[services]]\ntype = "residential_shelter"\nname = "X"\ncapacitty = 3\n',
        encoding="utf-8",
    )
    with pytest.raises(SeedError, match=r"b-bad.toml.*capacitty.*services\[0\]"):
        in_app(client, seed, tmp_path, clock)
    assert (await client.get("/api/v1/organisations", headers=admin)).json()["total"] == 0


def _cli(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REFERRALNET_DATABASE_URL": f"sqlite:///{db}", "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "referralnet", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_seed_and_token(tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite"
    out = _cli("seed", db=db)
    assert out.returncode == 0, out.stderr
    assert "organisations created:" in out.stdout
    again = _cli("seed", db=db)
    assert "nothing changed" in again.stdout
    token = _cli("token", "create", "--role", "ngo", "--organisation", "eliberare", "--name", "coordinator", db=db)
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().splitlines()[-1].startswith("rn_")
    bad = _cli("token", "create", "--role", "ngo", "--name", "x", db=db)
    assert bad.returncode == 2 and "organisation" in bad.stderr
    assert _cli("seed", "--help", db=db).returncode == 0
