"""The token cache: a known token is answered from memory, yet a revoked token is refused on its next
request in this process, and within about a second when another process (the CLI) revokes it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from typing import Any

from referralnet.accounts.cache import TokenCache
from referralnet.accounts.schemas import Actor
from tests.conftest import REPO, Tokens


def _token_id(client_tokens: list[dict[str, Any]], name: str) -> int:
    return next(t["id"] for t in client_tokens if t["name"] == name)


async def test_a_cached_token_is_refused_on_its_next_request_once_revoked(
    client: Any, tokens: Tokens, admin: dict[str, str]
) -> None:
    cache: TokenCache = client.app.state.token_cache
    officer = tokens.make("institution", name="cached officer")
    assert (await client.get("/api/v1/services", headers=officer)).status_code == 200
    lookups = cache.lookups
    assert (await client.get("/api/v1/services", headers=officer)).status_code == 200
    assert cache.lookups == lookups  # answered from memory: no token row read

    listed = (await client.get("/api/v1/tokens", headers=admin)).json()["items"]
    assert (await client.delete(f"/api/v1/tokens/{_token_id(listed, 'cached officer')}", headers=admin)).status_code == 200
    assert (await client.get("/api/v1/services", headers=officer)).status_code == 401
    assert (await client.get("/api/v1/services", headers=admin)).status_code == 200


async def test_a_cached_token_of_a_deactivated_organisation_is_refused_at_once(
    client: Any, tokens: Tokens, admin: dict[str, str]
) -> None:
    org = (await client.post("/api/v1/organisations", json={"name": "Asociația Cache"}, headers=admin)).json()
    ngo = tokens.make("ngo", organisation=org["id"])
    assert (await client.get("/api/v1/services", headers=ngo)).status_code == 200
    assert (await client.patch(f"/api/v1/organisations/{org['id']}", json={"active": False}, headers=admin)).status_code == 200
    assert (await client.get("/api/v1/services", headers=ngo)).status_code == 401
    # Reactivated: accepted again at once (refusals are never cached).
    assert (await client.patch(f"/api/v1/organisations/{org['id']}", json={"active": True}, headers=admin)).status_code == 200
    assert (await client.get("/api/v1/services", headers=ngo)).status_code == 200


async def test_a_revocation_by_another_process_is_honoured_within_a_second(
    client: Any, tokens: Tokens, admin: dict[str, str], settings: Any
) -> None:
    officer = tokens.make("institution", name="remote officer")
    assert (await client.get("/api/v1/services", headers=officer)).status_code == 200  # cached now
    listed = (await client.get("/api/v1/tokens", headers=admin)).json()["items"]
    env = {**os.environ, "REFERRALNET_DATABASE_URL": settings.database_url, "PYTHONPATH": str(REPO / "src")}
    cli = [sys.executable, "-m", "referralnet", "token", "revoke", str(_token_id(listed, "remote officer"))]
    done = await asyncio.to_thread(subprocess.run, cli, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    revoked_at = time.monotonic()
    while (status := (await client.get("/api/v1/services", headers=officer)).status_code) == 200:
        assert time.monotonic() - revoked_at < 1.5, "still accepted 1.5 s after another process revoked it"
        await asyncio.sleep(0.05)
    assert status == 401


async def test_a_lookup_overtaken_by_a_revocation_is_not_stored() -> None:
    cache = TokenCache()
    actor = Actor(token_id=7, name="x", role="admin")

    async def counter() -> int:
        return 0

    async def slow_lookup() -> Actor:
        cache.clear()  # a revocation commits while this lookup reads the (older) row
        return actor

    assert await cache.actor("h", slow_lookup, counter) == actor
    lookups = cache.lookups

    async def lookup() -> Actor:
        return actor

    await cache.actor("h", lookup, counter)
    assert cache.lookups == lookups + 1  # the overtaken answer was not kept
    await cache.actor("h", lookup, counter)
    assert cache.lookups == lookups + 1


async def test_entries_expire_and_a_moved_counter_empties_the_cache() -> None:
    now = [100.0]
    value = [0]
    cache = TokenCache(ttl=30.0, check_every=1.0, now=lambda: now[0])
    actor = Actor(token_id=1, name="x", role="admin")

    async def counter() -> int:
        return value[0]

    async def lookup() -> Actor:
        return actor

    await cache.actor("h", lookup, counter)
    await cache.actor("h", lookup, counter)
    assert cache.lookups == 1
    value[0] = 1  # another instance revoked something
    now[0] += 0.5
    await cache.actor("h", lookup, counter)
    assert cache.lookups == 1  # not checked again yet
    now[0] += 0.6
    await cache.actor("h", lookup, counter)
    assert cache.lookups == 2
    now[0] += 31
    await cache.actor("h", lookup, counter)
    assert cache.lookups == 3
