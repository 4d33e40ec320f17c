"""A secretariat bound to networks works on its networks' members only, through the API as through the pages:
it lists, manages and sees the confidential sites of members, reads the referrals offered to them and their
notifications; another organisation it sees as an institution does, and cannot change (both engines)."""

from __future__ import annotations

from typing import Any

from referralnet.accounts.services import create_token
from tests.conftest import Tokens, bearer, in_app
from tests.integration.helpers import make_org, make_service
from tests.integration.test_referrals import refer, shelter_body


async def test_a_bound_secretariat_manages_and_reads_its_members_only(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    member = await make_org(client, admin, "Asociația Membru", networks=["protect"], referral_email="membru@example.org")
    other = await make_org(client, admin, "Asociația Alta", networks=["ngo15"], referral_email="alta@example.org")
    mine = await make_service(client, admin, member["id"], shelter_body("Casa membru"))
    theirs = await make_service(client, admin, other["id"], shelter_body("Casa alta"))
    token, _ = in_app(client, create_token, role="secretariat", name="ProTECT secretariat", networks=["protect"])
    bound = bearer(token)

    listed = (await client.get("/api/v1/organisations", headers=bound)).json()
    assert [o["id"] for o in listed["items"]] == [member["id"]] and listed["total"] == 1
    # A member's confidential site in full; another's at county level, as an institution sees it.
    seen = (await client.get(f"/api/v1/services/{theirs['id']}", headers=bound)).json()["sites"][0]
    as_institution = (await client.get(f"/api/v1/services/{theirs['id']}", headers=institution)).json()["sites"][0]
    assert seen == as_institution and seen.get("lat") is None
    member_site = (await client.get(f"/api/v1/services/{mine['id']}", headers=bound)).json()["sites"][0]
    assert member_site == (await client.get(f"/api/v1/services/{mine['id']}", headers=admin)).json()["sites"][0]
    assert member_site["lat"] is not None

    # Changes: a member's go through, another's are refused and change nothing.
    assert (await client.put(f"/api/v1/services/{mine['id']}/capacity", json={"available": 1}, headers=bound)).status_code == 200
    refused = await client.put(f"/api/v1/services/{theirs['id']}/capacity", json={"available": 0}, headers=bound)
    assert refused.status_code == 403
    assert (await client.get(f"/api/v1/services/{theirs['id']}", headers=admin)).json()["capacity"]["available"] == 2
    for body in ({"description": "changed"}, {"active": False}):
        assert (await client.patch(f"/api/v1/organisations/{other['id']}", json=body, headers=bound)).status_code == 403
    after = (await client.get(f"/api/v1/organisations/{other['id']}", headers=admin)).json()
    assert after["active"] is True and after.get("description") != "changed"
    assert (await client.patch(f"/api/v1/organisations/{member['id']}", json={"description": "changed"}, headers=bound)).status_code == 200

    # Referrals: those offered to a member, not those offered only to others (a 404, as for anyone who may not read it).
    to_member = await refer(client, institution, service_ids=[mine["id"]])
    to_other = await refer(client, institution, service_ids=[theirs["id"]])
    assert [r["id"] for r in (await client.get("/api/v1/referrals", headers=bound)).json()["items"]] == [to_member["id"]]
    assert (await client.get(f"/api/v1/referrals/{to_member['id']}", headers=bound)).status_code == 200
    assert (await client.get(f"/api/v1/referrals/{to_other['id']}", headers=bound)).status_code == 404
    assert (await client.post(f"/api/v1/referrals/{to_other['id']}/cancel", json={}, headers=bound)).status_code == 404
    # Another's offers cannot be answered on its behalf nor contested.
    offer = to_other["offers"][0]["id"]
    assert (await client.post(f"/api/v1/offers/{offer}/decline", json={"reason": "other"}, headers=bound)).status_code == 403
    assert (await client.get(f"/api/v1/referrals/{to_other['id']}", headers=admin)).json()["offers"][0]["status"] == "pending"

    # A referral offered to a member and to another: once the other accepted, its contact and arrival instructions
    # (a confidential shelter's meeting point) are not the bound secretariat's to see; the admin sees them.
    both = await refer(client, institution, service_ids=[mine["id"], theirs["id"]], mode="parallel")
    other_ngo = tokens.make("ngo", organisation=other["id"])
    theirs_offer = next(o["id"] for o in both["offers"] if o["service_id"] == theirs["id"])
    accepted = await client.post(f"/api/v1/offers/{theirs_offer}/accept", json={"arrival_instructions": "Poarta din spate, ora 10"},
                                 headers=other_ngo)  # fmt: skip
    assert accepted.status_code == 200, accepted.text
    view = (await client.get(f"/api/v1/referrals/{both['id']}", headers=bound)).json()
    assert view["provider_contacts"] == [] and view["officer_contact"] is None and "Poarta" not in str(view)
    assert [c["organisation_id"] for c in (await client.get(f"/api/v1/referrals/{both['id']}", headers=admin)).json()["provider_contacts"]] == [other["id"]]

    # Networks through the API: only its own, and a member stays in at least one of them.
    moved = await client.patch(f"/api/v1/organisations/{member['id']}", json={"networks": ["protect", "ngo15"]}, headers=bound)
    assert moved.status_code == 403 and moved.json()["extra"][0]["key"] == "networks"
    left = await client.patch(f"/api/v1/organisations/{member['id']}", json={"networks": []}, headers=bound)
    assert left.status_code == 422 and left.json()["extra"][0]["key"] == "networks"
    outside = await client.post("/api/v1/organisations", json={"name": "Asociația Nouă", "networks": ["ngo15"]}, headers=bound)
    assert outside.status_code == 403
    assert (await client.get(f"/api/v1/organisations/{member['id']}", headers=admin)).json()["networks"] == ["protect"]

    # Notifications: its members' (the offer e-mails of both referrals went out; the admin sees both).
    notified = {n["organisation_id"] for n in (await client.get("/api/v1/notifications?limit=500", headers=bound)).json()["items"]}
    everyone = {n["organisation_id"] for n in (await client.get("/api/v1/notifications?limit=500", headers=admin)).json()["items"]}
    assert notified == {member["id"]} and {member["id"], other["id"]} <= everyone


async def test_a_bound_secretariat_asks_its_members_only_in_a_second_round(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    """Asking more providers on the institution's behalf, a secretariat bound to networks asks its members, never
    another network's organisations (the profile goes to whom it asks)."""
    from tests.integration.test_needs import counselling, need, residential
    from tests.integration.test_needs import refer as refer_boy

    home = await make_org(client, admin, "Casa Copiilor", networks=["protect"], referral_email="casa@example.org")
    await make_service(client, admin, home["id"], residential("Casa de tip familial"))
    other = await make_org(client, admin, "Centrul Altă Rețea", networks=["ngo15"], referral_email="alta@example.org")
    referral = await refer_boy(client, institution, mode="parallel")
    assert need(referral, "psychological_counselling")["status"] == "unplaced"
    await make_service(client, admin, other["id"], counselling("Consiliere altă rețea"))  # fits, but outside protect
    token, _ = in_app(client, create_token, role="secretariat", name="ProTECT secretariat", networks=["protect"])
    bound = bearer(token)
    path = f"/api/v1/referrals/{referral['id']}/offers"
    refused = await client.post(path, json={"need": "psychological_counselling"}, headers=bound)
    assert refused.status_code == 409, refused.text  # nobody in its networks
    member = await make_org(client, admin, "Centrul Membru", networks=["protect"], referral_email="membru@example.org")
    mine = await make_service(client, admin, member["id"], counselling("Consiliere membru"))
    resp = await client.post(path, json={"need": "psychological_counselling"}, headers=bound)
    assert resp.status_code == 200, resp.text
    assert [o["service_id"] for o in need(resp.json(), "psychological_counselling")["offers"]] == [mine["id"]]
