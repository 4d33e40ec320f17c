"""Webhook targets stay outside (both engines): refused when saved and again at each delivery.

The resolver is replaced by an attacker's DNS (``outbound.lookup``): names that resolve to
127.0.0.1 or 169.254.169.254, and one that answers a public address when saved and 127.0.0.1 at
delivery (DNS rebinding). The receiver is a real HTTP server on 127.0.0.1, reachable only through
``REFERRALNET_WEBHOOK_ALLOW_HOSTS``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import msgspec
import pytest

from referralnet.notifications import outbound
from referralnet.notifications.sealing import unseal
from referralnet.notifications.signing import instance_key, verify_body
from referralnet.settings import Settings
from referralnet.tables import Organisation
from tests.conftest import Tokens, in_app
from tests.integration.helpers import make_org
from tests.integration.servers import Receiver
from tests.integration.test_notifications import dispatch, provider, rows, secret_for

PUBLIC = "93.184.216.34"


class FakeDNS:
    """Answers from ``records``; every lookup is counted per host."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {
            "loopback.attacker.test": ["127.0.0.1"],
            "metadata.attacker.test": ["169.254.169.254"],
            "mixed.attacker.test": [PUBLIC, "127.0.0.1"],
            "private.attacker.test": ["10.1.2.3"],
            "v6metadata.attacker.test": ["fd00:ec2::254"],
            "hooks.ngo.test": [PUBLIC],
        }
        self.calls: dict[str, int] = {}

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls[host] = self.calls.get(host, 0) + 1
        if host not in self.records:
            raise OSError(f"unknown host {host}")
        return self.records[host]


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    fake = FakeDNS()
    monkeypatch.setattr(outbound, "lookup", fake)
    return fake


@pytest.fixture
def webhook_settings() -> dict[str, Any]:
    """The webhook settings of the app under test; a test parametrizes this to change them."""
    return {}


@pytest.fixture
def settings(settings: Settings, webhook_settings: dict[str, Any]) -> Settings:
    return msgspec.structs.replace(settings, **webhook_settings)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


