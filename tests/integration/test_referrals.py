"""Closed-loop referrals on both engines: offers, atomic places, cascades on an injected clock, views."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from referralnet.accounts.schemas import Actor
from referralnet.errors import Conflict
from referralnet.referrals.accepting import accept_offer
from referralnet.referrals.sweeps import expire_due, remind_due
from tests.conftest import START, Tokens, in_app
from tests.integration.helpers import PROFILE, make_org, make_service


def shelter_body(name: str, available: int | None = 2, total: int | None = 10) -> dict[str, Any]:
    return {
        "type": "residential_shelter",
        "name": name,
        "eligibility": {"age_min": 18, "genders": ["female"]},
        "sites": [{"county": "RO-IS", "locality": "Iași", "confidential": True}],
        "capacity": {"unit": "beds", "total": total, "available": available},
    }


class Network:
    def __init__(self, client: Any, tokens: Tokens, admin: dict[str, str]) -> None:
        self.client, self.tokens, self.admin = client, tokens, admin
        self.orgs: list[dict[str, Any]] = []
        self.services: list[dict[str, Any]] = []
        self.ngos: list[dict[str, str]] = []

    async def add(self, name: str, **kw: Any) -> int:
        org = await make_org(self.client, self.admin, f"Asociația {name}")
        service = await make_service(self.client, self.admin, org["id"], shelter_body(name, **kw))
        self.orgs.append(org)
        self.services.append(service)
        self.ngos.append(self.tokens.make("ngo", organisation=org["id"], name=f"{name} coordinator"))
        return service["id"]  # type: ignore[no-any-return]


async def network(client: Any, tokens: Tokens, admin: dict[str, str], n: int = 3, **kw: Any) -> Network:
    net = Network(client, tokens, admin)
    for i in range(n):
        await net.add(f"Casa {i}", **kw)
    return net


async def refer(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    payload = {"profile": copy.deepcopy(PROFILE), "consent": True, **body}
    resp = await client.post("/api/v1/referrals", json=payload, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def capacity(client: Any, headers: dict[str, str], service_id: int) -> int:
    return (await client.get(f"/api/v1/services/{service_id}", headers=headers)).json()["capacity"]["available"]  # type: ignore[no-any-return]


async def test_parallel_flow_first_acceptance_wins(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> None:
    net = await network(client, tokens, admin)
    ids = [s["id"] for s in net.services[:2]]
    referral = await refer(client, institution, mode="parallel", service_ids=ids)
    assert referral["status"] == "open"
    assert [o["status"] for o in referral["offers"]] == ["pending", "pending"]
    assert referral["offers"][0]["deadline"].startswith("2026-03-03T09:00")  # urgent: 24 h
    first, second = referral["offers"]

    resp = await client.post(f"/api/v1/offers/{second['id']}/accept", headers=net.ngos[1])
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "accepted" and resp.json()["reserved"] is True
    assert await capacity(client, admin, ids[1]) == 1
    again = await client.post(f"/api/v1/offers/{second['id']}/accept", headers=net.ngos[1])
    assert again.status_code == 200 and again.json() == resp.json()
    assert await capacity(client, admin, ids[1]) == 1

    late = await client.post(f"/api/v1/offers/{first['id']}/accept", headers=net.ngos[0])
    assert late.status_code == 409 and "withdrawn" in late.json()["detail"]
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    assert view["status"] == "placed" and view["placed_offer_id"] == second["id"]
    assert [o["status"] for o in view["offers"]] == ["withdrawn", "accepted"]
    kinds = [e["kind"] for e in view["history"]]
    assert kinds == ["referral_created", "offer_sent", "offer_sent", "offer_accepted", "referral_placed", "offer_withdrawn"]
    placed = next(e for e in view["history"] if e["kind"] == "referral_placed")
    assert placed["from_status"] == "open" and placed["to_status"] == "placed" and placed["actor"] == "ngo:Casa 1 coordinator"


async def test_cascade_moves_on_after_deadline_and_ends_unplaced(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], clock: Any, settings: Any
) -> None:
    net = await network(client, tokens, admin)
    ids = [s["id"] for s in net.services]
    referral = await refer(client, institution, mode="cascade", service_ids=ids, urgency="emergency")
    assert [o["service_id"] for o in referral["offers"]] == [ids[0]]
    assert referral["queued_service_ids"] == ids[1:]

    clock.advance(minutes=30)
    assert in_app(client, remind_due, clock.now()) == 1
    assert in_app(client, remind_due, clock.now()) == 0  # one reminder per offer
    clock.advance(minutes=30)  # emergency deadline: 1 h
    assert in_app(client, expire_due, clock.now(), settings) == 1
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    assert [(o["service_id"], o["status"]) for o in view["offers"]] == [(ids[0], "expired"), (ids[1], "pending")]

    resp = await client.post(f"/api/v1/offers/{view['offers'][1]['id']}/decline", json={"reason": "no_capacity", "text": None}, headers=net.ngos[1])
    assert resp.status_code == 200, resp.text
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    assert view["offers"][2]["service_id"] == ids[2] and view["offers"][2]["status"] == "pending"

    clock.advance(minutes=61)
    assert in_app(client, expire_due, clock.now(), settings) == 1
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    assert view["status"] == "unplaced"
    assert [o["status"] for o in view["offers"]] == ["expired", "declined", "expired"]
    assert view["history"][-1]["kind"] == "referral_unplaced"
    assert in_app(client, expire_due, clock.now(), settings) == 0


async def test_expired_foreign_and_bad_answers(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], clock: Any
) -> None:
    net = await network(client, tokens, admin, n=2)
    referral = await refer(client, institution, mode="parallel", service_ids=[net.services[0]["id"]])
    offer = referral["offers"][0]
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=net.ngos[1])).status_code == 403
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=institution)).status_code == 403
    bad = await client.post(f"/api/v1/offers/{offer['id']}/decline", json={"reason": "bored"}, headers=net.ngos[0])
    assert bad.status_code == 422 and bad.json()["extra"][0]["key"] == "reason"
    clock.advance(hours=25)
    resp = await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=net.ngos[0])
    assert resp.status_code == 409 and "expired" in resp.json()["detail"]
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    assert view["offers"][0]["status"] == "expired" and view["status"] == "unplaced"
    assert await capacity(client, admin, net.services[0]["id"]) == 2
    assert (await client.post("/api/v1/offers/9999/accept", headers=net.ngos[0])).status_code == 404


async def test_cancel_releases_the_place(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> None:
    net = await network(client, tokens, admin, n=1)
    service_id = net.services[0]["id"]
    referral = await refer(client, institution, service_ids=[service_id])
    await client.post(f"/api/v1/offers/{referral['offers'][0]['id']}/accept", headers=net.ngos[0])
    assert await capacity(client, admin, service_id) == 1
    other = tokens.make("institution", name="someone else")
    assert (await client.post(f"/api/v1/referrals/{referral['id']}/cancel", headers=other)).status_code == 404
    # The reason is kept in the history both sides read: an identifier in it is refused and nothing changes.
    refused = await client.post(f"/api/v1/referrals/{referral['id']}/cancel", json={"reason": "Ion Popescu a plecat, tel 0722 123 456"}, headers=institution)
    assert refused.status_code == 422 and refused.json()["extra"][0]["key"] == "reason" and "0722" not in refused.text
    assert (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()["status"] == "placed"
    assert await capacity(client, admin, service_id) == 1
    resp = await client.post(f"/api/v1/referrals/{referral['id']}/cancel", json={"reason": "person moved"}, headers=institution)
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "cancelled"
    assert await capacity(client, admin, service_id) == 2
    assert [e["kind"] for e in resp.json()["history"]][-2:] == ["referral_cancelled", "place_released"]
    again = await client.post(f"/api/v1/referrals/{referral['id']}/cancel", headers=institution)
    assert again.status_code == 409


async def test_arrival_and_closing_need_an_outcome(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> None:
    net = await network(client, tokens, admin, n=2)
    referral = await refer(client, institution, service_ids=[net.services[0]["id"]])
    rid = referral["id"]
    await client.post(f"/api/v1/offers/{referral['offers'][0]['id']}/accept", headers=net.ngos[0])
    assert (await client.post(f"/api/v1/referrals/{rid}/arrival", headers=net.ngos[1])).status_code == 404
    assert (await client.post(f"/api/v1/referrals/{rid}/arrival", headers=net.ngos[0])).json()["status"] == "arrived"
    resp = await client.post(f"/api/v1/referrals/{rid}/close", json={}, headers=net.ngos[0])
    assert resp.status_code == 422 and resp.json()["extra"][0]["key"] == "outcome"
    resp = await client.post(f"/api/v1/referrals/{rid}/close", json={"outcome": "services_started"}, headers=net.ngos[0])
    assert resp.status_code == 200 and resp.json()["status"] == "closed" and resp.json()["outcome"] == "services_started"
    # Arrived people keep their place: closing after arrival does not release it.
    assert await capacity(client, admin, net.services[0]["id"]) == 1


async def test_the_referring_institution_records_arrival_and_closes(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    """The officer who goes with the person records the arrival and the outcome; another institution cannot."""
    net = await network(client, tokens, admin, n=1)
    service_id = net.services[0]["id"]
    referral = await refer(client, institution, service_ids=[service_id])
    rid = referral["id"]
    await client.post(f"/api/v1/offers/{referral['offers'][0]['id']}/accept", headers=net.ngos[0])
    other = tokens.make("institution", name="someone else")
    for call, body in (("arrival", {}), ("close", {"outcome": "services_started"})):
        assert (await client.post(f"/api/v1/referrals/{rid}/{call}", json=body, headers=other)).status_code == 404
    refused = await client.post(f"/api/v1/referrals/{rid}/arrival", json={"note": "sunați la 0722 123 456"}, headers=institution)
    assert refused.status_code == 422 and refused.json()["extra"][0]["key"] == "note" and "0722" not in refused.text
    assert (await client.get(f"/api/v1/referrals/{rid}", headers=institution)).json()["status"] == "placed"
    arrived = await client.post(f"/api/v1/referrals/{rid}/arrival", json={"note": "came with the officer"}, headers=institution)
    assert arrived.status_code == 200, arrived.text
    assert arrived.json()["status"] == "arrived" and arrived.json()["arrived_at"] is not None
    event = arrived.json()["history"][-1]
    assert event["kind"] == "arrival_recorded" and event["reason"] == "came with the officer"
    assert event["actor"] == arrived.json()["history"][0]["actor"]  # the institution's token, as on the referral it made
    closed = await client.post(f"/api/v1/referrals/{rid}/close", json={"outcome": "transferred"}, headers=institution)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["outcome"] == "transferred"
    assert closed.json()["history"][-1]["kind"] == "referral_closed"
    assert await capacity(client, admin, service_id) == 1  # arrived: the place stays taken
    again = await client.post(f"/api/v1/referrals/{rid}/close", json={"outcome": "completed"}, headers=institution)
    assert again.status_code == 409


async def test_the_institution_closing_before_arrival_frees_the_place(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    net = await network(client, tokens, admin, n=1)
    service_id = net.services[0]["id"]
    referral = await refer(client, institution, service_ids=[service_id])
    await client.post(f"/api/v1/offers/{referral['offers'][0]['id']}/accept", headers=net.ngos[0])
    assert await capacity(client, admin, service_id) == 1
    resp = await client.post(f"/api/v1/referrals/{referral['id']}/close", json={"outcome": "person_left"}, headers=institution)
    assert resp.status_code == 200 and resp.json()["status"] == "closed", resp.text
    assert await capacity(client, admin, service_id) == 2
    # Not placed at all: closing stays the secretariat's.
    unplaced = await refer(client, institution, service_ids=[service_id])
    await client.post(f"/api/v1/offers/{unplaced['offers'][0]['id']}/decline", json={"reason": "safety"}, headers=net.ngos[0])
    refused = await client.post(f"/api/v1/referrals/{unplaced['id']}/close", json={"outcome": "other"}, headers=institution)
    assert refused.status_code == 403
    # The secretariat's note on a contested decline is kept in the history: an identifier in it is refused.
    declined = unplaced["offers"][0]["id"]
    note = await client.post(f"/api/v1/offers/{declined}/contest", json={"note": "sunați-o pe Elena Dumitrescu la 0722 123 456"}, headers=admin)
    assert note.status_code == 422 and note.json()["extra"][0]["key"] == "note" and "0722" not in note.text
    assert (await client.get(f"/api/v1/referrals/{unplaced['id']}", headers=admin)).json()["offers"][0]["contested"] is False
    contested = await client.post(f"/api/v1/offers/{declined}/contest", json={"note": "will call them"}, headers=admin)
    assert contested.status_code == 200 and contested.json()["contested"] is True


async def test_each_role_sees_only_its_referrals(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> None:
    net = await network(client, tokens, admin, n=2)
    mine = await refer(client, institution, service_ids=[net.services[0]["id"]])
    other_institution = tokens.make("institution", name="DGASPC Cluj")
    theirs = await refer(client, other_institution, service_ids=[net.services[1]["id"]])

    assert (await client.get(f"/api/v1/referrals/{theirs['id']}", headers=institution)).status_code == 404
    assert [r["id"] for r in (await client.get("/api/v1/referrals", headers=institution)).json()["items"]] == [mine["id"]]
    assert (await client.get(f"/api/v1/referrals/{mine['id']}", headers=net.ngos[1])).status_code == 404
    assert (await client.get(f"/api/v1/referrals/{mine['id']}", headers=net.ngos[0])).status_code == 200
    assert [r["id"] for r in (await client.get("/api/v1/referrals", headers=net.ngos[1])).json()["items"]] == [theirs["id"]]
    secretariat = tokens.make("secretariat")
    listed = (await client.get("/api/v1/referrals", headers=secretariat)).json()
    assert {r["id"] for r in listed["items"]} == {mine["id"], theirs["id"]}
    assert (await client.get("/api/v1/referrals/999", headers=secretariat)).status_code == 404

    # A call refused to the caller's role (an institution answering an offer) is audited too.
    offer = mine["offers"][0]["id"]
    assert (await client.post(f"/api/v1/offers/{offer}/accept", headers=institution)).status_code == 403
    from referralnet.tables import AuditLog

    rows = in_app(client, AuditLog.select(AuditLog.role, AuditLog.object_type, AuditLog.object_id, AuditLog.action, AuditLog.outcome).run)
    assert ("institution", "offer", offer, "acceptOffer", "denied") in [tuple(r.values()) for r in rows]
    denied = [(r["role"], r["object_id"]) for r in rows if r["outcome"] == "denied"]
    assert ("institution", theirs["id"]) in denied and ("ngo", mine["id"]) in denied
    assert ("ngo", mine["id"], "read", "allowed") in [(r["role"], r["object_id"], r["action"], r["outcome"]) for r in rows]


async def test_consent_is_required(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> None:
    net = await network(client, tokens, admin, n=1)
    for body in ({"consent": False}, {}):
        payload = {"profile": PROFILE, "service_ids": [net.services[0]["id"]], **body}
        resp = await client.post("/api/v1/referrals", json=payload, headers=institution)
        assert resp.status_code == 422 and resp.json()["extra"][0]["key"] == "consent"
    ineligible = {"profile": {**PROFILE, "gender": "male"}, "consent": True, "service_ids": [net.services[0]["id"]]}
    resp = await client.post("/api/v1/referrals", json=ineligible, headers=institution)
    assert resp.status_code == 422 and resp.json()["extra"][0]["key"] == "service_ids[0]"
    assert (await client.get("/api/v1/referrals", headers=institution)).json()["total"] == 0


async def test_automatic_referral_asks_top_candidates(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> None:
    await network(client, tokens, admin, n=4)
    referral = await refer(client, institution, service_ids=None)
    assert referral["mode"] == "parallel" and len(referral["offers"]) == 3


async def test_concurrent_accepts_take_exactly_the_free_place(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Any
) -> None:
    net = await network(client, tokens, admin, n=1, available=1, total=1)
    service_id = net.services[0]["id"]
    offers = []
    for _ in range(50):
        referral = await refer(client, institution, service_ids=[service_id])
        offers.append(referral["offers"][0]["id"])
    # AsyncTestClient sends requests one at a time, so the 50 accepts run truly concurrently on the
    # app's own loop, each in its own transaction, through the same service function the API calls.
    org_id = net.orgs[0]["id"]
    actor = Actor(token_id=None, name="coordinator", role="ngo", organisation_id=org_id)

    async def accept_all() -> list[str]:
        async def one(offer_id: int) -> str:
            try:
                await accept_offer(offer_id, actor, START, settings)
                return "accepted"
            except Conflict:
                return "conflict"

        return await asyncio.gather(*(one(o) for o in offers))

    outcomes = in_app(client, accept_all)
    assert outcomes.count("accepted") == 1 and outcomes.count("conflict") == 49, outcomes
    assert await capacity(client, admin, service_id) == 0
    secretariat = tokens.make("secretariat")
    placed = (await client.get("/api/v1/referrals", params={"status": "placed", "limit": 100}, headers=secretariat)).json()
    assert placed["total"] == 1




async def test_accepting_with_no_free_place_changes_nothing(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    net = await network(client, tokens, admin, n=1, available=1)
    service = net.services[0]["id"]
    first, second = [await refer(client, institution, mode="parallel", service_ids=[service]) for _ in range(2)]
    assert (await client.post(f"/api/v1/offers/{first['offers'][0]['id']}/accept", headers=net.ngos[0])).status_code == 200
    assert await capacity(client, admin, service) == 0

    refused = await client.post(f"/api/v1/offers/{second['offers'][0]['id']}/accept", headers=net.ngos[0])
    assert refused.status_code == 409
    assert refused.json()["detail"] == "no free place is left in this service; update its capacity or decline"
    view = (await client.get(f"/api/v1/referrals/{second['id']}", headers=institution)).json()
    assert view["status"] == "open" and [o["status"] for o in view["offers"]] == ["pending"]
    assert [n["status"] for n in view["needs"]] == ["open"] and [e["kind"] for e in view["history"]] == ["referral_created", "offer_sent"]
    history = (await client.get(f"/api/v1/services/{service}/capacity/history", headers=net.ngos[0])).json()["items"]
    assert [h["cause"] for h in history].count("offer_accepted") == 1

    # Once a place is free again the same offer can be accepted.
    freed = await client.put(f"/api/v1/services/{service}/capacity", json={"available": 1}, headers=net.ngos[0])
    assert freed.status_code == 200, freed.text
    taken = await client.post(f"/api/v1/offers/{second['offers'][0]['id']}/accept", headers=net.ngos[0])
    assert taken.status_code == 200 and taken.json()["reserved"] is True


async def test_referral_lists_are_paged_with_their_totals_for_each_reader(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    """Each reader's list holds exactly its referrals, newest first, page after page, with the total of them all."""
    from referralnet.accounts.services import create_token
    from tests.conftest import bearer
    from tests.integration.helpers import make_org, make_service

    a = await make_org(client, admin, "Asociația A", networks=["protect"])
    b = await make_org(client, admin, "Asociația B", networks=["ngo15"])
    sa = (await make_service(client, admin, a["id"], shelter_body("Casa A", available=10)))["id"]
    sb = (await make_service(client, admin, b["id"], shelter_body("Casa B", available=10)))["id"]
    other = tokens.make("institution", name="another")
    made: dict[str, list[int]] = {"a": [], "b": [], "both": [], "other": []}
    for i in range(11):
        kind, headers, body = [
            ("a", institution, {"service_ids": [sa]}), ("b", institution, {"service_ids": [sb]}),
            ("both", institution, {"service_ids": [sa, sb], "mode": "parallel"}), ("other", other, {"service_ids": [sb]}),
        ][i % 4]  # fmt: skip
        made[kind].append((await refer(client, headers, **body))["id"])
    declined = made["b"][0]  # unplaced: B declines its only offer
    offer = (await client.get(f"/api/v1/referrals/{declined}", headers=institution)).json()["offers"][0]
    b_token = tokens.make("ngo", organisation=b["id"])
    assert (await client.post(f"/api/v1/offers/{offer['id']}/decline", json={"reason": "other"}, headers=b_token)).status_code == 200
    token, _ = in_app(client, create_token, role="secretariat", name="ProTECT secretariat", networks=["protect"])
    mine = made["a"] + made["b"] + made["both"]
    readers = {
        "institution": (institution, mine),
        "another institution": (other, made["other"]),
        "ngo a": (tokens.make("ngo", organisation=a["id"]), made["a"] + made["both"]),
        "ngo b": (b_token, made["b"] + made["both"] + made["other"]),
        "secretariat": (tokens.make("secretariat"), mine + made["other"]),
        "bound secretariat": (bearer(token), made["a"] + made["both"]),
    }
    for name, (headers, expected) in readers.items():
        seen: list[int] = []
        for offset in range(0, 12, 4):
            page = (await client.get("/api/v1/referrals", params={"limit": 4, "offset": offset}, headers=headers)).json()
            assert page["total"] == len(expected), name
            seen += [r["id"] for r in page["items"]]
        assert seen == sorted(expected, reverse=True), name
    unplaced = (await client.get("/api/v1/referrals", params={"status": "unplaced", "limit": 2}, headers=institution)).json()
    assert unplaced["total"] == 1 and [r["id"] for r in unplaced["items"]] == [declined]
    ngo_view = (await client.get("/api/v1/referrals", params={"limit": 1}, headers=readers["ngo a"][0])).json()["items"][0]
    assert {o["organisation_id"] for o in ngo_view["offers"]} == {a["id"]}  # another provider's offers are not shown
