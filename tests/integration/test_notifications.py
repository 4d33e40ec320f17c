"""The outbox dispatcher on both engines, against a real SMTP server and a real HTTP receiver.

Both servers run in threads of this process on free local ports; the dispatcher runs on the app's
event loop (``in_app``) with the injected clock, so back-off is exercised by moving the clock.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any, get_args

import msgspec
import pytest

from referralnet.errors import BadLink
from referralnet.notifications.dispatch import DispatchReport, backoff, dispatch_due
from referralnet.notifications.outbox import KINDS, notify_organisation
from referralnet.notifications.schemas import NotificationKind
from referralnet.notifications.signing import instance_key, read_offer_token, verify_body
from referralnet.settings import Settings
from tests.conftest import START, Tokens, in_app
from tests.integration.helpers import make_org, make_service
from tests.integration.servers import Receiver, free_port
from tests.integration.test_referrals import PROFILE, refer, shelter_body

NOTE = "prefers a caseworker who speaks Italian"
BASE_URL = "https://referralnet.example"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test receivers listen on http://127.0.0.1: allowed through the settings, as on a local network."""
    return msgspec.structs.replace(settings, webhook_allow_http=True, webhook_allow_hosts="127.0.0.1")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()


def configured(settings: Settings, **changes: Any) -> Settings:
    return msgspec.structs.replace(settings, public_url=BASE_URL, mail_from="referralnet@network.test", **changes)


def dispatch(client: Any, settings: Settings, clock: Any, **kw: Any) -> DispatchReport:
    return in_app(client, dispatch_due, settings, clock.now(), worker_id="test", **kw)


