"""The NGO's pages: its services' places (−1, +1, a number, "still correct") and its open offers to accept or
decline; another NGO and other roles are refused."""

from __future__ import annotations

import copy
from typing import Any

from litestar.testing import AsyncTestClient

from referralnet.clock import FixedClock
from referralnet.tables import CapacityChange
from referralnet.web.summaries import in_english
from tests.conftest import Tokens, in_app
from tests.integration.helpers import PROFILE, make_org, make_service, shelter
from tests.integration.test_people import add_person, csrf_of, sign_in

CAPACITY = {"unit": "beds", "total": 10, "available": 5}
SITES = [{"county": "RO-IS", "locality": "Iași"}]


async def person(client: AsyncTestClient[Any], clock: FixedClock, email: str, role: str, organisation: int) -> None:
    add_person(client, clock, email=email, role=role, organisation=organisation)
    client.cookies.clear()
    assert (await sign_in(client, email=email)).status_code == 303


async def post(client: AsyncTestClient[Any], path: str, data: dict[str, Any], page: str) -> Any:
    token = await csrf_of(client, page)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


async def free(client: AsyncTestClient[Any], admin: dict[str, str], service_id: int) -> Any:
    return (await client.get(f"/api/v1/services/{service_id}", headers=admin)).json()["capacity"]["available"]


async def refer(client: AsyncTestClient[Any], headers: dict[str, str], service_id: int) -> dict[str, Any]:
    body = {"profile": copy.deepcopy(PROFILE), "consent": True, "mode": "parallel", "service_ids": [service_id]}
    resp = await client.post("/api/v1/referrals", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def test_capacity_buttons_still_correct_and_refusals(client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str]) -> None:
    org = await make_org(client, admin, "Asociația Alfa")
    service = await make_service(client, admin, org["id"], shelter(name="Casa Alfa", capacity=CAPACITY, sites=SITES))
    sid = service["id"]
    await person(client, clock, "ana@alfa.example.org", "ngo", org["id"])
    assert (await client.get("/", follow_redirects=False)).headers["location"] == "/ngo"
    home = await client.get("/ngo")
    assert home.status_code == 200 and "Casa Alfa" in home.text and f'id="free-{sid}">5</td>' in home.text
    assert f'id="stale-{sid}"' not in home.text

    minus = await post(client, f"/ngo/services/{sid}/capacity", {"action": "minus"}, "/ngo")
    assert minus.status_code == 303 and await free(client, admin, sid) == 4
    assert f'id="free-{sid}">4</td>' in (await client.get("/ngo")).text
    assert (await post(client, f"/ngo/services/{sid}/capacity", {"action": "plus"}, "/ngo")).status_code == 303
    assert await free(client, admin, sid) == 5
    assert (await post(client, f"/ngo/services/{sid}/capacity", {"action": "set", "available": "0"}, "/ngo")).status_code == 303
    assert await free(client, admin, sid) == 0

    below = await post(client, f"/ngo/services/{sid}/capacity", {"action": "minus"}, "/ngo")
    assert below.status_code == 422 and f'id="error-{sid}"' in below.text and "no free place left" in below.text
    assert await free(client, admin, sid) == 0
    over = await post(client, f"/ngo/services/{sid}/capacity", {"action": "set", "available": "11"}, "/ngo")
    assert over.status_code == 422 and "more than the total" in over.text and await free(client, admin, sid) == 0
    assert f'id="available-{sid}" name="available" inputmode="numeric" value="11" aria-describedby="error-{sid}"' in over.text  # kept
    assert 'name="seen" value="0"' in (await client.get("/ngo")).text
    meanwhile = await client.put(f"/api/v1/services/{sid}/capacity", json={"available": 3}, headers=admin)
    assert meanwhile.status_code == 200
    stale_plus = await post(client, f"/ngo/services/{sid}/capacity", {"action": "plus", "seen": "0"}, "/ngo")
    assert stale_plus.status_code == 409 and "changed meanwhile" in stale_plus.text and f'id="free-{sid}">3</td>' in stale_plus.text
    assert await free(client, admin, sid) == 3
    assert (await post(client, f"/ngo/services/{sid}/capacity", {"action": "set", "available": "0"}, "/ngo")).status_code == 303
    await client.get("/language/ro?next=/ngo")
    in_romanian = await post(client, f"/ngo/services/{sid}/capacity", {"action": "set", "available": "many"}, "/ngo")
    assert in_romanian.status_code == 422 and "Încă este corect" in in_romanian.text and "ca număr întreg" in in_romanian.text
    await client.get("/language/en?next=/ngo")

    clock.advance(days=8)  # the session ends too: sign in again
    client.cookies.clear()
    assert (await sign_in(client, email="ana@alfa.example.org")).status_code == 303
    assert f'id="stale-{sid}"' in (await client.get("/ngo")).text
    before = in_app(client, lambda: CapacityChange.count().where(CapacityChange.service == sid))
    assert (await post(client, f"/ngo/services/{sid}/capacity", {"action": "confirm"}, "/ngo")).status_code == 303
    assert in_app(client, lambda: CapacityChange.count().where(CapacityChange.service == sid)) == before + 1
    assert f'id="stale-{sid}"' not in (await client.get("/ngo")).text and await free(client, admin, sid) == 0

    other = await make_org(client, admin, "Asociația Beta")
    await person(client, clock, "ion@beta.example.org", "ngo", other["id"])
    assert f"free-{sid}" not in (await client.get("/ngo")).text
    refused = await post(client, f"/ngo/services/{sid}/capacity", {"action": "plus"}, "/ngo")
    assert refused.status_code in (403, 404) and await free(client, admin, sid) == 0


