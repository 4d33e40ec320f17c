"""Retention on both engines with the injected clock: closed, cancelled and unplaced referrals lose
their free text after the retention period, keep their coded fields, are claimed once, and the audit
log keeps that the purge happened."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import msgspec
import pytest

from referralnet.notifications.dispatch import dispatch_due
from referralnet.referrals.retention import ACTION, ACTOR, purge_due
from referralnet.scheduler import run_retention
from referralnet.settings import Settings
from referralnet.tables import AuditLog, Notification, Offer, Referral, ReferralEvent
from tests.conftest import REPO, Tokens, in_app
from tests.integration.test_needs import BOY, Providers, need, residential
from tests.integration.test_needs import refer as refer_boy
from tests.integration.test_referrals import PROFILE, network, refer

NOTE = "prefers a caseworker who speaks Italian"
TEXTS = {
    "arrival": "arrived later than planned, tired",
    "outcome": "counselling started in the second week",
    "decline": "the rooms are being repainted this month",
    "cancel": "the person chose to return home",
    "instructions": "meet our caseworker at the north entrance of the station",
    "officer": "Agent Vasilescu",
}


async def view(client: Any, headers: dict[str, str], rid: int) -> dict[str, Any]:
    resp = await client.get(f"/api/v1/referrals/{rid}", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def finished_referrals(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> dict[str, int]:
    """A closed, an unplaced and a cancelled referral (all finished at START) and an open one, each with free text."""
    net = await network(client, tokens, admin, n=3)
    profile = {**PROFILE, "note": NOTE}
    closed = await refer(client, institution, service_ids=[net.services[0]["id"]], profile=profile, notify_email="officer@police.test",
                         officer_name=TEXTS["officer"], officer_phone="+40 232 211 611")
    resp = await client.post(
        f"/api/v1/offers/{closed['offers'][0]['id']}/accept", json={"arrival_instructions": TEXTS["instructions"]}, headers=net.ngos[0]
    )
    assert resp.status_code == 200, resp.text
    resp = await client.post(f"/api/v1/referrals/{closed['id']}/arrival", json={"note": TEXTS["arrival"]}, headers=net.ngos[0])
    assert resp.status_code == 200, resp.text
    resp = await client.post(f"/api/v1/referrals/{closed['id']}/close", json={"outcome": "services_started", "text": TEXTS["outcome"]}, headers=net.ngos[0])
    assert resp.status_code == 200, resp.text

    unplaced = await refer(client, institution, service_ids=[net.services[1]["id"]], profile=profile)
    resp = await client.post(f"/api/v1/offers/{unplaced['offers'][0]['id']}/decline", json={"reason": "other", "text": TEXTS["decline"]}, headers=net.ngos[1])
    assert resp.status_code == 200, resp.text
    assert (await view(client, institution, unplaced["id"]))["status"] == "unplaced"

    cancelled = await refer(client, institution, service_ids=[net.services[2]["id"]], profile=profile)
    resp = await client.post(f"/api/v1/referrals/{cancelled['id']}/cancel", json={"reason": TEXTS["cancel"]}, headers=institution)
    assert resp.status_code == 200, resp.text

    still_open = await refer(client, institution, service_ids=[net.services[2]["id"]], profile=profile)
    return {"closed": closed["id"], "unplaced": unplaced["id"], "cancelled": cancelled["id"], "open": still_open["id"]}


async def raw(rid: int) -> dict[str, Any]:
    row = await Referral.select().where(Referral.id == rid).first()
    events = await ReferralEvent.select(ReferralEvent.kind, ReferralEvent.reason).where(ReferralEvent.referral == rid)
    audit = await AuditLog.select(AuditLog.actor, AuditLog.role, AuditLog.action, AuditLog.at).where(
        AuditLog.object_type == "referral", AuditLog.object_id == rid, AuditLog.action == ACTION
    )
    messages = await Notification.select(Notification.recipient, Notification.status).where(Notification.referral == rid)
    offers = await Offer.select(Offer.decline_text, Offer.arrival_instructions).where(Offer.referral == rid)
    return {**row, "events": events, "purges": audit, "messages": messages, "offers": offers}


def text_of(row: dict[str, Any]) -> str:
    return msgspec.json.encode({k: v for k, v in row.items() if k != "purges"}, enc_hook=str).decode()


async def test_free_text_goes_after_the_period_and_coded_fields_stay(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any
) -> None:
    ids = await finished_referrals(client, tokens, admin, institution)
    assert in_app(client, dispatch_due, settings, clock.now(), worker_id="test").held >= 1  # no SMTP: e-mails held
    officer = [m for m in in_app(client, raw, ids["closed"])["messages"] if m["recipient"] == "officer@police.test"]
    assert officer and {m["status"] for m in officer} == {"held"}
    before = {name: await view(client, admin, rid) for name, rid in ids.items()}
    assert all(v["profile"]["note"] == NOTE for v in before.values())

    clock.advance(days=179, hours=23)
    assert in_app(client, purge_due, clock.now(), settings) == 0  # not yet: 180 days by default
    clock.advance(hours=2)
    in_app(client, run_retention, settings, clock)  # the scheduled job
    assert in_app(client, purge_due, clock.now(), settings) == 0  # each referral is purged once

    for name in ("closed", "unplaced", "cancelled"):
        rid = ids[name]
        after, was = await view(client, admin, rid), before[name]
        assert after["profile"] == {**was["profile"], "note": ""}  # every coded field kept
        assert (after["status"], after["county"], after["urgency"], after["outcome"], after["summary"]) == (
            was["status"], was["county"], was["urgency"], was["outcome"], was["summary"]
        )
        assert after["outcome_text"] is None
        assert [(o["status"], o["decline_reason"], o["decline_text"]) for o in after["offers"]] == [
            (o["status"], o["decline_reason"], None) for o in was["offers"]
        ]
        assert [(e["kind"], e["at"], e["actor"]) for e in after["history"]] == [(e["kind"], e["at"], e["actor"]) for e in was["history"]]
        stored = in_app(client, raw, rid)
        assert stored["purged_at"] == clock.now() and stored["notify_email"] is None
        assert stored["officer_name"] is None and stored["officer_phone"] is None
        for text in (NOTE, *TEXTS.values(), "officer@police.test"):
            assert text not in text_of(stored), (name, text)
        assert [(a["actor"], a["role"], a["at"]) for a in stored["purges"]] == [(ACTOR, "system", clock.now())]
    messages = in_app(client, raw, ids["closed"])["messages"]
    assert len([m for m in messages if m["recipient"] == "(erased)"]) == len(officer)
    # The system's own reasons stay: they say why, and hold nothing a person typed.
    unplaced = await view(client, admin, ids["unplaced"])
    assert next(e for e in unplaced["history"] if e["kind"] == "referral_unplaced")["reason"]
    assert before["closed"]["outcome_text"] == TEXTS["outcome"]

    still_open = in_app(client, raw, ids["open"])
    assert still_open["purged_at"] is None and NOTE in text_of(still_open) and still_open["purges"] == []


async def test_period_is_configurable_and_counts_from_the_end(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any
) -> None:
    ids = await finished_referrals(client, tokens, admin, institution)
    short = msgspec.structs.replace(settings, retention_days=30)
    clock.advance(days=29)
    assert in_app(client, purge_due, clock.now(), short) == 0
    # An open referral is never purged, however old; once cancelled, its period starts then.
    resp = await client.post(f"/api/v1/referrals/{ids['open']}/cancel", json={"reason": TEXTS["cancel"]}, headers=institution)
    assert resp.status_code == 200, resp.text
    clock.advance(days=2)
    assert in_app(client, purge_due, clock.now(), short) == 3
    assert in_app(client, purge_due, clock.now(), settings) == 0
    assert in_app(client, raw, ids["open"])["purged_at"] is None
    clock.advance(days=29)
    assert in_app(client, purge_due, clock.now(), short) == 1
    assert in_app(client, raw, ids["open"])["purged_at"] == clock.now()


async def test_concurrent_sweeps_purge_each_referral_once(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any
) -> None:
    ids = await finished_referrals(client, tokens, admin, institution)
    clock.advance(days=181)

    async def four() -> list[int]:
        return await asyncio.gather(*(purge_due(clock.now(), settings) for _ in range(4)))

    assert sum(in_app(client, four)) == 3
    for name in ("closed", "unplaced", "cancelled"):
        assert len(in_app(client, raw, ids[name])["purges"]) == 1


async def test_history_stays_append_only_but_for_erasing_free_text(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any
) -> None:
    ids = await finished_referrals(client, tokens, admin, institution)
    rid = ids["cancelled"]

    async def change(values: dict[Any, Any]) -> None:
        await ReferralEvent.update(values).where(ReferralEvent.referral == rid, ReferralEvent.kind == "referral_cancelled")

    for values in ({ReferralEvent.kind: "referral_closed"}, {ReferralEvent.reason: "rewritten"}, {ReferralEvent.actor: "someone"}):
        with pytest.raises(Exception, match="append-only"):
            in_app(client, change, values)

    async def delete() -> None:
        await ReferralEvent.delete().where(ReferralEvent.referral == rid)

    with pytest.raises(Exception, match="append-only"):
        in_app(client, delete)
    in_app(client, change, {ReferralEvent.reason: None})
    assert [e["reason"] for e in in_app(client, raw, rid)["events"] if e["kind"] == "referral_cancelled"] == [None]


async def test_worker_once_runs_the_retention_sweep(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings
) -> None:
    """``referralnet worker --once`` (cron deployments) purges too, on the real clock: START is long past."""
    ids = await finished_referrals(client, tokens, admin, institution)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO / "src"),
        "REFERRALNET_DATABASE_URL": settings.database_url,
        "REFERRALNET_DATA_DIR": str(REPO / "data"),
        "REFERRALNET_RETENTION_DAYS": "1",
        "REFERRALNET_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run([sys.executable, "-m", "referralnet.cli", "worker", "--once"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert all(in_app(client, raw, ids[n])["purged_at"] is not None for n in ("closed", "unplaced", "cancelled"))
    assert in_app(client, raw, ids["open"])["purged_at"] is None


async def test_an_unplaced_referral_with_a_need_placed_is_not_finished(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any
) -> None:
    """The person may be at the placed service: its free text stays until the referral is closed, then goes as any."""
    p = Providers(client, tokens, admin)
    home, _ = await p.org("Casa Copiilor", residential("Casa de tip familial"))  # no counselling anywhere
    referral = await refer_boy(client, institution, mode="parallel", profile={**BOY, "note": NOTE})
    assert referral["status"] == "unplaced"
    offer = need(referral, "child_residential")["offers"][0]
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=p.ngo[home])).status_code == 200
    clock.advance(days=400)
    assert in_app(client, purge_due, clock.now(), settings) == 0
    assert (await view(client, admin, referral["id"]))["profile"]["note"] == NOTE
    resp = await client.post(f"/api/v1/referrals/{referral['id']}/close", json={"outcome": "transferred"}, headers=p.ngo[home])
    assert resp.status_code == 200, resp.text
    clock.advance(days=181)
    assert in_app(client, purge_due, clock.now(), settings) == 1
    assert (await view(client, admin, referral["id"]))["profile"]["note"] == ""