async def provider(client: Any, tokens: Tokens, admin: dict[str, str], name: str, **org: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
    """An organisation with one shelter and its NGO token: (organisation, service id, headers)."""
    made = await make_org(client, admin, f"Asociația {name}", **org)
    service = await make_service(client, admin, made["id"], shelter_body(name))
    return made, service["id"], tokens.make("ngo", organisation=made["id"], name=f"{name} coordinator")


async def rows(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/notifications", params={"limit": 500, **params}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]  # type: ignore[no-any-return]


async def secret_for(client: Any, org_id: int, headers: dict[str, str]) -> str:
    resp = await client.post(f"/api/v1/organisations/{org_id}/webhook-secret", headers=headers)
    assert resp.status_code == 201, resp.text
    assert resp.headers["cache-control"] == "no-store"
    return resp.json()["secret"]  # type: ignore[no-any-return]


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [backoff(n) for n in (1, 2, 3, 4)] == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(30) == dt.timedelta(hours=6)
    assert set(get_args(NotificationKind)) == set(KINDS)


async def test_new_offer_email_reaches_a_real_smtp_server_with_working_links(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any, inbox: Any
) -> None:
    handler, port = inbox
    org, service_id, ngo = await provider(client, tokens, admin, "Casa Mail", referral_email="referrals@casa-mail.test")
    referral = await refer(client, institution, service_ids=[service_id], profile={**PROFILE, "note": NOTE})
    offer = referral["offers"][0]
    mail = configured(settings, smtp_host="127.0.0.1", smtp_port=port)

    report = dispatch(client, mail, clock)
    assert (report.claimed, report.sent, report.retried) == (1, 1, 0)
    assert len(handler.messages) == 1 and handler.envelopes[0].rcpt_tos == ["referrals@casa-mail.test"]
    msg = handler.messages[0]
    assert msg["From"] == "referralnet@network.test" and msg["To"] == "referrals@casa-mail.test"
    assert msg["Subject"].startswith("New referral (urgent): please answer by 2026-03-03 09:00 UTC")
    assert msg.get_content_type() == "text/plain"
    text = msg.get_content()
    # The anonymised summary only: never the profile's free-text note or the locality.
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    assert view["summary"] in text
    assert NOTE not in text and "Iași" not in text and "Iasi" not in text
    # Which of its services and which need the offer is for: an NGO with several services must tell at once.
    service_name = (await client.get(f"/api/v1/services/{service_id}", headers=admin)).json()["name"]
    assert f"Service asked: {service_name}" in text and "Need: Residential shelter" in text

    key = in_app(client, instance_key, settings.secret_key)
    tokens_in_mail = re.findall(re.escape(BASE_URL) + r"/respond/(\S+)", text)
    assert len(tokens_in_mail) == 2
    links = [read_offer_token(key, t, clock.now()) for t in tokens_in_mail]
    deadline = dt.datetime.fromisoformat(offer["deadline"])
    assert [(link.offer_id, link.action, link.expires) for link in links] == [
        (offer["id"], "accept", deadline), (offer["id"], "decline", deadline)
    ]  # fmt: skip
    with pytest.raises(BadLink):
        read_offer_token(key, tokens_in_mail[0], deadline)

    [row] = await rows(client, ngo)
    assert (row["status"], row["attempts"], row["channel"], row["kind"]) == ("sent", 1, "email", "offer_new")
    assert row["sent_at"].startswith("2026-03-02T09:00") and "payload" not in row
    assert msg["X-Referralnet-Delivery"] == row["delivery_id"]
    assert dispatch(client, mail, clock).claimed == 0 and len(handler.messages) == 1


async def test_webhook_is_signed_and_retried_after_a_500_then_delivered_once(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any, receiver: Receiver
) -> None:
    org, service_id, ngo = await provider(client, tokens, admin, "Casa Hook", webhook_url=receiver.url)
    secret = await secret_for(client, org["id"], ngo)
    referral = await refer(client, institution, service_ids=[service_id], profile={**PROFILE, "note": NOTE})
    receiver.script = [(500, 0.0)]

    report = dispatch(client, settings, clock)
    assert (report.claimed, report.sent, report.retried) == (1, 0, 1)
    [row] = await rows(client, ngo)
    assert row["status"] == "pending" and row["attempts"] == 1 and "HTTP 500" in row["last_error"]
    assert row["next_attempt_at"].startswith("2026-03-02T09:01:00")
    assert dispatch(client, settings, clock).claimed == 0  # backing off
    clock.advance(seconds=59)
    assert dispatch(client, settings, clock).claimed == 0
    clock.advance(seconds=1)
    assert dispatch(client, settings, clock).sent == 1
    clock.advance(hours=1)
    assert dispatch(client, settings, clock).claimed == 0

    assert len(receiver.requests) == 2 and receiver.delivery_ids() == [row["delivery_id"]] * 2
    for headers, body in receiver.requests:
        assert verify_body(secret, body, headers["x-referralnet-signature"])
        assert headers["x-referralnet-signature"].startswith("sha256=")
        assert not verify_body(secret, body.replace(b"urgent", b"planned"), headers["x-referralnet-signature"])
    sent = json.loads(receiver.requests[-1][1])
    assert sent["kind"] == "offer_new" and sent["delivery_id"] == row["delivery_id"]
    assert sent["offer_id"] == referral["offers"][0]["id"] and sent["referral_id"] == referral["id"]
    assert set(sent) <= {"kind", "delivery_id", "created_at", "referral_id", "offer_id", "service_id", "need", "summary", "urgency", "deadline"}
    assert sent["need"] == "residential shelter"
    assert NOTE not in receiver.requests[-1][1].decode()
    [row] = await rows(client, ngo)
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 2, None)


async def test_slow_receiver_times_out_without_blocking_and_is_retried(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any, receiver: Receiver
) -> None:
    org, service_id, ngo = await provider(client, tokens, admin, "Casa Slow", webhook_url=receiver.url)
    await secret_for(client, org["id"], admin)
    await refer(client, institution, service_ids=[service_id])
    quick = configured(settings, webhook_timeout_seconds=0.3)
    receiver.script = [(200, 2.0)]

    started = time.monotonic()
    report = dispatch(client, quick, clock)
    assert time.monotonic() - started < 1.5  # gave up after the timeout, did not wait for the answer
    assert (report.sent, report.retried) == (0, 1)
    [row] = await rows(client, ngo)
    assert row["status"] == "pending" and "no answer within 0.3 s" in row["last_error"]
    clock.advance(minutes=1)
    assert dispatch(client, quick, clock).sent == 1
    # The receiver did see the slow attempt: the delivery id is what lets it drop the repeat.
    assert len(set(receiver.delivery_ids())) == 1 and len(receiver.requests) == 2


async def test_webhook_without_secret_waits_for_one_and_secret_endpoint_is_scoped(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any, receiver: Receiver
) -> None:
    org, service_id, ngo = await provider(client, tokens, admin, "Casa Secret", webhook_url=receiver.url)
    other, _, other_ngo = await provider(client, tokens, admin, "Casa Other")
    await refer(client, institution, service_ids=[service_id])

    assert dispatch(client, settings, clock).retried == 1 and receiver.requests == []
    [row] = await rows(client, ngo)
    assert f"/api/v1/organisations/{org['id']}/webhook-secret" in row["last_error"]

    url = f"/api/v1/organisations/{org['id']}/webhook-secret"
    assert (await client.post(url, headers=other_ngo)).status_code == 403
    assert (await client.post(url, headers=institution)).status_code == 403
    assert (await client.post("/api/v1/organisations/9999/webhook-secret", headers=admin)).status_code == 404
    first = await secret_for(client, org["id"], ngo)
    secret = await secret_for(client, org["id"], tokens.make("secretariat"))
    assert first != secret and len(secret) >= 32
    assert "webhook_secret" not in (await client.get(f"/api/v1/organisations/{org['id']}", headers=ngo)).text

    clock.advance(minutes=1)
    assert dispatch(client, settings, clock).sent == 1
    headers, body = receiver.requests[0]
    assert verify_body(secret, body, headers["x-referralnet-signature"])
    assert not verify_body(first, body, headers["x-referralnet-signature"])
    assert other["id"] != org["id"]


async def test_concurrent_dispatchers_never_deliver_a_row_twice(
    client: Any, tokens: Tokens, admin: dict[str, str], settings: Settings, clock: Any, receiver: Receiver
) -> None:
    org, _, ngo = await provider(client, tokens, admin, "Casa Busy", webhook_url=receiver.url)
    await secret_for(client, org["id"], ngo)
    receiver.delay = 0.02

    async def fill() -> None:
        for i in range(20):
            await notify_organisation("capacity_stale", org["id"], now=START, subject=f"Update {i}", payload={"service_id": i})

    in_app(client, fill)

    async def four_workers() -> list[DispatchReport]:
        return await asyncio.gather(*(dispatch_due(settings, clock.now(), worker_id=f"w{i}", limit=8) for i in range(4)))

    reports = in_app(client, four_workers)
    assert all(r.claimed <= 8 for r in reports), reports  # a claim never takes more than its limit
    assert sum(r.claimed for r in reports) == 20 and sum(r.sent for r in reports) == 20
    assert len(receiver.requests) == 20 and len(set(receiver.delivery_ids())) == 20
    assert dispatch(client, settings, clock).claimed == 0
    assert {(r["status"], r["attempts"]) for r in await rows(client, ngo)} == {("sent", 1)}


async def test_without_smtp_emails_are_held_logged_and_sent_once_smtp_is_configured(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any,
    receiver: Receiver, inbox: Any, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO, logger="referralnet.notifications.dispatch")
    handler, port = inbox
    org, service_id, ngo = await provider(client, tokens, admin, "Casa Held", referral_email="held@casa.test", webhook_url=receiver.url)
    await secret_for(client, org["id"], ngo)
    await refer(client, institution, service_ids=[service_id])
    local = configured(settings)
    assert local.smtp_host is None

    report = dispatch(client, local, clock)
    assert (report.held, report.sent) == (1, 1)  # the webhook still goes out
    logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("e-mail held")]
    assert len(logged) == 1
    assert "held@casa.test" in logged[0] and "New referral (urgent)" in logged[0] and f"{BASE_URL}/respond/" in logged[0]
    by_channel = {r["channel"]: r for r in await rows(client, ngo)}
    assert by_channel["email"]["status"] == "held" and by_channel["email"]["attempts"] == 0
    assert by_channel["webhook"]["status"] == "sent"

    clock.advance(hours=2)
    assert dispatch(client, local, clock) == DispatchReport()  # kept, not logged again
    assert len([r for r in caplog.records if r.getMessage().startswith("e-mail held")]) == 1
    assert dispatch(client, configured(settings, smtp_host="127.0.0.1", smtp_port=port), clock).sent == 1
    assert [m["To"] for m in handler.messages] == ["held@casa.test"]
    by_channel = {r["channel"]: r for r in await rows(client, ngo)}
    assert (by_channel["email"]["status"], by_channel["email"]["attempts"]) == ("sent", 1)


