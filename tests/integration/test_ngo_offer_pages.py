"""The NGO's offer page: the profile and the time left, accept or decline there (twice, or too late, said
plainly), arrival and outcome once accepted, the first opening recorded as seen (shown to the institution),
and the inbox's polling fragment that brings new offers without a reload."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from referralnet.clock import FixedClock
from referralnet.web.summaries import in_english
from tests.conftest import Tokens
from tests.integration.helpers import make_org, make_service, shelter
from tests.integration.test_ngo_pages import CAPACITY, SITES, free, person, post, refer
from tests.integration.test_people import sign_in


async def world(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]) -> dict[str, Any]:
    org = await make_org(client, admin, "Asociația Alfa", referral_email="alfa@example.org")
    sid = (await make_service(client, admin, org["id"], shelter(name="Casa Alfa", capacity=CAPACITY, sites=SITES)))["id"]
    institution = tokens.institution("IPJ Iași")
    officer = tokens.make("institution", organisation=institution, name="IPJ Iași")
    return {"org": org, "sid": sid, "institution": institution, "officer": officer}


async def offer_of(client: AsyncTestClient[Any], officer: dict[str, str], referral_id: int) -> dict[str, Any]:
    return (await client.get(f"/api/v1/referrals/{referral_id}", headers=officer)).json()["offers"][0]  # type: ignore[no-any-return]


async def test_offer_page_answers_once_and_records_arrival_and_outcome(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    w = await world(client, clock, tokens, admin)
    first, second = await refer(client, w["officer"], w["sid"]), await refer(client, w["officer"], w["sid"])
    offer_1, offer_2 = first["offers"][0]["id"], second["offers"][0]["id"]
    await person(client, clock, "ana@alfa.example.org", "ngo", w["org"]["id"])

    page = await client.get(f"/ngo/offers/{offer_1}")
    assert page.status_code == 200 and in_english(first["summary"]) in page.text and 'id="accept"' in page.text
    assert re.search(rf'id="left-{offer_1}"[^>]*>\d+ h \d+ min left<', page.text), "the time left is rendered by the server"
    assert 'src="/static/countdown.js"' in page.text and "http://" not in page.text.split("<main")[0]
    assert (await client.get("/static/countdown.js")).status_code == 200

    accepted = await post(client, f"/ngo/offers/{offer_1}/accept", {"from": "offer"}, f"/ngo/offers/{offer_1}")
    assert accepted.status_code == 303 and accepted.headers["location"] == f"/ngo/offers/{offer_1}?done=accepted"
    assert await free(client, admin, w["sid"]) == 4
    again = await post(client, f"/ngo/offers/{offer_1}/accept", {"from": "offer"}, f"/ngo/offers/{offer_1}")
    assert again.status_code in (200, 303) and await free(client, admin, w["sid"]) == 4  # the API's accept is idempotent
    twice = await post(client, f"/ngo/offers/{offer_1}/decline", {"from": "offer", "reason": "safety"}, f"/ngo/offers/{offer_1}")
    assert twice.status_code == 409 and "already answered" in twice.text and "Traceback" not in twice.text
    assert (await offer_of(client, w["officer"], first["id"]))["status"] == "accepted"

    done = await client.get(f"/ngo/offers/{offer_1}")
    assert 'id="record-arrival"' in done.text and 'id="close-referral"' in done.text and 'id="accept"' not in done.text
    refused = await post(client, f"/ngo/offers/{offer_1}/arrival", {"note": "Ana Popescu, tel 0722 123 456"}, f"/ngo/offers/{offer_1}")
    assert refused.status_code == 422 and "0722" not in refused.text and 'id="arrival-note-error"' in refused.text
    assert (await post(client, f"/ngo/offers/{offer_1}/arrival", {"note": "arrived in the evening"}, f"/ngo/offers/{offer_1}")).status_code == 303
    assert (await client.get(f"/api/v1/referrals/{first['id']}", headers=w["officer"])).json()["status"] == "arrived"
    no_outcome = await post(client, f"/ngo/offers/{offer_1}/close", {"outcome": ""}, f"/ngo/offers/{offer_1}")
    assert no_outcome.status_code == 422 and 'id="outcome-error"' in no_outcome.text
    closed = await post(client, f"/ngo/offers/{offer_1}/close", {"outcome": "services_started"}, f"/ngo/offers/{offer_1}")
    assert closed.status_code == 303
    body = (await client.get(f"/api/v1/referrals/{first['id']}", headers=w["officer"])).json()
    assert body["status"] == "closed" and body["outcome"] == "services_started"

    # The deadline passes: answering the second offer says so plainly, nothing changes.
    clock.advance(days=3)
    await person(client, clock, "ana2@alfa.example.org", "ngo", w["org"]["id"])
    late = await post(client, f"/ngo/offers/{offer_2}/accept", {"from": "offer"}, "/ngo/offers")
    assert late.status_code == 409 and "deadline" in late.text and "Traceback" not in late.text
    assert (await offer_of(client, w["officer"], second["id"]))["status"] == "expired" and await free(client, admin, w["sid"]) == 4
    assert 'id="answered"' in (await client.get(f"/ngo/offers/{offer_2}")).text


async def test_decline_on_the_offer_page_screens_the_note(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    w = await world(client, clock, tokens, admin)
    referral = await refer(client, w["officer"], w["sid"])
    oid = referral["offers"][0]["id"]
    await person(client, clock, "ana@alfa.example.org", "ngo", w["org"]["id"])
    named = await post(client, f"/ngo/offers/{oid}/decline", {"from": "offer", "reason": "safety", "text": "call Ana Popescu at 0722123456"},
                       f"/ngo/offers/{oid}")  # fmt: skip
    assert named.status_code == 422 and "0722123456" not in named.text
    # The refusal sits beside the note, tied to it; the chosen reason is kept.
    assert 'id="decline-text-error"' in named.text and 'aria-describedby="text-rule decline-text-error"' in named.text
    assert '<option value="safety" selected>' in named.text
    no_reason = await post(client, f"/ngo/offers/{oid}/decline", {"from": "offer", "reason": ""}, f"/ngo/offers/{oid}")
    assert no_reason.status_code == 422 and 'id="decline-reason-error"' in no_reason.text
    assert (await offer_of(client, w["officer"], referral["id"]))["status"] == "pending"
    ok = await post(client, f"/ngo/offers/{oid}/decline", {"from": "offer", "reason": "not_eligible", "text": "outside our age range"},
                    f"/ngo/offers/{oid}")  # fmt: skip
    assert ok.status_code == 303
    offer = await offer_of(client, w["officer"], referral["id"])
    assert offer["status"] == "declined" and offer["decline_reason"] == "not_eligible" and offer["decline_text"] == "outside our age range"


async def test_first_opening_is_recorded_once_and_shown_to_the_institution(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    w = await world(client, clock, tokens, admin)
    referral = await refer(client, w["officer"], w["sid"])
    oid = referral["offers"][0]["id"]
    await person(client, clock, "ion@ipj.example.ro", "institution", w["institution"])
    assert f'id="seen-{oid}">–<' in (await client.get(f"/institution/referrals/{referral['id']}")).text

    await person(client, clock, "ana@alfa.example.org", "ngo", w["org"]["id"])
    assert (await client.get("/ngo/offers")).status_code == 200  # the inbox lists it: not yet "opened"
    assert (await offer_of(client, w["officer"], referral["id"]))["seen_at"] is None
    opened_at = clock.now()
    assert (await client.get(f"/ngo/offers/{oid}")).status_code == 200
    clock.advance(minutes=5)
    assert 'id="seen-at"' in (await client.get(f"/ngo/offers/{oid}")).text
    seen = (await offer_of(client, w["officer"], referral["id"]))["seen_at"]
    assert seen is not None and seen.startswith(opened_at.strftime("%Y-%m-%dT%H:%M")), "the first read wins"

    client.cookies.clear()
    assert (await sign_in(client, email="ion@ipj.example.ro")).status_code == 303
    shown = await client.get(f"/institution/referrals/{referral['id']}")
    assert f'id="seen-{oid}">–<' not in shown.text and f'id="seen-{oid}">' in shown.text


async def test_the_api_read_stamps_first_and_the_page_keeps_it(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    w = await world(client, clock, tokens, admin)
    referral = await refer(client, w["officer"], w["sid"])
    oid = referral["offers"][0]["id"]
    ngo = tokens.make("ngo", organisation=w["org"]["id"])
    api_at = clock.now()
    assert (await client.get(f"/api/v1/referrals/{referral['id']}", headers=ngo)).status_code == 200
    clock.advance(minutes=10)
    await person(client, clock, "ana@alfa.example.org", "ngo", w["org"]["id"])
    assert (await client.get(f"/ngo/offers/{oid}")).status_code == 200
    assert (await offer_of(client, w["officer"], referral["id"]))["seen_at"].startswith(api_at.strftime("%Y-%m-%dT%H:%M"))


async def test_another_organisation_never_opens_the_offer(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    w = await world(client, clock, tokens, admin)
    referral = await refer(client, w["officer"], w["sid"])
    oid = referral["offers"][0]["id"]
    beta = await make_org(client, admin, "Asociația Beta")
    await person(client, clock, "ion@beta.example.org", "ngo", beta["id"])
    other = await client.get(f"/ngo/offers/{oid}")
    assert other.status_code == 404 and referral["summary"] not in other.text
    assert (await client.get(f"/ngo/offers/{oid + 1000}")).status_code == 404
    for action, data in (("arrival", {}), ("close", {"outcome": "services_started"}), ("accept", {"from": "offer"})):
        assert (await post(client, f"/ngo/offers/{oid}/{action}", data, "/ngo")).status_code in (403, 404)
    live = await client.get("/ngo/offers/live?known=", headers={"HX-Request": "true"})
    assert referral["summary"] not in live.text
    assert (await offer_of(client, w["officer"], referral["id"]))["seen_at"] is None and await free(client, admin, w["sid"]) == 5


async def test_the_inbox_fragment_brings_new_offers(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]) -> None:
    w = await world(client, clock, tokens, admin)
    await person(client, clock, "ana@alfa.example.org", "ngo", w["org"]["id"])
    inbox = await client.get("/ngo/offers")
    assert 'hx-get="/ngo/offers/live?known="' in inbox.text and 'id="inbox-news" role="status" aria-live="polite"' in inbox.text
    assert 'hx-trigger="every 10s"' in inbox.text
    unchanged = await client.get("/ngo/offers/live?known=", headers={"HX-Request": "true"})
    assert unchanged.status_code == 204 and unchanged.content == b""

    referral = await refer(client, w["officer"], w["sid"])
    oid = referral["offers"][0]["id"]
    fresh = await client.get("/ngo/offers/live?known=", headers={"HX-Request": "true"})
    assert fresh.status_code == 200 and f'id="offer-{oid}"' in fresh.text and in_english(referral["summary"]) in fresh.text
    assert f'hx-get="/ngo/offers/live?known={oid}"' in fresh.text
    assert 'id="inbox-news" hx-swap-oob="innerHTML">New offers: Casa Alfa<' in fresh.text
    assert (await client.get(f"/ngo/offers/live?known={oid}", headers={"HX-Request": "true"})).status_code == 204


async def test_a_provider_sharing_a_referral_records_its_own_arrival_and_does_not_close_the_others(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    from tests.integration.test_needs import home_and_talk, need
    from tests.integration.test_needs import refer as refer_boy

    p, home, _, talk = await home_and_talk(client, tokens, admin)
    referral = await refer_boy(client, tokens.make("institution", name="IPJ Iași"), mode="parallel")
    home_offer, talk_offer = need(referral, "child_residential")["offers"][0]["id"], need(referral, "psychological_counselling")["offers"][0]["id"]
    for offer, org in ((home_offer, home), (talk_offer, talk)):
        assert (await client.post(f"/api/v1/offers/{offer}/accept", headers=p.ngo[org])).status_code == 200
    await person(client, clock, "ana@sprijin.example.org", "ngo", talk)
    page = await client.get(f"/ngo/offers/{talk_offer}")
    assert 'id="record-arrival"' in page.text and 'id="close-referral"' not in page.text  # another provider holds a place
    assert "Casa Copiilor" not in page.text  # nor is the other provider named
    assert (await post(client, f"/ngo/offers/{talk_offer}/arrival", {}, f"/ngo/offers/{talk_offer}")).status_code == 303
    page = await client.get(f"/ngo/offers/{talk_offer}")
    assert 'id="record-arrival"' not in page.text
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=admin)).json()
    assert [bool(n["arrived_at"]) for n in view["needs"]] == [False, True]  # its own need only


async def test_an_offer_answered_without_being_opened_counts_as_seen(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    w = await world(client, clock, tokens, admin)
    referral = await refer(client, w["officer"], w["sid"])
    ngo = tokens.make("ngo", organisation=w["org"]["id"])
    clock.advance(minutes=7)
    assert (await client.post(f"/api/v1/offers/{referral['offers'][0]['id']}/accept", headers=ngo)).status_code == 200
    offer = await offer_of(client, w["officer"], referral["id"])
    assert offer["seen_at"] is not None and offer["seen_at"] == offer["responded_at"]
