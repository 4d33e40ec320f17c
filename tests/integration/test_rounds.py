"""A second round (both engines): more providers asked for an unplaced need, never those who declined;
bad requests name the field and write nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet.tables import Service
from tests.conftest import START, Tokens, in_app
from tests.integration.helpers import make_org, make_service
from tests.integration.test_referrals import network, refer, shelter_body


async def view_of(client: Any, referral_id: int, headers: dict[str, str]) -> dict[str, Any]:
    return (await client.get(f"/api/v1/referrals/{referral_id}", headers=headers)).json()  # type: ignore[no-any-return]


async def test_a_second_round_after_unplaced_reopens_the_need(client: Any, tokens: Tokens, admin: dict[str, str]) -> None:
    net = await network(client, tokens, admin, n=3)
    own = tokens.institution("IPJ Iași")
    institution = tokens.make("institution", organisation=own, name="officer")
    referral = await refer(client, institution, mode="parallel", service_ids=[net.services[0]["id"]])
    first = referral["offers"][0]
    resp = await client.post(f"/api/v1/offers/{first['id']}/decline", json={"reason": "safety"}, headers=net.ngos[0])
    assert resp.status_code == 200, resp.text
    view = await view_of(client, referral["id"], institution)
    assert view["status"] == "unplaced" and view["needs"][0]["status"] == "unplaced"
    before = (len(view["offers"]), len(view["history"]))

    async def bad(body: dict[str, Any], headers: dict[str, str] = institution, rid: int = referral["id"]) -> tuple[int, str]:
        r = await client.post(f"/api/v1/referrals/{rid}/offers", json=body, headers=headers)
        return r.status_code, (r.json().get("extra") or [{}])[0].get("key", "") if r.status_code in (409, 422) else ""

    # Bad input names the field: a need the referral does not have, one who declined, an institution's own service.
    assert await bad({"need": "child_residential"}) == (422, "need")
    assert await bad({"need": "residential_shelter", "service_ids": [net.services[0]["id"]]}) == (422, "service_ids[0]")
    stray = in_app(client, _institution_service, own)
    assert await bad({"need": "residential_shelter", "service_ids": [net.services[1]["id"], stray]}) == (422, "service_ids[1]")
    assert (await bad({"need": "residential_shelter"}, headers=net.ngos[1]))[0] == 403
    # A service that cannot be asked says why: it does not fit the person, or it is for another need.
    org = await make_org(client, admin, "Asociația Bărbați")
    men = await make_service(client, admin, org["id"], {**shelter_body("Casa bărbați"), "eligibility": {"age_min": 18, "genders": ["male"]}})
    why = await client.post(f"/api/v1/referrals/{referral['id']}/offers", json={"need": "residential_shelter", "service_ids": [men["id"]]},
                            headers=institution)  # fmt: skip
    assert why.status_code == 422 and "not eligible for this profile right now: gender" in why.json()["extra"][0]["message"], why.text
    counselling = await make_service(client, admin, org["id"], {**shelter_body("Consiliere"), "type": "psychological_counselling",
                                                                "capacity": {"unit": "sessions_per_week", "total": 5, "available": 5}})  # fmt: skip
    other = await client.post(f"/api/v1/referrals/{referral['id']}/offers", json={"need": "residential_shelter", "service_ids": [counselling["id"]]},
                              headers=institution)  # fmt: skip
    assert other.status_code == 422 and "not one for the need residential_shelter" in other.json()["extra"][0]["message"], other.text
    view = await view_of(client, referral["id"], institution)
    assert (len(view["offers"]), len(view["history"])) == before  # nothing written

    # A fresh match leaves out the provider that declined; the referral reopens for the need.
    resp = await client.post(f"/api/v1/referrals/{referral['id']}/offers", json={"need": "residential_shelter"}, headers=institution)
    assert resp.status_code == 200, resp.text
    view = resp.json()
    assert view["status"] == "open" and view["needs"][0]["status"] == "open"
    asked = [o["service_id"] for o in view["offers"] if o["status"] == "pending"]
    assert sorted(asked) == sorted(s["id"] for s in net.services[1:])
    assert [e["kind"] for e in view["history"]][-4:] == ["offers_added", "offer_sent", "offer_sent", "referral_reopened"]
    added = [e for e in view["history"] if e["kind"] == "offers_added"][0]
    assert added["from_status"] == "unplaced" and added["on_behalf"] is None
    second = [o for o in view["offers"] if o["service_id"] == net.services[1]["id"]][0]
    resp = await client.post(f"/api/v1/offers/{second['id']}/accept", headers=net.ngos[1])
    assert resp.status_code == 200, resp.text
    view = await view_of(client, referral["id"], institution)
    assert view["status"] == "placed"
    assert [o["status"] for o in view["offers"]] == ["declined", "accepted", "withdrawn"]
    # A placed need takes no more offers; a cancelled referral none at all.
    assert await bad({"need": "residential_shelter"}) == (409, "need")
    other = await refer(client, institution, service_ids=[net.services[2]["id"]])
    await client.post(f"/api/v1/referrals/{other['id']}/cancel", json={}, headers=institution)
    assert await bad({"need": "residential_shelter"}, rid=other["id"]) == (409, "status")


async def test_the_secretariat_adds_offers_on_the_institutions_behalf(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str], secretariat: dict[str, str]
) -> None:
    net = await network(client, tokens, admin, n=2)
    referral = await refer(client, institution, mode="cascade", service_ids=[net.services[0]["id"]])
    resp = await client.post(
        f"/api/v1/referrals/{referral['id']}/offers", json={"need": "residential_shelter", "service_ids": [net.services[1]["id"]]}, headers=secretariat
    )
    assert resp.status_code == 200, resp.text
    view = resp.json()
    # A cascade still waiting on its first provider queues the new one behind it.
    assert view["needs"][0]["queued_service_ids"] == [net.services[1]["id"]] and len(view["offers"]) == 1
    added = [e for e in view["history"] if e["kind"] == "offers_added"][0]
    assert added["actor"].startswith("secretariat:") and added["on_behalf"] == "the referring institution"
    other = tokens.make("institution", name="another institution")
    assert (await client.post(f"/api/v1/referrals/{referral['id']}/offers", json={"need": "residential_shelter"}, headers=other)).status_code == 404


async def _institution_service(org_id: int) -> int:
    """A service row under an institution, as an old import could have left (the API refuses to make one)."""
    now = START - dt.timedelta(days=1)
    rows = await Service.insert(Service(organisation=org_id, type="residential_shelter", name="stray", area_national=True,
                                        created_at=now, updated_at=now)).returning(Service.id)  # fmt: skip
    return int(rows[0]["id"])
