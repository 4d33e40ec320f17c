"""FHIR R4 view of referrals: the bundle validates (fhir.resources R4B) and every state is mapped."""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem

from referralnet.interop.fhir import OFFER_STATUS, REFERRAL_STATUS, bundle
from referralnet.referrals.lifecycle import OfferStatus, ReferralStatus
from referralnet.referrals.schemas import ReferralOut
from referralnet.referrals.sweeps import expire_due
from tests.conftest import Tokens, in_app
from tests.integration.test_referrals import network, refer


def _fhir(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/fhir+json")
    data = resp.json()
    Bundle.model_validate(data)  # raises on any invalid element
    return data  # type: ignore[no-any-return]


def _tasks(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Task"]


def test_every_state_has_a_mapping() -> None:
    assert set(get_args(ReferralStatus)) | {"partially_placed"} <= set(REFERRAL_STATUS)
    assert set(get_args(OfferStatus)) <= set(OFFER_STATUS)


async def test_a_referral_through_its_life_as_fhir(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> None:
    net = await network(client, tokens, admin)
    referral = await refer(client, institution, mode="parallel", service_ids=[s["id"] for s in net.services])
    rid = referral["id"]
    url = f"/api/v1/referrals/{rid}/fhir"

    data = _fhir(await client.get(url, headers=institution))
    patient = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient")
    assert set(patient) == {"resourceType", "meta"}  # no name, identifier, birth date, address
    request = next(e["resource"] for e in data["entry"] if e["resource"]["resourceType"] == "ServiceRequest")
    assert request["code"]["coding"][0]["code"] == "residential_shelter"
    assert request["code"]["coding"][0]["system"].endswith("/api/v1/vocabulary/fhir/CodeSystem/service-type")
    assert request["subject"]["reference"] == data["entry"][0]["fullUrl"]
    referral_task, *offer_tasks = _tasks(data)
    assert referral_task["status"] == "requested" and [t["status"] for t in offer_tasks] == ["requested"] * 3

    # the first NGO reads the referral: its pending offer is now "received" (seen_at recorded once)
    first = (await client.get(f"/api/v1/referrals/{rid}", headers=net.ngos[0])).json()
    seen = next(o for o in first["offers"] if o["organisation_id"] == net.orgs[0]["id"])["seen_at"]
    assert seen is not None
    again = (await client.get(f"/api/v1/referrals/{rid}", headers=net.ngos[0])).json()
    assert next(o for o in again["offers"] if o["organisation_id"] == net.orgs[0]["id"])["seen_at"] == seen
    assert [t["status"] for t in _tasks(_fhir(await client.get(url, headers=institution)))[1:]] == ["received", "requested", "requested"]

    offers = referral["offers"]
    resp = await client.post(f"/api/v1/offers/{offers[1]['id']}/decline", json={"reason": "no_capacity", "text": None}, headers=net.ngos[1])
    assert resp.status_code == 200
    assert (await client.post(f"/api/v1/offers/{offers[0]['id']}/accept", headers=net.ngos[0])).status_code == 200
    tasks = _tasks(_fhir(await client.get(url, headers=institution)))
    assert tasks[0]["status"] == "accepted"
    assert [t["status"] for t in tasks[1:]] == ["accepted", "rejected", "cancelled"]
    assert tasks[2]["statusReason"]["coding"][0]["code"] == "no_capacity"

    assert (await client.post(f"/api/v1/referrals/{rid}/arrival", headers=net.ngos[0])).status_code == 200
    tasks = _tasks(_fhir(await client.get(url, headers=institution)))
    assert tasks[0]["status"] == tasks[1]["status"] == "in-progress"
    resp = await client.post(f"/api/v1/referrals/{rid}/close", json={"outcome": "services_started"}, headers=net.ngos[0])
    assert resp.status_code == 200, resp.text
    tasks = _tasks(_fhir(await client.get(url, headers=institution)))
    assert tasks[0]["status"] == tasks[1]["status"] == "completed"
    assert tasks[0]["output"][0]["valueCodeableConcept"]["coding"][0]["code"] == "services_started"

    # an organisation that was not asked gets 404, as for the referral itself
    stranger = tokens.make("ngo", organisation=(await client.post("/api/v1/organisations", json={"name": "Asociația Alta"}, headers=admin)).json()["id"])
    assert (await client.get(url, headers=stranger)).status_code == 404


async def test_expired_unplaced_and_cancelled(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], clock: Any, settings: Any) -> None:
    net = await network(client, tokens, admin, n=1)
    lost = await refer(client, institution, mode="cascade", service_ids=[net.services[0]["id"]], urgency="emergency")
    clock.advance(minutes=61)
    assert in_app(client, expire_due, clock.now(), settings) == 1
    tasks = _tasks(_fhir(await client.get(f"/api/v1/referrals/{lost['id']}/fhir", headers=institution)))
    assert [t["status"] for t in tasks] == ["failed", "failed"]

    gone = await refer(client, institution, service_ids=[net.services[0]["id"]])
    assert (await client.post(f"/api/v1/referrals/{gone['id']}/cancel", headers=institution)).status_code == 200
    tasks = _tasks(_fhir(await client.get(f"/api/v1/referrals/{gone['id']}/fhir", headers=institution)))
    assert [t["status"] for t in tasks] == ["cancelled", "cancelled"]


async def test_every_referral_state_gives_a_valid_bundle(client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]) -> None:
    net = await network(client, tokens, admin, n=1)
    referral = await refer(client, institution, service_ids=[net.services[0]["id"]])
    out = msgspec.convert((await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json(), ReferralOut, strict=False)
    for status, (task_status, _) in REFERRAL_STATUS.items():
        data = bundle(msgspec.structs.replace(out, status=status), {}, "http://127.0.0.1:8000")
        Bundle.model_validate(data)
        assert _tasks(data)[0]["status"] == task_status


async def test_code_systems_are_published(client: Any) -> None:
    resp = await client.get("/api/v1/vocabulary/fhir/CodeSystem/service-type")  # public, like the vocabulary
    assert resp.status_code == 200
    system = CodeSystem.model_validate(resp.json())
    assert any(c.code == "residential_shelter" for c in system.concept)
    assert (await client.get("/api/v1/vocabulary/fhir/CodeSystem/nothing")).status_code == 404
