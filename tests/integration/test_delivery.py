"""Unreachable providers (both engines): ranked last with why, their offers become secretariat tasks the
institution sees at once, the secretariat answers on their behalf (audited), failed delivery escalates."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from referralnet.app import create_app
from referralnet.referrals.delivery import escalate_failed
from referralnet.settings import Settings
from referralnet.tables import AuditLog, Notification
from tests.conftest import REPO, Tokens, in_app
from tests.integration.helpers import PROFILE, make_org, make_service
from tests.integration.test_referrals import shelter_body

SECRETARIAT = "secretariat@mnir.example"
OFFICER = "trafic@ipj-iasi.example"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, data_dir=str(REPO / "data"), scheduler=False, debug=True, secretariat_email=SECRETARIAT)


@pytest.fixture
async def client(settings: Settings, clock: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as c:
        yield c


async def provider(client: Any, tokens: Tokens, admin: dict[str, str], name: str, site: str = "Iași", **contact: Any) -> tuple[int, int, dict[str, str]]:
    org = await make_org(client, admin, name, **contact)
    body = shelter_body(name)
    body["sites"] = [{"county": "RO-IS" if site == "Iași" else "RO-SV", "locality": site}]
    service = await make_service(client, admin, org["id"], body)
    return org["id"], service["id"], tokens.make("ngo", organisation=org["id"], name=f"{name} coordinator")


async def refer(client: Any, headers: dict[str, str], service_ids: list[int]) -> dict[str, Any]:
    body = {"profile": copy.deepcopy(PROFILE), "consent": True, "mode": "parallel", "service_ids": service_ids, "notify_email": OFFICER}
    resp = await client.post("/api/v1/referrals", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def outbox(client: Any, referral_id: int) -> list[dict[str, Any]]:
    return in_app(client, lambda: Notification.select().where(Notification.referral == referral_id).order_by(Notification.id))  # type: ignore[no-any-return]


async def test_a_provider_without_any_channel_ranks_after_reachable_ones_with_why(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    _, silent, _ = await provider(client, tokens, admin, "Casa Tăcută")  # in Iași: nearer, so it would rank first
    _, far, _ = await provider(client, tokens, admin, "Casa Departe", site="Suceava", referral_email="primire@departe.example")
    resp = await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)
    assert resp.status_code == 200, resp.text
    candidates = resp.json()["candidates"]
    assert [c["service_id"] for c in candidates] == [far, silent]
    caveats = {c["service_id"]: [r["code"] for r in c["reasons"]] for c in candidates}
    assert "no_referral_contact" in caveats[silent] and "no_referral_contact" not in caveats[far]
    reason = next(r for r in candidates[1]["reasons"] if r["code"] == "no_referral_contact")
    assert reason["kind"] == "caveat" and reason["text"].startswith("no referral contact recorded")


async def test_automatic_offers_go_to_reachable_providers_first(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    """Asked automatically (``service_ids: null``), a referral goes to the best three as the match shows them: providers
    with no referral contact after those that can be reached, whose offers need no call from the secretariat."""
    services = [(await provider(client, tokens, admin, f"Casa {i}", **contact))[1] for i, contact in enumerate(
        [{}, {}, {"referral_email": "primire@doi.example"}, {"referral_email": "primire@trei.example"}])]  # fmt: skip
    silent, reachable = services[:2], services[2:]  # alike: each pair ranked in service order
    match = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    assert [c["service_id"] for c in match["candidates"]] == [*reachable, *silent]
    body = {"profile": copy.deepcopy(PROFILE), "consent": True, "mode": "parallel", "service_ids": None, "notify_email": OFFICER}
    resp = await client.post("/api/v1/referrals", json=body, headers=institution)
    assert resp.status_code == 201, resp.text
    assert [(o["service_id"], o["delivery"]) for o in resp.json()["offers"]] == [(reachable[0], "sent"), (reachable[1], "sent"), (silent[0], "failed")]


async def test_an_unreachable_providers_offer_is_a_secretariat_task_at_once_and_answered_on_its_behalf(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], secretariat: dict[str, str]
) -> None:
    silent, silent_service, _ = await provider(client, tokens, admin, "Casa Tăcută")
    phone, phone_service, _ = await provider(client, tokens, admin, "Casa Telefon", referral_phone="+40 232 300 300")
    mail, mail_service, _ = await provider(client, tokens, admin, "Casa Mail", referral_email="primire@mail.example")
    referral = await refer(client, institution, [silent_service, phone_service, mail_service])
    # The institution sees each offer's delivery state at once.
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    delivery = {o["organisation_id"]: o["delivery"] for o in view["offers"]}
    assert delivery == {silent: "failed", phone: "phone", mail: "sent"}
    offers = {o["organisation_id"]: o["id"] for o in view["offers"]}

    # Both land in the secretariat's tasks ("call this provider"); only the failure is escalated to the officer.
    tasks = (await client.get("/api/v1/tasks", headers=secretariat)).json()
    assert [(t["offer_id"], t["delivery"], t["action"]) for t in tasks["items"]] == [
        (offers[silent], "failed", "call this provider"), (offers[phone], "phone", "call this provider")]
    assert tasks["items"][1]["referral_phone"] == "+40 232 300 300"
    rows = [(r["kind"], r["recipient"], r["offer"]) for r in outbox(client, referral["id"]) if r["kind"] == "offer_undelivered"]
    assert rows == [("offer_undelivered", SECRETARIAT, offers[silent]), ("offer_undelivered", OFFICER, offers[silent]),
                    ("offer_undelivered", SECRETARIAT, offers[phone])]  # fmt: skip
    assert (await client.get("/api/v1/tasks", headers=institution)).status_code == 403

    # The secretariat records the phoned provider's answer on its behalf, audited as such; not for a reachable one.
    resp = await client.post(f"/api/v1/offers/{offers[mail]}/accept", headers=secretariat)
    assert resp.status_code == 403
    resp = await client.post(f"/api/v1/offers/{offers[phone]}/accept", headers=secretariat)
    assert resp.status_code == 200, resp.text
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    assert view["status"] == "placed"
    accepted = next(e for e in view["history"] if e["kind"] == "offer_accepted")
    assert accepted["actor"] == "secretariat:test secretariat on behalf of Casa Telefon"
    audited = in_app(client, lambda: AuditLog.select(AuditLog.action, AuditLog.object_id).where(AuditLog.action == "accept_on_behalf"))
    assert audited == [{"action": "accept_on_behalf", "object_id": offers[phone]}]
    assert (await client.get("/api/v1/tasks", headers=secretariat)).json()["total"] == 0  # the others were withdrawn


async def test_failed_delivery_escalates_once_and_a_sent_message_shows_delivered(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], secretariat: dict[str, str], settings: Settings, clock: Any
) -> None:
    a, a_service, _ = await provider(client, tokens, admin, "Casa A", referral_email="primire@a.example")
    b, b_service, _ = await provider(client, tokens, admin, "Casa B", referral_email="primire@b.example")
    referral = await refer(client, institution, [a_service, b_service])
    offers = {o["organisation_id"]: o["id"] for o in referral["offers"]}

    async def outcome(org_offer: int, status: str) -> None:
        await Notification.update({Notification.status: status}).where(Notification.offer == org_offer, Notification.kind == "offer_new")

    # As the dispatcher leaves them: A's message given up on (permanent failure), B's sent.
    in_app(client, outcome, offers[a], "failed")
    in_app(client, outcome, offers[b], "sent")
    assert in_app(client, escalate_failed, clock.now(), settings) == 1
    assert in_app(client, escalate_failed, clock.now(), settings) == 0  # claimed once
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    assert {o["organisation_id"]: o["delivery"] for o in view["offers"]} == {a: "failed", b: "delivered"}
    escalated = [r["recipient"] for r in outbox(client, referral["id"]) if r["kind"] == "offer_undelivered"]
    assert escalated == [SECRETARIAT, OFFICER]
    tasks = (await client.get("/api/v1/tasks", headers=secretariat)).json()
    assert [t["offer_id"] for t in tasks["items"]] == [offers[a]]
