"""One-click offer links on both engines: GET only shows, POST answers once, bad or late links change nothing."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from referralnet.notifications import signing
from referralnet.web.summaries import in_english
from tests.conftest import Tokens, in_app
from tests.integration.helpers import PROFILE, make_org, make_service


def shelter(name: str) -> dict[str, Any]:
    return {
        "type": "residential_shelter",
        "name": name,
        "eligibility": {"age_min": 18, "genders": ["female"]},
        "sites": [{"county": "RO-IS", "locality": "Iași", "confidential": True}],
        "capacity": {"unit": "beds", "total": 10, "available": 2},
    }


class Case:
    """Two shelters, a parallel referral to both, and helpers to make links and read state back."""

    def __init__(self, client: Any, settings: Any, admin: dict[str, str], institution: dict[str, str]) -> None:
        self.client, self.settings, self.admin, self.institution = client, settings, admin, institution
        self.services: list[dict[str, Any]] = []
        self.referral: dict[str, Any] = {}

    async def setup(self) -> Case:
        for name in ("Casa <Unu>", "Casa Doi"):
            org = await make_org(self.client, self.admin, f"Asociația {name}")
            self.services.append(await make_service(self.client, self.admin, org["id"], shelter(name)))
        body = {"profile": copy.deepcopy(PROFILE), "consent": True, "mode": "parallel", "service_ids": [s["id"] for s in self.services]}
        resp = await self.client.post("/api/v1/referrals", json=body, headers=self.institution)
        assert resp.status_code == 201, resp.text
        self.referral = resp.json()
        return self

    def link(self, index: int, action: str) -> str:
        offer = self.referral["offers"][index]
        key = in_app(self.client, signing.instance_key, self.settings.secret_key)
        return "/respond/" + signing.make_offer_token(key, offer["id"], action, dt.datetime.fromisoformat(offer["deadline"]))

    async def view(self) -> dict[str, Any]:
        return (await self.client.get(f"/api/v1/referrals/{self.referral['id']}", headers=self.institution)).json()  # type: ignore[no-any-return]

    async def available(self, index: int) -> int:
        service = await self.client.get(f"/api/v1/services/{self.services[index]['id']}", headers=self.admin)
        return service.json()["capacity"]["available"]  # type: ignore[no-any-return]

    async def state(self) -> tuple[Any, ...]:
        """Everything an answer could change: statuses, history and free places."""
        view = await self.view()
        offers = [(o["status"], o["decline_reason"], o["decline_text"]) for o in view["offers"]]
        return view["status"], offers, len(view["history"]), await self.available(0), await self.available(1)


async def case(client: Any, settings: Any, tokens: Tokens) -> Case:
    return await Case(client, settings, tokens.make("admin"), tokens.make("institution")).setup()


def assert_safe_headers(resp: Any) -> None:
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    assert resp.headers["content-type"].startswith("text/html")


async def test_get_shows_the_offer_and_changes_nothing(client: Any, settings: Any, tokens: Tokens) -> None:
    c = await case(client, settings, tokens)
    before = await c.state()
    for action in ("accept", "decline"):
        page = await client.get(c.link(0, action))
        assert page.status_code == 200, page.text
        assert_safe_headers(page)
        text = page.text
        assert f"#{c.referral['id']} (urgent)" in text
        assert "Casa &lt;Unu&gt;" in text and "<Unu>" not in text  # autoescaped
        assert in_english(c.referral["summary"]) in text
        assert "2026-03-03 09:00 UTC" in text
        assert '<dd id="offer-status">pending</dd>' in text
        assert 'method="post"' in text and "https://" not in text and "http://" not in text
    assert 'name="reason"' in text
    ro = await client.get(c.link(0, "accept"), headers={"Accept-Language": "ro"})
    assert '<dd id="offer-status">în așteptare</dd>' in ro.text and "vârsta " in ro.text  # the status and summary in Romanian
    assert await c.state() == before


async def test_post_accept_reserves_the_place_once(client: Any, settings: Any, tokens: Tokens) -> None:
    c = await case(client, settings, tokens)
    link = c.link(0, "accept")
    done = await client.post(link, data={})
    assert done.status_code == 200, done.text
    assert_safe_headers(done)
    assert "Accepted" in done.text and "One place is reserved" in done.text
    view = await c.view()
    assert view["status"] == "placed" and view["placed_offer_id"] == c.referral["offers"][0]["id"]
    assert [o["status"] for o in view["offers"]] == ["accepted", "withdrawn"]
    assert await c.available(0) == 1 and await c.available(1) == 2
    placed = next(e for e in view["history"] if e["kind"] == "referral_placed")
    assert placed["actor"] == "link:Asociația Casa <Unu>"
    after = await c.state()

    again = await client.post(link, data={})
    assert again.status_code == 409 and "Already answered" in again.text and "Nothing was changed" in again.text
    reopened = await client.get(link)
    assert reopened.status_code == 409 and 'method="post"' not in reopened.text
    assert await c.state() == after


async def test_a_withdrawn_offer_cannot_be_answered(client: Any, settings: Any, tokens: Tokens) -> None:
    c = await case(client, settings, tokens)
    assert (await client.post(c.link(0, "accept"), data={})).status_code == 200
    after = await c.state()
    for action in ("accept", "decline"):
        page = await client.get(c.link(1, action))
        assert page.status_code == 409 and "withdrawn" in page.text
        post = await client.post(c.link(1, action), data={"reason": "no_capacity"})
        assert post.status_code == 409 and "No longer open" in post.text
    assert await c.state() == after


async def test_a_tampered_link_is_refused(client: Any, settings: Any, tokens: Tokens) -> None:
    c = await case(client, settings, tokens)
    before = await c.state()
    good = c.link(0, "accept").removeprefix("/respond/")
    offer, action, expires, mac = good.split(".")
    other = c.referral["offers"][1]["id"]
    for token in (
        f"{offer}.{action}.{expires}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}",  # signature
        f"{other}.{action}.{expires}.{mac}",  # another offer
        f"{offer}.decline.{expires}.{mac}",  # another action
        f"{offer}.{action}.{int(expires) + 3600}.{mac}",  # a later deadline
        "not-a-token",
    ):
        for resp in (await client.get(f"/respond/{token}"), await client.post(f"/respond/{token}", data={"reason": "other"})):
            assert resp.status_code == 400, (token, resp.text)
            assert "not valid" in resp.text
            assert_safe_headers(resp)
    assert await c.state() == before


async def test_a_link_expires_at_the_deadline(client: Any, settings: Any, tokens: Tokens, clock: Any) -> None:
    c = await case(client, settings, tokens)
    link = c.link(0, "accept")
    clock.advance(hours=24)  # urgent: 24 h
    before = await c.state()
    page = await client.get(link)
    assert page.status_code == 400 and "expired" in page.text
    post = await client.post(link, data={})
    assert post.status_code == 400 and "expired" in post.text
    assert await c.state() == before


async def test_decline_records_the_reason(client: Any, settings: Any, tokens: Tokens) -> None:
    c = await case(client, settings, tokens)
    link = c.link(1, "decline")
    done = await client.post(link, data={"reason": "not_eligible", "text": "  Only for women over 25  "})
    assert done.status_code == 200 and "Declined" in done.text
    view = await c.view()
    assert view["status"] == "open"  # the other offer is still pending
    declined = view["offers"][1]
    assert (declined["status"], declined["decline_reason"], declined["decline_text"]) == ("declined", "not_eligible", "Only for women over 25")
    event = next(e for e in view["history"] if e["kind"] == "offer_declined")
    assert event["actor"] == "link:Asociația Casa Doi" and event["decline_reason"] == "not_eligible"
    assert await c.available(1) == 2
    after = await c.state()
    again = await client.post(link, data={"reason": "no_capacity"})
    assert again.status_code == 409 and "Already answered" in again.text
    assert await c.state() == after


async def test_decline_text_with_a_phone_number_is_refused(client: Any, settings: Any, tokens: Tokens) -> None:
    c = await case(client, settings, tokens)
    before = await c.state()
    link = c.link(0, "decline")
    page = await client.post(link, data={"reason": "other", "text": "call her at 0722 123 456"})
    assert page.status_code == 422
    assert "text appears to contain a phone number" in page.text
    assert "0722 123 456" not in page.text  # not echoed (the signed link may hold any 4 digits)
    assert '<option value="other" selected>' in page.text  # the form comes back with the chosen reason
    bad_reason = await client.post(link, data={"reason": "bored"})
    assert bad_reason.status_code == 422 and "reason" in bad_reason.text
    assert await c.state() == before

    # The API's decline applies the same guard.
    ngo = tokens.make("ngo", organisation=c.referral["offers"][0]["organisation_id"])
    api = await client.post(f"/api/v1/offers/{c.referral['offers'][0]['id']}/decline", json={"reason": "other", "text": "tel 0722123456"}, headers=ngo)
    assert api.status_code == 422 and api.json()["extra"][0]["key"] == "text"
    assert await c.state() == before


async def test_the_pages_stay_out_of_the_api_document(client: Any) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    assert not [path for path in doc["paths"] if path.startswith("/respond")]
