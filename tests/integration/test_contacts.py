"""Contact once placed (both engines): each side sees the other's work contact only after acceptance,
never a third organisation; the "placed" messages carry them; every showing is recorded."""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from referralnet.notifications.email import render_text
from referralnet.tables import AuditLog, Notification
from tests.conftest import Tokens, in_app
from tests.integration.helpers import PROFILE, make_org, make_service
from tests.integration.test_referrals import shelter_body

INSTRUCTIONS = "Meet our worker at the pharmacy in the railway station; call the 24-hour line on arrival."
OFFICER = {"officer_name": "Agent Ionescu", "officer_phone": "+40 232 200 200", "notify_email": "trafic@ipj-iasi.example"}


async def provider(client: Any, tokens: Tokens, admin: dict[str, str], name: str, i: int) -> tuple[int, int, dict[str, str]]:
    org = await make_org(client, admin, name, referral_phone=f"+40 232 10{i} 100", phone_24h=f"+40 744 00{i} 000", referral_email=f"primire{i}@casa.example")
    body = shelter_body(name)
    body["sites"] = [{"county": "RO-IS", "locality": "Iași", "address": "Strada Secretă 1", "confidential": True}]
    service = await make_service(client, admin, org["id"], body)
    return org["id"], service["id"], tokens.make("ngo", organisation=org["id"], name=f"{name} coordinator")


async def view(client: Any, rid: int, headers: dict[str, str]) -> Any:
    return await client.get(f"/api/v1/referrals/{rid}", headers=headers)


async def test_contacts_are_shown_to_each_side_after_acceptance_and_to_nobody_else(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Any, clock: Any
) -> None:
    a, a_service, ngo_a = await provider(client, tokens, admin, "Casa A", 1)
    b, b_service, ngo_b = await provider(client, tokens, admin, "Casa B", 2)
    c, _, ngo_c = await provider(client, tokens, admin, "Casa C", 3)
    resp = await client.post("/api/v1/referrals", headers=institution, json={
        "profile": copy.deepcopy(PROFILE), "consent": True, "mode": "parallel", "service_ids": [a_service, b_service], **OFFICER})
    assert resp.status_code == 201, resp.text
    referral = resp.json()
    offers = {o["organisation_id"]: o for o in referral["offers"]}

    # Before acceptance nobody sees the other side.
    for headers in (institution, ngo_a, ngo_b):
        body = (await view(client, referral["id"], headers)).json()
        assert body["officer_contact"] is None and body["provider_contacts"] == []

    resp = await client.post(f"/api/v1/offers/{offers[a]['id']}/accept", json={"arrival_instructions": INSTRUCTIONS}, headers=ngo_a)
    assert resp.status_code == 200, resp.text

    # The institution sees the accepting provider's referral contact and arrival instructions, never the address.
    got = await view(client, referral["id"], institution)
    body = got.json()
    assert body["officer_contact"] is None
    assert body["provider_contacts"] == [{
        "offer_id": offers[a]["id"], "need": "residential_shelter", "organisation_id": a, "organisation_name": "Casa A",
        "referral_phone": "+40 232 101 100", "phone_24h": "+40 744 001 000", "referral_email": "primire1@casa.example",
        "arrival_instructions": INSTRUCTIONS,
    }]  # fmt: skip
    assert "Strada Secretă" not in got.text
    # The accepting provider sees the officer's work contact.
    body = (await view(client, referral["id"], ngo_a)).json()
    assert body["officer_contact"] == {"name": "Agent Ionescu", "phone": "+40 232 200 200", "email": "trafic@ipj-iasi.example"}
    # The provider that was withdrawn sees neither; one never asked does not see the referral at all.
    got = await view(client, referral["id"], ngo_b)
    assert got.json()["officer_contact"] is None and got.json()["provider_contacts"] == []
    assert "Agent Ionescu" not in got.text and "+40 232 200 200" not in got.text and "primire1@" not in got.text
    assert (await view(client, referral["id"], ngo_c)).status_code == 404

    # The "placed" messages carry them: to the officer the provider's, to the provider the officer's; none to Casa B.
    rows = in_app(client, lambda: Notification.select().where(Notification.referral == referral["id"]).order_by(Notification.id))
    placed = [r for r in rows if r["kind"] == "referral_placed"]
    assert [r["recipient"] for r in placed] == ["trafic@ipj-iasi.example"]
    text = in_app(client, render_text, placed[0], settings, clock.now(), "k")
    assert INSTRUCTIONS in text and "+40 232 101 100" in text and "+40 744 001 000" in text and "Strada" not in text
    accepted = [r for r in rows if r["kind"] == "offer_accepted"]
    assert [r["organisation"] for r in accepted] == [a]
    text = in_app(client, render_text, accepted[0], settings, clock.now(), "k")
    assert "Agent Ionescu" in text and "+40 232 200 200" in text and "trafic@ipj-iasi.example" in text
    for r in rows:
        if r["organisation"] in (b, c):
            assert "Agent" not in msgspec.json.encode(r["payload"]).decode() and "primire1" not in msgspec.json.encode(r["payload"]).decode()

    # Who saw them is recorded: the views in the audit log, the messages in the acceptance's history event.
    seen = in_app(client, lambda: AuditLog.select(AuditLog.actor).where(AuditLog.action == "read_contact", AuditLog.object_id == referral["id"]))
    assert sorted({r["actor"] for r in seen}) == ["Casa A coordinator", "test institution"]
    history = (await view(client, referral["id"], institution)).json()["history"]
    [event] = [e for e in history if e["kind"] == "offer_accepted"]
    assert event["contact_sent_to"] == ["the referring officer's e-mail", "Casa A"]