async def test_smtp_down_retries_and_gives_up_after_max_attempts(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Settings, clock: Any
) -> None:
    org, service_id, ngo = await provider(client, tokens, admin, "Casa Down", referral_email="down@casa.test")
    await refer(client, institution, service_ids=[service_id])
    down = configured(settings, smtp_host="127.0.0.1", smtp_port=free_port(), notification_max_attempts=3)

    assert dispatch(client, down, clock).retried == 1
    [row] = await rows(client, ngo)
    assert row["last_error"].startswith("SMTP 127.0.0.1:") and row["next_attempt_at"].startswith("2026-03-02T09:01:00")
    clock.advance(minutes=1)
    assert dispatch(client, down, clock).retried == 1
    [row] = await rows(client, ngo)
    assert row["attempts"] == 2 and row["next_attempt_at"].startswith("2026-03-02T09:03:00")  # then 2 minutes
    clock.advance(minutes=1)
    assert dispatch(client, down, clock).claimed == 0
    clock.advance(minutes=1)
    assert dispatch(client, down, clock).failed == 1
    clock.advance(days=1)
    assert dispatch(client, down, clock).claimed == 0
    failed = await rows(client, tokens.make("secretariat"), status="failed")
    assert [(r["id"], r["attempts"]) for r in failed] == [(row["id"], 3)] and failed[0]["last_error"].startswith("SMTP")


