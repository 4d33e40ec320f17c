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

    # Notifications: its members' (the offer e-mails of both referrals went out; the admin sees both).
    notified = {n["organisation_id"] for n in (await client.get("/api/v1/notifications?limit=500", headers=bound)).json()["items"]}
    everyone = {n["organisation_id"] for n in (await client.get("/api/v1/notifications?limit=500", headers=admin)).json()["items"]}
    assert notified == {member["id"]} and {member["id"], other["id"]} <= everyone
