"""PostgreSQL's fused statements for creating a referral and accepting an offer give the same answers and write the same
rows as the general path (the one SQLite runs), replayed on a fresh database each with the same clock."""

from __future__ import annotations

import copy
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from referralnet.app import create_app
from referralnet.clock import FixedClock
from referralnet.referrals import accepting, creation
from referralnet.settings import Settings
from tests.conftest import PG_URL, REPO, START, Tokens, _truncate
from tests.integration.helpers import make_org, make_service
from tests.integration.test_needs import BOY, counselling, residential

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only (REFERRALNET_TEST_POSTGRES_URL)")

# Every table a referral's creation and acceptance write, in a stable order; the outbox's random delivery id left out.
TABLES = {
    "referral": "SELECT * FROM referral ORDER BY id",
    "referral_need": "SELECT * FROM referral_need ORDER BY id",
    "offer": "SELECT * FROM offer ORDER BY id",
    "referral_event": "SELECT * FROM referral_event ORDER BY id",
    "notification": "SELECT * FROM notification ORDER BY id",
    "capacity_change": "SELECT * FROM capacity_change ORDER BY id",
    "audit_log": "SELECT * FROM audit_log ORDER BY id",
    # A capacity stamp is its writer's transaction id, which two databases of one server never share: whether it was stamped.
    "service": "SELECT id, capacity_available, capacity_total, capacity_version > 0 AS stamped FROM service ORDER BY id",
    "change_counter": "SELECT * FROM change_counter ORDER BY name",
}


async def _scenario(client: Any) -> list[Any]:
    """Referrals with two needs (one capacity-bound), a cascade, won and lost accepts, providers with and without an
    e-mail; every answer in order."""
    tokens = Tokens(client)
    admin = tokens.make("admin")
    institution = tokens.make("institution")
    ngo: dict[int, dict[str, str]] = {}
    for name, body, email in [
        ("Casa A", residential("Casa A", available=1), "a@example.org"),
        ("Casa B", residential("Casa B", available=3), "b@example.org"),
        ("Sfat C", counselling("Sfat C"), "c@example.org"),
        ("Sfat D", counselling("Sfat D"), None),  # no e-mail: its offers become the secretariat's tasks
    ]:
        org = await make_org(client, admin, name, **({"referral_email": email} if email else {}))
        await make_service(client, admin, org["id"], body)
        ngo[org["id"]] = tokens.make("ngo", organisation=org["id"], name=f"{name} coordinator")
    answers: list[Any] = []

    async def refer(**body: Any) -> dict[str, Any]:
        resp = await client.post("/api/v1/referrals", json={"profile": copy.deepcopy(BOY), "consent": True, **body}, headers=institution)
        answers.append((resp.status_code, resp.json()))
        assert resp.status_code == 201, resp.text
        return resp.json()  # type: ignore[no-any-return]

    async def accept(offer: dict[str, Any]) -> None:
        resp = await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=ngo[offer["organisation_id"]], json={})
        answers.append((resp.status_code, resp.json()))

    def of(referral: dict[str, Any], name: str) -> dict[str, Any]:
        return next(o for o in referral["offers"] if o["service_name"] == name)

    first = await refer()  # both needs, every provider (one without an e-mail)
    await accept(of(first, "Sfat C"))  # not capacity-bound: partially placed
    await accept(of(first, "Sfat D"))  # lost: withdrawn
    await accept(of(first, "Casa A"))  # the last free place: placed
    await accept(of(first, "Casa B"))  # lost: withdrawn
    second = await refer(service_ids=[s["service_id"] for s in first["offers"] if s["service_name"] in ("Casa B", "Sfat C")])
    await accept(of(second, "Casa B"))
    await accept(of(second, "Sfat C"))
    third = await refer(mode="cascade")  # the first provider of each need only (Casa A is full now)
    for offer in third["offers"]:
        await accept(offer)
    for referral in (first, second, third):
        resp = await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)
        answers.append((resp.status_code, resp.json()))
    return answers


async def _run(
    url: str, monkeypatch: pytest.MonkeyPatch, *, general: bool, calls: list[str]
) -> tuple[list[Any], dict[str, list[dict[str, Any]]]]:
    await _truncate(url)
    with monkeypatch.context() as patch:
        if general:  # the path SQLite takes, here on PostgreSQL
            patch.setattr(accepting, "sqlite", lambda: True)
            patch.setattr(creation, "sqlite", lambda: True)
        for module, name in ((creation, "_create_pg"), (accepting, "_accept_pg")):
            patch.setattr(module, name, _counted(getattr(module, name), name, calls))
        settings = Settings(database_url=url, data_dir=str(REPO / "data"), scheduler=False, debug=True)
        async with AsyncTestClient(app=create_app(settings, clock=FixedClock(START))) as client:
            answers = await _scenario(client)
    conn = await asyncpg.connect(url)
    try:
        rows = {name: [dict(r) for r in await conn.fetch(query)] for name, query in TABLES.items()}
    finally:
        await conn.close()
    for row in rows["notification"]:
        row.pop("delivery_id")
    return answers, rows


def _counted(fn: Any, name: str, calls: list[str]) -> Any:
    async def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return await fn(*args, **kwargs)

    return counted


async def test_fused_statements_answer_and_write_as_the_general_path(postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    general_calls: list[str] = []
    fused_calls: list[str] = []
    general = await _run(postgres_url, monkeypatch, general=True, calls=general_calls)
    fused = await _run(postgres_url, monkeypatch, general=False, calls=fused_calls)
    assert general_calls == [] and sorted(fused_calls) == ["_accept_pg"] * 6 + ["_create_pg"] * 3
    assert [status for status, _ in general[0]] == [201, 200, 409, 200, 409, 201, 200, 200, 201, 200, 200, 200, 200, 200]
    assert fused[0] == general[0]
    for table in TABLES:
        assert fused[1][table] == general[1][table], table
    assert len(general[1]["capacity_change"]) == 3 and len(general[1]["referral"]) == 3