async def test_listing_is_scoped_to_the_callers_organisation(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], secretariat: dict[str, str]
) -> None:
    a, service_a, ngo_a = await provider(client, tokens, admin, "Casa A", referral_email="a@casa.test")
    b, service_b, ngo_b = await provider(client, tokens, admin, "Casa B", referral_email="b@casa.test")
    ref_a = await refer(client, institution, service_ids=[service_a], notify_email="officer@police.test")
    ref_b = await refer(client, institution, service_ids=[service_b])
    await client.post(f"/api/v1/offers/{ref_a['offers'][0]['id']}/accept", headers=ngo_a)

    mine = await rows(client, ngo_a)
    assert {r["organisation_id"] for r in mine} == {a["id"]} and {r["referral_id"] for r in mine} == {ref_a["id"]}
    assert [r["recipient"] for r in await rows(client, ngo_b)] == ["b@casa.test"]
    everything = await rows(client, secretariat)
    assert {r["recipient"] for r in everything} == {"a@casa.test", "b@casa.test", "officer@police.test"}
    assert all("payload" not in r for r in everything)
    placed = await rows(client, secretariat, kind="referral_placed")
    assert [(r["recipient"], r["organisation_id"]) for r in placed] == [("officer@police.test", None)]
    assert [r["referral_id"] for r in await rows(client, secretariat, referral_id=ref_b["id"])] == [ref_b["id"]]
    assert await rows(client, ngo_a, status="sent") == []
    page = (await client.get("/api/v1/notifications", params={"limit": 1}, headers=secretariat)).json()
    assert len(page["items"]) == 1 and page["total"] == len(everything)

    assert (await client.get("/api/v1/notifications", headers=institution)).status_code == 403
    assert (await client.get("/api/v1/notifications")).status_code == 401
    assert (await client.get("/api/v1/notifications", params={"status": "lost"}, headers=secretariat)).status_code == 400
