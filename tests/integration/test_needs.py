"""Each need placed on its own (both engines): the 15-year-old boy's two needs, a bundle from one provider,
and concurrent accepts across the needs of many referrals."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from referralnet.accounts.schemas import Actor
from referralnet.errors import Conflict
from referralnet.referrals.accepting import accept_offer
from tests.conftest import START, Tokens, in_app
from tests.integration.helpers import make_org, make_service

# A 15-year-old boy exploited through begging: child residential care and counselling, both required.
BOY: dict[str, Any] = {
    "age_band": "14-17",
    "gender": "male",
    "nationality_group": "romanian",
    "exploitation_forms": ["begging"],
    "needs": [
        {"service_type": "child_residential", "priority": "required"},
        {"service_type": "psychological_counselling", "priority": "required"},
    ],
    "location": {"county": "RO-IS", "locality": "Iași"},
    "urgency": "urgent",
}


def residential(name: str, available: int = 3) -> dict[str, Any]:
    return {
        "type": "child_residential", "name": name, "service_area": {"national": True},
        "eligibility": {"age_max": 17, "exploitation_forms": ["begging", "labour"]},
        "capacity": {"unit": "beds", "total": max(10, available), "available": available},
    }  # fmt: skip


def counselling(name: str) -> dict[str, Any]:
    return {"type": "psychological_counselling", "name": name, "service_area": {"national": True}}


class Providers:
    """Organisations with their services and an NGO token each."""

    def __init__(self, client: Any, tokens: Tokens, admin: dict[str, str]) -> None:
        self.client, self.tokens, self.admin = client, tokens, admin
        self.ngo: dict[int, dict[str, str]] = {}

    async def org(self, name: str, *services: dict[str, Any]) -> tuple[int, list[int]]:
        org = await make_org(self.client, self.admin, name)
        ids = [(await make_service(self.client, self.admin, org["id"], body))["id"] for body in services]
        self.ngo[org["id"]] = self.tokens.make("ngo", organisation=org["id"], name=f"{name} coordinator")
        return org["id"], ids


async def refer(client: Any, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    payload = {"profile": copy.deepcopy(BOY), "consent": True, **body}
    resp = await client.post("/api/v1/referrals", json=payload, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def need(view: dict[str, Any], service_type: str) -> dict[str, Any]:
    [found] = [n for n in view["needs"] if n["service_type"] == service_type]
    return found


async def test_the_boys_two_needs_are_placed_each_on_its_own(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    p = Providers(client, tokens, admin)
    home, [home_service] = await p.org("Casa Copiilor", residential("Casa de tip familial"))
    talk, [talk_service] = await p.org("Centrul Sprijin", counselling("Consiliere"))
    view = await refer(client, institution, mode="parallel")  # automatic: each required need gets its candidates
    assert view["status"] == "open"
    assert [(n["service_type"], n["status"], [o["service_id"] for o in n["offers"]]) for n in view["needs"]] == [
        ("child_residential", "open", [home_service]),
        ("psychological_counselling", "open", [talk_service]),
    ]
    home_offer, talk_offer = need(view, "child_residential")["offers"][0], need(view, "psychological_counselling")["offers"][0]

    # Counselling accepts first: the residential offer stays open, the referral is partially placed.
    resp = await client.post(f"/api/v1/offers/{talk_offer['id']}/accept", headers=p.ngo[talk])
    assert resp.status_code == 200, resp.text
    view = (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()
    assert view["status"] == "partially_placed"
    assert need(view, "psychological_counselling")["status"] == "placed"
    assert need(view, "child_residential")["status"] == "open"
    assert need(view, "child_residential")["offers"][0]["status"] == "pending"
    assert "offer_withdrawn" not in [e["kind"] for e in view["history"]]

    # Then residential care accepts: placed, with the bed reserved.
    resp = await client.post(f"/api/v1/offers/{home_offer['id']}/accept", headers=p.ngo[home])
    assert resp.status_code == 200 and resp.json()["reserved"] is True
    view = (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()
    assert view["status"] == "placed" and view["placed_at"] is not None
    assert [n["status"] for n in view["needs"]] == ["placed", "placed"]
    assert view["placed_offer_id"] == talk_offer["id"]  # the first acceptance, as before for one need
    kinds = [e["kind"] for e in view["history"]]
    assert kinds[-4:] == ["offer_accepted", "referral_partially_placed", "offer_accepted", "referral_placed"]
    listed = (await client.get("/api/v1/referrals", params={"status": "placed"}, headers=institution)).json()
    assert [r["id"] for r in listed["items"]] == [view["id"]]


async def test_a_bundle_from_one_provider_is_referred_whole_and_placed_need_by_need(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    p = Providers(client, tokens, admin)
    await p.org("Altă Casă", residential("Alt centru"))  # a second candidate, never asked: the bundle was chosen
    both, [home_service, talk_service] = await p.org("Casa și Sprijin", residential("Centru"), counselling("Consiliere"))
    match = (await client.post("/api/v1/matches", json={"profile": BOY}, headers=institution)).json()
    bundle = [b for b in match["bundles"] if b["size"] == 1 and b["organisations"][0]["organisation_id"] == both][0]
    chosen = [s["service_id"] for s in bundle["organisations"][0]["services"]]
    assert sorted(chosen) == sorted([home_service, talk_service])

    view = await refer(client, institution, service_ids=chosen, mode="cascade")  # one call for the whole bundle
    assert len(view["offers"]) == 2  # cascade per need: each need's first (and only) service is asked at once
    home_offer = need(view, "child_residential")["offers"][0]
    resp = await client.post(f"/api/v1/offers/{home_offer['id']}/accept", headers=p.ngo[both])
    assert resp.status_code == 200, resp.text
    view = (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()
    assert view["status"] == "partially_placed"
    # The same organisation's counselling offer is still open.
    assert need(view, "psychological_counselling")["offers"][0]["status"] == "pending"
    assert need(view, "psychological_counselling")["status"] == "open"


async def test_concurrent_accepts_across_two_needs_never_place_a_need_twice(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Any
) -> None:
    p = Providers(client, tokens, admin)
    # Two organisations each offering both needs, with beds enough for everyone.
    a, [a_home, a_talk] = await p.org("Casa A", residential("Centru A", available=50), counselling("Consiliere A"))
    b, [b_home, b_talk] = await p.org("Casa B", residential("Centru B", available=50), counselling("Consiliere B"))
    referrals = [await refer(client, institution, mode="parallel", service_ids=[a_home, b_home, a_talk, b_talk]) for _ in range(16)]
    # Even referrals: A accepts both needs at once (a bundle). Odd: A and B race for the residential need.
    accepts: list[tuple[int, int]] = []
    for i, r in enumerate(referrals):
        home = {o["organisation_id"]: o["id"] for o in need(r, "child_residential")["offers"]}
        talk = {o["organisation_id"]: o["id"] for o in need(r, "psychological_counselling")["offers"]}
        accepts += [(a, home[a]), (a, talk[a])] if i % 2 == 0 else [(a, home[a]), (b, home[b])]
    assert len(accepts) == 32

    async def accept_all() -> list[str]:
        async def one(org: int, offer_id: int) -> str:
            actor = Actor(token_id=None, name="coordinator", role="ngo", organisation_id=org)
            try:
                await accept_offer(offer_id, actor, START, settings)
                return "accepted"
            except Conflict:
                return "conflict"

        return await asyncio.gather(*(one(org, o) for org, o in accepts))

    outcomes = in_app(client, accept_all)
    assert outcomes.count("accepted") == 24 and outcomes.count("conflict") == 8, outcomes
    secretariat = tokens.make("secretariat")
    for i, r in enumerate(referrals):
        view = (await client.get(f"/api/v1/referrals/{r['id']}", headers=secretariat)).json()
        home, talk = need(view, "child_residential"), need(view, "psychological_counselling")
        assert [o["status"] for o in home["offers"]].count("accepted") == 1  # never placed twice
        assert home["status"] == "placed"
        if i % 2 == 0:
            assert view["status"] == "placed" and talk["status"] == "placed"
            assert sorted(o["status"] for o in talk["offers"]) == ["accepted", "withdrawn"]
        else:
            # The residential race never touched counselling: both its offers are still pending.
            assert view["status"] == "partially_placed" and talk["status"] == "open"
            assert [o["status"] for o in talk["offers"]] == ["pending", "pending"]
    beds = [(await client.get(f"/api/v1/services/{s}", headers=admin)).json()["capacity"]["available"] for s in (a_home, b_home)]
    assert sum(50 - x for x in beds) == 16  # one bed per referral


async def test_a_required_need_nobody_provides_leaves_the_referral_unplaced_while_the_other_is_asked(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], settings: Any
) -> None:
    p = Providers(client, tokens, admin)
    home, [home_service] = await p.org("Casa Copiilor", residential("Casa de tip familial"))  # no counselling anywhere
    view = await refer(client, institution, mode="parallel")
    assert view["status"] == "unplaced"
    assert [(n["service_type"], n["status"]) for n in view["needs"]] == [("child_residential", "open"), ("psychological_counselling", "unplaced")]
    assert [e["kind"] for e in view["history"]][-2:] == ["need_unplaced", "referral_unplaced"]
    # The residential offer can still be accepted; the referral stays unplaced until counselling is found.
    offer = need(view, "child_residential")["offers"][0]
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=p.ngo[home])).status_code == 200
    view = (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()
    assert view["status"] == "unplaced" and need(view, "child_residential")["status"] == "placed"
    # A second round once a counselling provider exists: the referral reopens as partially placed, then is placed.
    talk, [talk_service] = await p.org("Centrul Sprijin", counselling("Consiliere"))
    resp = await client.post(f"/api/v1/referrals/{view['id']}/offers", json={"need": "psychological_counselling"}, headers=institution)
    assert resp.status_code == 200, resp.text
    view = resp.json()
    assert view["status"] == "partially_placed" and [o["service_id"] for o in need(view, "psychological_counselling")["offers"]] == [talk_service]
    offer = need(view, "psychological_counselling")["offers"][0]
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=p.ngo[talk])).status_code == 200
    view = (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()
    assert view["status"] == "placed"


async def home_and_talk(client: Any, tokens: Tokens, admin: dict[str, str]) -> tuple[Providers, int, int, int]:
    """The boy's two providers: a children's home with 3 free beds (and its service) and a counselling centre."""
    p = Providers(client, tokens, admin)
    home, [home_service] = await p.org("Casa Copiilor", residential("Casa de tip familial"))
    talk, _ = await p.org("Centrul Sprijin", counselling("Consiliere"))
    return p, home, home_service, talk


async def test_the_person_goes_to_the_placed_service_while_the_other_need_has_nobody(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], clock: Any, settings: Any
) -> None:
    """An unplaced referral with a need placed: arrival and closing by its parties, a second round after arrival, and
    the need's own alert when that round finds nobody either."""
    p = Providers(client, tokens, admin)
    home, [home_service] = await p.org("Casa Copiilor", residential("Casa de tip familial"))  # no counselling anywhere
    view = await refer(client, institution, mode="parallel", notify_email="ofiter@politia.example.ro")
    assert view["status"] == "unplaced"
    refused = await client.post(f"/api/v1/referrals/{view['id']}/arrival", json={}, headers=institution)
    assert refused.status_code == 409 and "no placed need" in refused.json()["detail"]  # nothing placed yet
    assert (await client.post(f"/api/v1/referrals/{view['id']}/close", json={"outcome": "other"}, headers=institution)).status_code == 403
    offer = need(view, "child_residential")["offers"][0]
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=p.ngo[home])).status_code == 200

    # The residential place is the person's: the provider records the arrival though counselling has nobody.
    resp = await client.post(f"/api/v1/referrals/{view['id']}/arrival", json={"note": "a sosit seara"}, headers=p.ngo[home])
    assert resp.status_code == 200, resp.text
    view = resp.json()
    assert view["status"] == "arrived" and view["arrived_at"] is not None
    assert view["history"][-1]["kind"] == "arrival_recorded" and view["history"][-1]["from_status"] == "unplaced"
    assert [n["status"] for n in view["needs"]] == ["placed", "unplaced"]

    # Counselling is asked for again after arrival; the new provider declines, so the need is unplaced again.
    talk, [talk_service] = await p.org("Centrul Sprijin", counselling("Consiliere"))
    resp = await client.post(f"/api/v1/referrals/{view['id']}/offers", json={"need": "psychological_counselling"}, headers=institution)
    assert resp.status_code == 200, resp.text
    view = resp.json()
    assert view["status"] == "arrived" and need(view, "psychological_counselling")["status"] == "open"
    offer = need(view, "psychological_counselling")["offers"][0]
    resp = await client.post(f"/api/v1/offers/{offer['id']}/decline", json={"reason": "no_capacity", "text": None}, headers=p.ngo[talk])
    assert resp.status_code == 200, resp.text
    view = (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()
    assert view["status"] == "arrived" and need(view, "psychological_counselling")["status"] == "unplaced"
    listed = (await client.get("/api/v1/referrals", headers=institution)).json()["items"]
    assert [(n["service_type"], n["status"], n["arrived_at"] is not None) for n in listed[0]["needs"]] == [
        ("child_residential", "placed", True), ("psychological_counselling", "unplaced", False)
    ]  # the list shows the need still without a provider, though the referral is arrived
    alerts = (await client.get("/api/v1/notifications", params={"kind": "need_unplaced", "referral_id": view["id"]}, headers=admin)).json()
    assert [(a["recipient"], a["subject"]) for a in alerts["items"]] == [
        ("ofiter@politia.example.ro", f"Referral {view['id']}: no provider left for Psychological counselling")
    ]

    # The accepting provider closes it; the place was used, so it is not given back.
    before = (await client.get(f"/api/v1/services/{home_service}", headers=admin)).json()["capacity"]["available"]
    resp = await client.post(f"/api/v1/referrals/{view['id']}/close", json={"outcome": "services_started"}, headers=p.ngo[home])
    assert resp.status_code == 200 and resp.json()["status"] == "closed"
    assert (await client.get(f"/api/v1/services/{home_service}", headers=admin)).json()["capacity"]["available"] == before


async def test_a_partially_placed_referral_records_the_arrival_and_keeps_asking(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    p, home, home_service, talk = await home_and_talk(client, tokens, admin)
    view = await refer(client, institution, mode="parallel")
    offer = need(view, "child_residential")["offers"][0]
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=p.ngo[home])).status_code == 200
    resp = await client.post(f"/api/v1/referrals/{view['id']}/arrival", json={}, headers=institution)
    assert resp.status_code == 200 and resp.json()["status"] == "arrived", resp.text
    # The counselling offer is still open and can be accepted after arrival; the referral stays arrived.
    offer = need(view, "psychological_counselling")["offers"][0]
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=p.ngo[talk])).status_code == 200
    view = (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()
    assert view["status"] == "arrived" and [n["status"] for n in view["needs"]] == ["placed", "placed"]


async def test_arrival_is_recorded_at_each_provider_and_closing_frees_only_unused_places(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    """Two providers, one need each: each records the person's arrival at its own service; neither may close the
    other's placement; closing gives back the place of a need the person never arrived at and tells its provider."""
    p, home, home_service, talk = await home_and_talk(client, tokens, admin)
    view = await refer(client, institution, mode="parallel")
    rid = view["id"]
    talk_offer, home_offer = need(view, "psychological_counselling")["offers"][0], need(view, "child_residential")["offers"][0]
    assert (await client.post(f"/api/v1/offers/{talk_offer['id']}/accept", headers=p.ngo[talk])).status_code == 200
    # The boy goes to counselling while residential care is still asked: the counselling provider records it.
    resp = await client.post(f"/api/v1/referrals/{rid}/arrival", json={}, headers=p.ngo[talk])
    assert resp.status_code == 200, resp.text
    view = (await client.get(f"/api/v1/referrals/{rid}", headers=institution)).json()
    assert view["status"] == "arrived"
    assert need(view, "psychological_counselling")["arrived_at"] is not None and need(view, "child_residential")["arrived_at"] is None
    arrival = view["history"][-1]
    assert (arrival["kind"], arrival["service_type"], arrival["from_status"]) == ("arrival_recorded", "psychological_counselling", "partially_placed")
    again = await client.post(f"/api/v1/referrals/{rid}/arrival", json={}, headers=p.ngo[talk])
    assert again.status_code == 409 and "already recorded" in again.json()["detail"]
    # Residential care accepts after arrival; its provider has its own arrival to record, not the other's.
    assert (await client.post(f"/api/v1/offers/{home_offer['id']}/accept", headers=p.ngo[home])).status_code == 200
    assert (await client.get(f"/api/v1/services/{home_service}", headers=admin)).json()["capacity"]["available"] == 2
    refused = await client.post(f"/api/v1/referrals/{rid}/close", json={"outcome": "completed"}, headers=p.ngo[talk])
    assert refused.status_code == 403 and "other providers hold places" in refused.json()["detail"]
    wrong = await client.post(f"/api/v1/referrals/{rid}/arrival", json={"need": "legal_counselling"}, headers=institution)
    assert wrong.status_code == 422 and wrong.json()["extra"][0]["key"] == "need"

    # The institution closes before the boy reached the residential home: its bed comes back, its provider is told.
    resp = await client.post(f"/api/v1/referrals/{rid}/close", json={"outcome": "person_left"}, headers=institution)
    assert resp.status_code == 200, resp.text
    assert (await client.get(f"/api/v1/services/{home_service}", headers=admin)).json()["capacity"]["available"] == 3
    told = (await client.get("/api/v1/notifications", params={"kind": "referral_ended", "referral_id": rid}, headers=admin)).json()
    assert sorted(n["organisation_id"] for n in told["items"]) == [home, talk]  # both providers are told; the institution closed


async def test_an_institution_records_the_arrival_at_one_need_and_the_next_frees_nothing_used(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    p, home, home_service, talk = await home_and_talk(client, tokens, admin)
    view = await refer(client, institution, mode="parallel")
    rid = view["id"]
    for service_type, org in (("child_residential", home), ("psychological_counselling", talk)):
        offer = need(view, service_type)["offers"][0]
        assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=p.ngo[org])).status_code == 200
    resp = await client.post(f"/api/v1/referrals/{rid}/arrival", json={"need": "child_residential"}, headers=institution)
    assert resp.status_code == 200, resp.text
    assert [bool(n["arrived_at"]) for n in resp.json()["needs"]] == [True, False]
    # The home provider holds no other placement's arrival, so it has nothing left to record; the institution has.
    assert (await client.post(f"/api/v1/referrals/{rid}/arrival", json={}, headers=p.ngo[home])).status_code == 409
    resp = await client.post(f"/api/v1/referrals/{rid}/close", json={"outcome": "services_started"}, headers=institution)
    assert resp.status_code == 200, resp.text
    assert (await client.get(f"/api/v1/services/{home_service}", headers=admin)).json()["capacity"]["available"] == 2  # used: kept


async def test_closing_cancels_the_needs_still_asked_and_keeps_the_unplaced_ones(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    p, home, home_service, talk = await home_and_talk(client, tokens, admin)
    view = await refer(client, institution, mode="parallel")
    offer = need(view, "child_residential")["offers"][0]
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=p.ngo[home])).status_code == 200
    resp = await client.post(f"/api/v1/referrals/{view['id']}/close", json={"outcome": "transferred"}, headers=institution)
    assert resp.status_code == 200, resp.text
    closed = (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()
    assert [(n["service_type"], n["status"]) for n in closed["needs"]] == [("child_residential", "placed"), ("psychological_counselling", "cancelled")]
    assert [o["status"] for o in need(closed, "psychological_counselling")["offers"]] == ["withdrawn"]


async def test_a_provider_does_not_end_a_referral_still_being_asked_for(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    """The only provider placed may close only once no need is still being asked for; the officer is told."""
    p, home, home_service, talk = await home_and_talk(client, tokens, admin)
    view = await refer(client, institution, mode="parallel", notify_email="ofiter@politia.example.ro")
    rid = view["id"]
    talk_offer, home_offer = need(view, "psychological_counselling")["offers"][0]["id"], need(view, "child_residential")["offers"][0]["id"]
    assert (await client.post(f"/api/v1/offers/{talk_offer}/accept", headers=p.ngo[talk])).status_code == 200
    refused = await client.post(f"/api/v1/referrals/{rid}/close", json={"outcome": "completed"}, headers=p.ngo[talk])
    assert refused.status_code == 403 and "still being asked for child_residential" in refused.json()["detail"]
    assert (await client.get(f"/api/v1/referrals/{rid}", headers=institution)).json()["status"] == "partially_placed"  # nothing changed
    resp = await client.post(f"/api/v1/offers/{home_offer}/decline", json={"reason": "no_capacity"}, headers=p.ngo[home])
    assert resp.status_code == 200, resp.text  # residential care: nobody left
    resp = await client.post(f"/api/v1/referrals/{rid}/close", json={"outcome": "services_started"}, headers=p.ngo[talk])
    assert resp.status_code == 200, resp.text
    told = (await client.get("/api/v1/notifications", params={"kind": "referral_ended", "referral_id": rid}, headers=admin)).json()
    assert [n["recipient"] for n in told["items"]] == ["ofiter@politia.example.ro"]  # the provider closed: the officer hears of it


async def test_arrival_before_every_need_is_placed_still_marks_the_referral_placed_later(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    p, home, home_service, talk = await home_and_talk(client, tokens, admin)
    view = await refer(client, institution, mode="parallel")
    rid = view["id"]
    talk_offer, home_offer = need(view, "psychological_counselling")["offers"][0]["id"], need(view, "child_residential")["offers"][0]["id"]
    assert (await client.post(f"/api/v1/offers/{talk_offer}/accept", headers=p.ngo[talk])).status_code == 200
    assert (await client.post(f"/api/v1/referrals/{rid}/arrival", json={}, headers=p.ngo[talk])).status_code == 200
    assert (await client.get(f"/api/v1/referrals/{rid}", headers=institution)).json()["placed_at"] is None
    assert (await client.post(f"/api/v1/offers/{home_offer}/accept", headers=p.ngo[home])).status_code == 200
    view = (await client.get(f"/api/v1/referrals/{rid}", headers=institution)).json()
    assert view["status"] == "arrived" and view["placed_at"] is not None  # every required need placed: counted placed
    assert [(e["kind"], e["from_status"], e["to_status"]) for e in view["history"] if e["kind"] == "referral_placed"] == [
        ("referral_placed", "arrived", "arrived")
    ]


async def test_an_open_referral_with_a_desired_need_placed_can_be_closed(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    p = Providers(client, tokens, admin)
    home, [home_service] = await p.org("Casa Copiilor", residential("Casa de tip familial"))
    talk, [talk_service] = await p.org("Centrul Sprijin", counselling("Consiliere"))
    profile = copy.deepcopy(BOY)
    profile["needs"][1]["priority"] = "desired"
    view = await refer(client, institution, profile=profile, service_ids=[home_service, talk_service], mode="parallel")
    offer = need(view, "psychological_counselling")["offers"][0]["id"]
    assert (await client.post(f"/api/v1/offers/{offer}/accept", headers=p.ngo[talk])).status_code == 200
    assert (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()["status"] == "open"
    resp = await client.post(f"/api/v1/referrals/{view['id']}/close", json={"outcome": "transferred"}, headers=institution)
    assert resp.status_code == 200 and resp.json()["status"] == "closed", resp.text
    assert [n["status"] for n in resp.json()["needs"]] == ["cancelled", "placed"]


async def test_desired_needs_never_block(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> None:
    p = Providers(client, tokens, admin)
    home, [home_service] = await p.org("Casa Copiilor", residential("Casa de tip familial"))
    talk, [talk_service] = await p.org("Centrul Sprijin", counselling("Consiliere"))
    profile = copy.deepcopy(BOY)
    profile["needs"][1]["priority"] = "desired"
    view = await refer(client, institution, profile=profile, service_ids=[home_service, talk_service])
    offer = need(view, "child_residential")["offers"][0]
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=p.ngo[home])).status_code == 200
    view = (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()
    assert view["status"] == "placed" and need(view, "psychological_counselling")["status"] == "open"
    # The desired need can still be placed afterwards; the referral stays placed.
    offer = need(view, "psychological_counselling")["offers"][0]
    assert (await client.post(f"/api/v1/offers/{offer['id']}/accept", headers=p.ngo[talk])).status_code == 200
    view = (await client.get(f"/api/v1/referrals/{view['id']}", headers=institution)).json()
    assert view["status"] == "placed" and need(view, "psychological_counselling")["status"] == "placed"