REFUSED = [
    ("https://loopback.attacker.test/hook", "a loopback address"),
    ("https://metadata.attacker.test/latest/meta-data/", "a cloud metadata address"),
    ("https://mixed.attacker.test/hook", "a loopback address"),
    ("https://private.attacker.test/hook", "a private address"),
    ("https://v6metadata.attacker.test/", "a cloud metadata address"),
    ("https://127.0.0.1/hook", "a loopback address"),
    ("https://169.254.169.254/latest/meta-data/", "a cloud metadata address"),
    ("https://[::1]:8443/hook", "a loopback address"),
    ("https://[::ffff:127.0.0.1]/hook", "a loopback address"),
    ("https://0.0.0.0/hook", "an unspecified address"),
    ("https://224.0.0.1/hook", "a multicast address"),
    ("https://192.168.1.10/hook", "a private address"),
    ("http://hooks.ngo.test/hook", "must use https"),
    ("https://user:pass@hooks.ngo.test/hook", "user name or password"),
    ("https://nowhere.attacker.test/hook", "could not be resolved"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
async def test_unsafe_webhook_url_is_refused_when_saved_and_nothing_is_written(
    client: Any, admin: dict[str, str], dns: FakeDNS, url: str, why: str
) -> None:
    before = (await client.get("/api/v1/organisations", params={"limit": 500}, headers=admin)).json()["total"]
    resp = await client.post("/api/v1/organisations", json={"name": "Asociația Cârlig", "webhook_url": url}, headers=admin)
    assert resp.status_code == 422, resp.text
    assert [e["key"] for e in resp.json()["extra"]] == ["webhook_url"]
    assert why in resp.json()["extra"][0]["message"]
    assert "127.0.0.1" not in resp.text or "127.0.0.1" in url  # what the name resolved to is not echoed
    assert (await client.get("/api/v1/organisations", params={"limit": 500}, headers=admin)).json()["total"] == before

    org = await make_org(client, admin, "Asociația Bună", webhook_url="https://hooks.ngo.test/hook")
    patched = await client.patch(f"/api/v1/organisations/{org['id']}", json={"webhook_url": url}, headers=admin)
    assert patched.status_code == 422 and patched.json()["extra"][0]["key"] == "webhook_url"
    assert (await client.get(f"/api/v1/organisations/{org['id']}", headers=admin)).json()["webhook_url"] == "https://hooks.ngo.test/hook"


@pytest.mark.parametrize("webhook_settings", [{"webhook_allow_hosts": "loopback.attacker.test, 169.254.169.254"}])
async def test_listed_hosts_are_allowed_and_only_those(client: Any, admin: dict[str, str], dns: FakeDNS) -> None:
    for url in ("https://loopback.attacker.test/hook", "https://169.254.169.254/latest/meta-data/"):
        resp = await client.post("/api/v1/organisations", json={"name": f"Asociația {len(url)}", "webhook_url": url}, headers=admin)
        assert resp.status_code == 201, resp.text
    for url in ("https://metadata.attacker.test/", "https://127.0.0.1/hook", "http://loopback.attacker.test/hook"):
        resp = await client.post("/api/v1/organisations", json={"name": "Asociația Alta", "webhook_url": url}, headers=admin)
        assert resp.status_code == 422 and resp.json()["extra"][0]["key"] == "webhook_url", url


async def _hooked(client: Any, tokens: Tokens, admin: dict[str, str], url: str) -> tuple[dict[str, Any], dict[str, str], str]:
    org, _, ngo = await provider(client, tokens, admin, "Casa Rebind", webhook_url=url)
    secret = await secret_for(client, org["id"], ngo)
    from referralnet.notifications.outbox import notify_organisation
    from tests.conftest import START

    in_app(client, notify_organisation, "capacity_stale", org["id"], now=START, subject="Update", payload={"service_id": 1})
    return org, ngo, secret


@pytest.mark.parametrize("webhook_settings", [{"webhook_allow_http": True}])
@pytest.mark.parametrize("rebound", ["127.0.0.1", "169.254.169.254"])
async def test_dns_rebinding_is_refused_at_delivery(
    client: Any, tokens: Tokens, admin: dict[str, str], settings: Settings, clock: Any, dns: FakeDNS, receiver: Receiver, rebound: str
) -> None:
    port = receiver.server.server_port
    org, ngo, _ = await _hooked(client, tokens, admin, f"http://hooks.ngo.test:{port}/hooks/referralnet")
    dns.records["hooks.ngo.test"] = [rebound]  # public when saved, internal when called

    report = dispatch(client, settings, clock)
    assert (report.claimed, report.sent, report.retried) == (1, 0, 1)
    [row] = await rows(client, ngo)
    assert "refused" in row["last_error"] and ("loopback" in row["last_error"] or "metadata" in row["last_error"])
    assert receiver.requests == []


@pytest.mark.parametrize("webhook_settings", [{"webhook_allow_http": True, "webhook_allow_hosts": "hooks.ngo.test"}])
async def test_delivery_connects_to_the_checked_address_and_keeps_the_host(
    client: Any, tokens: Tokens, admin: dict[str, str], settings: Settings, clock: Any, dns: FakeDNS, receiver: Receiver
) -> None:
    port = receiver.server.server_port
    dns.records["hooks.ngo.test"] = ["127.0.0.1"]  # listed, so allowed; nothing else can resolve the name
    org, ngo, secret = await _hooked(client, tokens, admin, f"http://hooks.ngo.test:{port}/hooks/referralnet")
    calls = dns.calls["hooks.ngo.test"]

    assert dispatch(client, settings, clock).sent == 1
    assert dns.calls["hooks.ngo.test"] == calls + 1  # checked again at delivery, and resolved only by the check
    [(headers, body)] = receiver.requests
    assert headers["host"] == f"hooks.ngo.test:{port}"
    assert verify_body(secret, body, headers["x-referralnet-signature"])


@pytest.mark.parametrize("webhook_settings", [{"webhook_allow_http": True, "webhook_allow_hosts": "127.0.0.1"}])
async def test_redirects_are_not_followed(
    client: Any, tokens: Tokens, admin: dict[str, str], settings: Settings, clock: Any, receiver: Receiver
) -> None:
    org, ngo, _ = await _hooked(client, tokens, admin, receiver.url)
    receiver.script = [(307, 0.0)]

    assert dispatch(client, settings, clock).retried == 1
    [row] = await rows(client, ngo)
    assert "HTTP 307" in row["last_error"] and "redirects are not followed" in row["last_error"]
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("webhook_settings", [{"webhook_allow_http": True, "webhook_allow_hosts": "127.0.0.1"}])
async def test_webhook_secret_is_not_stored_in_clear(
    client: Any, tokens: Tokens, admin: dict[str, str], settings: Settings, clock: Any, receiver: Receiver
) -> None:
    org, ngo, secret = await _hooked(client, tokens, admin, receiver.url)

    async def raw() -> str:
        row = await Organisation.select(Organisation.webhook_secret).where(Organisation.id == org["id"]).first()
        return str(row["webhook_secret"])

    stored = in_app(client, raw)
    assert stored.startswith("v1:") and secret not in stored and stored != secret
    key = in_app(client, instance_key, settings.secret_key)
    assert unseal(key, org["id"], stored) == secret
    assert dispatch(client, settings, clock).sent == 1
    [(headers, body)] = receiver.requests
    assert verify_body(secret, body, headers["x-referralnet-signature"])

    # Under another instance key (REFERRALNET_SECRET_KEY changed) the secret does not open: the row
    # says so and how to fix it, and nothing is sent unsigned.
    from referralnet.notifications.outbox import notify_organisation
    from tests.conftest import START

    in_app(client, notify_organisation, "capacity_stale", org["id"], now=START, subject="Again", payload={"service_id": 2})
    other = msgspec.structs.replace(settings, secret_key="another key entirely")
    assert dispatch(client, other, clock).retried == 1
    failed = [r for r in await rows(client, ngo) if r["status"] == "pending"]
    assert "does not open" in failed[0]["last_error"] and "webhook-secret" in failed[0]["last_error"]
    assert len(receiver.requests) == 1