async def test_offers_accept_decline_and_other_people(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]) -> None:
    org = await make_org(client, admin, "Asociația Alfa", referral_email="alfa@example.org")
    sid = (await make_service(client, admin, org["id"], shelter(name="Casa Alfa", capacity=CAPACITY, sites=SITES)))["id"]
    institution = tokens.institution("IPJ Iași")
    officer = tokens.make("institution", organisation=institution, name="IPJ Iași")
    first, second = await refer(client, officer, sid), await refer(client, officer, sid)
    offer_1, offer_2 = first["offers"][0]["id"], second["offers"][0]["id"]

    await person(client, clock, "ion@beta.example.org", "ngo", (await make_org(client, admin, "Asociația Beta"))["id"])
    inbox = await client.get("/ngo/offers")
    assert inbox.status_code == 200 and f'id="offer-{offer_1}"' not in inbox.text
    for path, data in ((f"/ngo/offers/{offer_1}/accept", {}), (f"/ngo/offers/{offer_2}/decline", {"reason": "safety"})):
        assert (await post(client, path, data, "/ngo")).status_code in (403, 404)
    assert await free(client, admin, sid) == 5

    await person(client, clock, "ana@ipj.example.ro", "institution", institution)
    assert (await client.get("/ngo/offers")).status_code == 403 and (await client.get("/ngo")).status_code == 403

    await person(client, clock, "ana@alfa.example.org", "ngo", org["id"])
    inbox = await client.get("/ngo/offers")
    assert f'id="offer-{offer_1}"' in inbox.text and f'id="offer-{offer_2}"' in inbox.text and in_english(first["summary"]) in inbox.text
    accepted = await post(client, f"/ngo/offers/{offer_1}/accept", {"arrival_instructions": "Ring at the side door"}, "/ngo/offers")
    assert accepted.status_code == 303 and await free(client, admin, sid) == 4
    offer = (await client.get(f"/api/v1/referrals/{first['id']}", headers=officer)).json()["offers"][0]
    assert offer["status"] == "accepted"
    again = await post(client, f"/ngo/offers/{offer_1}/decline", {"reason": "safety"}, "/ngo/offers")
    assert again.status_code == 409 and "already answered" in again.text

    no_reason = await post(client, f"/ngo/offers/{offer_2}/decline", {"reason": ""}, "/ngo/offers")
    assert no_reason.status_code == 422 and f'id="error-{offer_2}"' in no_reason.text
    declined = await post(client, f"/ngo/offers/{offer_2}/decline", {"reason": "not_eligible", "text": "outside our age range"}, "/ngo/offers")
    assert declined.status_code == 303
    offer = (await client.get(f"/api/v1/referrals/{second['id']}", headers=officer)).json()["offers"][0]
    assert offer["status"] == "declined" and offer["decline_reason"] == "not_eligible"
    inbox = await client.get("/ngo/offers")
    assert f'id="offer-{offer_1}"' not in inbox.text and f'id="offer-{offer_2}"' not in inbox.text


async def test_an_old_offer_still_waiting_is_in_the_inbox_behind_newer_answered_ones(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str], monkeypatch: Any
) -> None:
    """The inbox asks for referrals with an offer waiting, not for the newest referrals: answered ones never crowd it."""
    from referralnet.referrals import inbox as inbox_module

    monkeypatch.setattr(inbox_module, "INBOX_LIMIT", 2)
    org = await make_org(client, admin, "Asociația Alfa", referral_email="alfa@example.org")
    sid = (await make_service(client, admin, org["id"], shelter(name="Casa Alfa", capacity=CAPACITY, sites=SITES)))["id"]
    officer = tokens.make("institution", name="IPJ Iași")
    ngo = tokens.make("ngo", organisation=org["id"])
    waiting = (await refer(client, officer, sid))["offers"][0]["id"]
    for _ in range(3):  # newer referrals whose offers were answered
        offer = (await refer(client, officer, sid))["offers"][0]["id"]
        assert (await client.post(f"/api/v1/offers/{offer}/decline", json={"reason": "other"}, headers=ngo)).status_code == 200
    await person(client, clock, "ana@alfa.example.org", "ngo", org["id"])
    inbox = await client.get("/ngo/offers")
    assert inbox.status_code == 200 and f'id="offer-{waiting}"' in inbox.text
