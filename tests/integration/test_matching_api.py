"""POST /api/v1/matches through the app: contract, roles, validation, privacy, caching, answer records."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from referralnet.referrals.sweeps import expire_due
from tests.conftest import Tokens, in_app
from tests.integration.helpers import make_org, make_service

PROFILE: dict[str, Any] = {
    "age_band": "25-39",
    "gender": "male",
    "nationality_group": "romanian",
    "exploitation_forms": ["labour"],
    "needs": [
        {"service_type": "emergency_accommodation", "priority": "required"},
        {"service_type": "legal_counselling", "priority": "desired"},
    ],
    "location": {"county": "RO-IS", "locality": "Pașcani"},
    "max_distance_km": 150,
    "avoid_counties": ["RO-VS"],
    "children": [],
    "languages": ["ro"],
    "accessibility": [],
    "urgency": "urgent",
    "note": "",
}


def accommodation(name: str, county: str, locality: str, **eligibility: Any) -> dict[str, Any]:
    return {
        "type": "emergency_accommodation",
        "name": name,
        "eligibility": {"age_min": 18, **eligibility},
        "sites": [{"county": county, "locality": locality, "address": "secret", "confidential": True}],
        "capacity": {"unit": "beds", "total": 10, "available": 2},
    }


@pytest.fixture
async def directory(client: Any, admin: dict[str, str]) -> dict[str, int]:
    men = await make_org(client, admin, "Asociația Bărbați Iași")
    women = await make_org(client, admin, "Asociația Femei Iași")
    far = await make_org(client, admin, "Fundația Departe")
    vaslui = await make_org(client, admin, "Asociația Vaslui")
    ids = {
        "men_shelter": (await make_service(client, admin, men["id"], accommodation("Men Iași", "RO-IS", "Iași", genders=["male"])))["id"],
        "women_shelter": (await make_service(client, admin, women["id"], accommodation("Women Iași", "RO-IS", "Iași", genders=["female"])))["id"],
        "far_shelter": (await make_service(client, admin, far["id"], accommodation("Far", "RO-TM", "Timișoara", genders=["male"])))["id"],
        "vaslui_shelter": (await make_service(client, admin, vaslui["id"], accommodation("Vaslui", "RO-VS", "Vaslui")))["id"],
        "legal": (
            await make_service(
                client, admin, men["id"], {"type": "legal_counselling", "name": "Legal", "service_area": {"national": True}}
            )
        )["id"],
        "men_org": men["id"],
    }
    return ids


async def test_match_contract(client: Any, directory: dict[str, int], institution: dict[str, str]) -> None:
    resp = await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) >= {"candidates", "bundles", "excluded"}
    ids = [c["service_id"] for c in body["candidates"]]
    assert directory["men_shelter"] in ids and directory["legal"] in ids
    for unwanted in ("women_shelter", "far_shelter", "vaslui_shelter"):
        assert directory[unwanted] not in ids
    first = body["candidates"][0]
    for key in ("service_id", "organisation_id", "organisation_name", "service_type", "score", "distance_km", "available", "reasons"):
        assert key in first
    shelter = next(c for c in body["candidates"] if c["service_id"] == directory["men_shelter"])
    assert 60 < shelter["distance_km"] < 90  # Pașcani to Iași
    assert shelter["available"] == 2
    assert "secret" not in resp.text and "lat" not in shelter
    assert body["bundles"][0]["organisations"][0]["organisation_id"] == directory["men_org"]


async def test_match_sees_capacity_changes_at_once(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str]
) -> None:
    first = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    assert directory["men_shelter"] in [c["service_id"] for c in first["candidates"]]
    resp = await client.put(f"/api/v1/services/{directory['men_shelter']}/capacity", json={"available": 0}, headers=admin)
    assert resp.status_code == 200
    second = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    assert directory["men_shelter"] not in [c["service_id"] for c in second["candidates"]]
    # A directory edit (a new service) is seen by the next match too.
    org = await make_org(client, admin, "Asociația Nouă")
    new = await make_service(client, admin, org["id"], accommodation("New", "RO-IS", "Pașcani", genders=["male"]))
    third = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    assert third["candidates"][0]["service_id"] == new["id"]


async def test_nothing_fits_is_explained(client: Any, directory: dict[str, int], institution: dict[str, str]) -> None:
    profile = {**PROFILE, "needs": [{"service_type": "emergency_accommodation", "priority": "required"}], "max_distance_km": 50}
    profile["location"] = {"county": "RO-IS", "locality": "Pașcani"}
    body = (await client.post("/api/v1/matches", json={"profile": profile}, headers=institution)).json()
    assert body["candidates"] == []
    assert body["bundles"] == []
    assert sum(body["excluded"]["by_constraint"].values()) == 4
    assert any("km" in m for m in body["excluded"]["messages"])


async def test_only_referrers_match(client: Any, directory: dict[str, int], tokens: Tokens) -> None:
    ngo = tokens.make("ngo", organisation=directory["men_org"])
    assert (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=ngo)).status_code == 403
    assert (await client.post("/api/v1/matches", json={"profile": PROFILE})).status_code == 401
    secretariat = tokens.make("secretariat")
    assert (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=secretariat)).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"needs": [{"service_type": "spa"}]}, "profile.needs[0].service_type"),
        ({"location": {"county": "RO-QQ"}}, "profile.location.county"),
        ({"location": {"county": "RO-IS", "locality": "Narnia"}}, "profile.location.locality"),
        ({"languages": ["xx"]}, "profile.languages[0]"),
        ({"age_band": "30-40"}, "profile.age_band"),
        ({"note": "x" * 501}, "profile.note"),
        ({"note": "Call her on 0722 123 456 after 6pm"}, "profile.note"),
        ({"note": "CNP 1800101221144"}, "profile.note"),
        ({"name": "Ion Popescu"}, "profile.name"),
        ({"needs": []}, "profile.needs"),
    ],
)
async def test_bad_profiles_are_refused_naming_the_field(
    client: Any, institution: dict[str, str], change: dict[str, Any], field: str
) -> None:
    profile = copy.deepcopy(PROFILE)
    profile.update(change)
    resp = await client.post("/api/v1/matches", json={"profile": profile}, headers=institution)
    assert resp.status_code == 422, resp.text
    assert resp.json()["extra"][0]["key"] == field
    assert "0722" not in resp.text and "1800101221144" not in resp.text


# ---- providers' answer records ---------------------------------------------------------------

SHELTER_ONLY = {**PROFILE, "needs": [{"service_type": "emergency_accommodation", "priority": "required"}]}


class Twins:
    """Two providers with identical shelters in Iași, each with its coordinator's token."""

    def __init__(self, client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> None:
        self.client, self.tokens, self.admin, self.institution = client, tokens, admin, institution
        self.service: dict[str, int] = {}
        self.ngo: dict[str, dict[str, str]] = {}
        self.referral = 0  # the last one made

    async def add(self, name: str) -> None:
        org = await make_org(self.client, self.admin, f"Asociația {name}")
        body = {**accommodation(name, "RO-IS", "Iași", genders=["male"]), "capacity": {"unit": "beds", "total": 10, "available": 5}}
        self.service[name] = (await make_service(self.client, self.admin, org["id"], body))["id"]
        self.ngo[name] = self.tokens.make("ngo", organisation=org["id"], name=f"{name} coordinator")

    async def refer(self, *names: str) -> list[int]:
        body = {"profile": SHELTER_ONLY, "consent": True, "mode": "parallel", "service_ids": [self.service[n] for n in names]}
        resp = await self.client.post("/api/v1/referrals", json=body, headers=self.institution)
        assert resp.status_code == 201, resp.text
        self.referral = resp.json()["id"]
        return [o["id"] for o in resp.json()["offers"]]

    async def answer(self, name: str, offer_id: int, verb: str) -> None:
        # Not "no_capacity": that decline would set free places to 0 and take the service out of matching.
        body = {"reason": "not_eligible"} if verb == "decline" else None
        resp = await self.client.post(f"/api/v1/offers/{offer_id}/{verb}", json=body, headers=self.ngo[name])
        assert resp.status_code == 200, resp.text

    async def ranked(self) -> list[dict[str, Any]]:
        resp = await self.client.post("/api/v1/matches", json={"profile": SHELTER_ONLY}, headers=self.institution)
        assert resp.status_code == 200, resp.text
        by_service = {v: k for k, v in self.service.items()}
        return [{**c, "name": by_service[c["service_id"]]} for c in resp.json()["candidates"] if c["service_id"] in by_service]


def record_reasons(candidate: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["code"]: r for r in candidate["reasons"] if r["code"] in ("answer_record", "answer_time")}


@pytest.fixture
async def twins(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> Twins:
    pair = Twins(client, tokens, admin, institution)
    await pair.add("Alfa")
    await pair.add("Beta")
    return pair


async def test_answer_records_are_shown_and_rank_a_reliable_provider_first(
    client: Any, twins: Twins, clock: Any, settings: Any
) -> None:
    before = await twins.ranked()
    assert [c["name"] for c in before] == ["Alfa", "Beta"]  # equal scores: the lower service id first
    assert before[0]["score"] == before[1]["score"] and not record_reasons(before[0])

    (offer,) = await twins.refer("Beta")
    clock.advance(minutes=30)
    await twins.answer("Beta", offer, "accept")
    (offer,) = await twins.refer("Beta")
    clock.advance(minutes=90)
    await twins.answer("Beta", offer, "accept")
    (offer,) = await twins.refer("Alfa")
    clock.advance(hours=2)
    await twins.answer("Alfa", offer, "decline")
    to_alfa, to_beta = await twins.refer("Alfa", "Beta")  # Beta answers first; Alfa's offer is withdrawn
    clock.advance(minutes=10)
    await twins.answer("Beta", to_beta, "accept")
    await twins.refer("Alfa")
    clock.advance(hours=25)  # past the urgent deadline: the sweep expires Alfa's offer
    assert in_app(client, expire_due, clock.now(), settings) == 1

    after = await twins.ranked()
    assert [c["name"] for c in after] == ["Beta", "Alfa"]
    assert after[0]["score"] > after[1]["score"]
    beta, alfa = record_reasons(after[0]), record_reasons(after[1])
    assert beta["answer_record"] == {"code": "answer_record", "kind": "fit", "text": "accepted 3 of 3 referral offers", "value": 1.0, "attribute": None}
    assert beta["answer_time"]["value"] == 30.0 and beta["answer_time"]["text"].endswith("in 30 min")  # median of 30, 90, 10
    assert alfa["answer_record"]["value"] == 0.0 and alfa["answer_record"]["kind"] == "caveat"
    assert alfa["answer_record"]["text"] == "accepted 0 of 2 referral offers, 1 left unanswered until the deadline"
    assert alfa["answer_time"]["value"] == 120.0  # the decline; expiry is no answer, withdrawal not Alfa's doing


async def test_answer_records_refresh_at_most_once_a_minute(client: Any, twins: Twins, clock: Any) -> None:
    async def alfa() -> dict[str, dict[str, Any]]:
        return record_reasons(next(c for c in await twins.ranked() if c["name"] == "Alfa"))

    (offer,) = await twins.refer("Alfa")
    clock.advance(minutes=5)
    await twins.answer("Alfa", offer, "accept")
    first = await alfa()
    assert first["answer_record"]["text"] == "accepted 1 of 1 referral offers"

    (offer,) = await twins.refer("Alfa")
    clock.advance(seconds=20)
    await twins.answer("Alfa", offer, "decline")
    assert await alfa() == first  # the offers moved, but the records are only 20 s old
    clock.advance(seconds=40)
    now = await alfa()
    assert now["answer_record"]["text"] == "accepted 1 of 2 referral offers"
    assert now["answer_time"]["value"] == 2.7  # median of 5 min and 20 s, in minutes


async def test_the_directory_is_read_once_and_again_only_when_it_changes(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str], clock: Any
) -> None:
    cache = client.app.state.matching_cache
    for _ in range(3):
        assert (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).status_code == 200
    assert cache.builds == 1  # later matches only check the version and read live capacity
    await client.put(f"/api/v1/services/{directory['men_shelter']}/capacity", json={"available": 1}, headers=admin)
    body = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    assert next(c for c in body["candidates"] if c["service_id"] == directory["men_shelter"])["available"] == 1
    assert cache.builds == 1
    clock.advance(seconds=1)  # an edit moves the newest updated_at
    resp = await client.patch(f"/api/v1/services/{directory['legal']}", json={"name": "Legal aid"}, headers=admin)
    assert resp.status_code == 200, resp.text
    body = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    assert cache.builds == 2 and "Legal aid" in {c["service_name"] for c in body["candidates"]}


async def test_places_taken_and_given_back_are_seen_at_once(client: Any, twins: Twins, institution: dict[str, str]) -> None:
    async def free() -> int:
        return next(c for c in await twins.ranked() if c["name"] == "Beta")["available"]  # type: ignore[no-any-return]

    assert await free() == 5
    (offer,) = await twins.refer("Beta")
    assert await free() == 5  # an offer alone takes no place
    await twins.answer("Beta", offer, "accept")
    assert await free() == 4
    resp = await client.post(f"/api/v1/referrals/{twins.referral}/cancel", json={"reason": "went home"}, headers=institution)
    assert resp.status_code == 200, resp.text
    assert await free() == 5


async def test_the_maximum_stay_filters_through_the_api(
    client: Any, directory: dict[str, int], admin: dict[str, str], institution: dict[str, str]
) -> None:
    """An attribute added through the eligibility registry alone: stated by the NGO, asked by the referrer."""
    resp = await client.patch(
        f"/api/v1/services/{directory['men_shelter']}",
        json={"eligibility": {"age_min": 18, "genders": ["male"], "max_stay_days": 90}}, headers=admin,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["eligibility"]["max_stay_days"] == 90
    wanted = {**PROFILE, "expected_stay_days": 180}
    body = (await client.post("/api/v1/matches", json={"profile": wanted}, headers=institution)).json()
    assert directory["men_shelter"] not in [c["service_id"] for c in body["candidates"]]
    assert body["excluded"]["by_need"]["emergency_accommodation"]["stay"] == 1
    assert body["excluded"]["by_constraint"]["stay"] == 1
    short = {**PROFILE, "expected_stay_days": 60}
    body = (await client.post("/api/v1/matches", json={"profile": short}, headers=institution)).json()
    assert directory["men_shelter"] in [c["service_id"] for c in body["candidates"]]
    resp = await client.post("/api/v1/matches", json={"profile": {**PROFILE, "expected_stay_days": 0}}, headers=institution)
    assert resp.status_code in (400, 422) and "expected_stay_days" in resp.text


async def test_edits_at_the_same_instant_are_all_seen_by_the_next_match(
    client: Any, directory: dict[str, int], institution: dict[str, str], admin: dict[str, str]
) -> None:
    """The clock does not move between the edits: only the directory counter tells the cache."""
    cache = client.app.state.matching_cache
    assert (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).status_code == 200
    builds = cache.builds
    for name in ("Legal aid", "Legal aid Iași"):
        resp = await client.patch(f"/api/v1/services/{directory['legal']}", json={"name": name}, headers=admin)
        assert resp.status_code == 200, resp.text
        body = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
        assert name in {c["service_name"] for c in body["candidates"]}
    off = await client.patch(f"/api/v1/services/{directory['men_shelter']}", json={"active": False}, headers=admin)
    assert off.status_code == 200
    body = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    assert directory["men_shelter"] not in {c["service_id"] for c in body["candidates"]}
    assert cache.builds == builds + 3


async def test_a_provider_without_a_referral_channel_is_marked_until_one_is_recorded(
    client: Any, directory: dict[str, int], admin: dict[str, str], institution: dict[str, str]
) -> None:
    """Reachability comes with the cached directory: recording a phone shows in the next match, without a query per match."""

    async def legal() -> dict[str, Any]:
        body = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
        return next(c for c in body["candidates"] if c["service_id"] == directory["legal"])

    assert "no_referral_contact" in {r["code"] for r in (await legal())["reasons"]}
    resp = await client.patch(f"/api/v1/organisations/{directory['men_org']}", json={"referral_phone": "+40 232 211 611"}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert "no_referral_contact" not in {r["code"] for r in (await legal())["reasons"]}
