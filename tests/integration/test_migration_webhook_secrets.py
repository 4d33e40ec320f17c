"""The migration that encrypts plain-text webhook secrets, on a database of each engine holding some:
afterwards none is in clear, each opens with the instance key the service uses, and a rerun changes nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from piccolo.querystring import QueryString

from referralnet import db
from referralnet.notifications.sealing import unseal
from referralnet.notifications.signing import instance_key
from tests.conftest import ENGINES
from tests.integration.migration_copies import migrate_to
from tests.integration.test_migrations import fresh_postgres, migration_ids

MINE = "2026-12-06T05:09:30:000000"
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
PLAIN = {1: "plain-secret-of-casa-one-0123456789abcdefghi", 2: "plain-secret-of-casa-two-0123456789abcdefghi"}


@pytest.fixture(params=ENGINES)
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.sqlite'}"
    else:
        with fresh_postgres() as url:
            yield url


async def _scenario(url: str, configured_key: str | None) -> dict[int, str | None]:
    ids = sorted(migration_ids())
    await migrate_to(url, ids[ids.index(MINE) - 1])
    engine = db.make_engine(url)
    db.bind(engine)
    for org_id, secret in [*PLAIN.items(), (3, None)]:
        await engine.run_querystring(QueryString(
            "INSERT INTO organisation (id, slug, name, aliases, networks, places, sources, fictional, active, created_at, "
            "updated_at, webhook_url, webhook_secret) VALUES ({}, {}, {}, '[]', '[]', '[]', '[]', {}, {}, {}, {}, {}, {})",
            org_id, f"casa-{org_id}", f"Casa {org_id}", False, True, NOW, NOW, "https://hooks.example.org/x", secret,
        ))  # fmt: skip
    await db.migrate(engine)
    first = {r["id"]: r["webhook_secret"] for r in await engine.run_querystring(QueryString("SELECT id, webhook_secret FROM organisation"))}
    await db.migrate(engine)
    again = {r["id"]: r["webhook_secret"] for r in await engine.run_querystring(QueryString("SELECT id, webhook_secret FROM organisation"))}
    assert again == first  # a second run is a no-op
    key = await instance_key(configured_key)
    return {org_id: None if v is None else unseal(key, org_id, v) for org_id, v in first.items()} | {-org_id: v for org_id, v in first.items()}


@pytest.mark.parametrize("configured_key", [None, "the instance key from the environment"])
def test_plain_secrets_are_encrypted_with_the_instance_key(empty_url: str, configured_key: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if configured_key:
        monkeypatch.setenv("REFERRALNET_SECRET_KEY", configured_key)
    else:
        monkeypatch.delenv("REFERRALNET_SECRET_KEY", raising=False)
    out = asyncio.run(_scenario(empty_url, configured_key))
    assert {k: out[k] for k in (1, 2, 3)} == {**PLAIN, 3: None}
    for org_id, secret in PLAIN.items():
        stored = out[-org_id]
        assert isinstance(stored, str) and stored.startswith("v1:") and secret not in stored
    assert out[-3] is None
