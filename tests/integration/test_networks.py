"""Networks as records: members through the API and the organisations' ``networks`` field, codes checked
against the table, secretariat people and tokens bound to networks, and ``scope_for`` (both engines)."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from referralnet.accounts import sessions
from referralnet.accounts.schemas import Actor
from referralnet.accounts.services import actor_for_token, create_token
from referralnet.clock import FixedClock
from referralnet.directory.networks import Scope, scope_for
from referralnet.errors import BadParameter, Forbidden, InvalidInput
from referralnet.tables import NetworkMember
from tests.conftest import Tokens, bearer, in_app
from tests.integration.helpers import make_org
from tests.integration.test_people import PASSWORD, add_person


async def _members(client: AsyncTestClient[Any], headers: dict[str, str]) -> dict[str, set[str]]:
    resp = await client.get("/api/v1/networks", headers=headers)
    assert resp.status_code == 200, resp.text
    return {n["code"]: {m["slug"] for m in n["members"]} for n in resp.json()["items"]}


async def test_the_vocabulary_networks_exist_and_organisations_join_them_through_their_networks_field(
    client: AsyncTestClient[Any], admin: dict[str, str]
) -> None:
    listed = (await client.get("/api/v1/networks", headers=admin)).json()["items"]
    assert {n["code"]: n["name_ro"] for n in listed} == {
        "ngo15": "Rețeaua informală a 15 ONG-uri (2020)", "protect": "Platforma ProTECT",
    }  # fmt: skip
    org = await make_org(client, admin, "Asociația Alfa", networks=["protect", "ngo15"])
    assert sorted(org["networks"]) == ["ngo15", "protect"]
    assert await _members(client, admin) == {"protect": {org["slug"]}, "ngo15": {org["slug"]}}
    patched = await client.patch(f"/api/v1/organisations/{org['id']}", json={"networks": ["ngo15"]}, headers=admin)
    assert patched.status_code == 200 and patched.json()["networks"] == ["ngo15"]
    assert await _members(client, admin) == {"protect": set(), "ngo15": {org["slug"]}}
    rows = in_app(client, NetworkMember.select(NetworkMember.network.code).where(NetworkMember.organisation == org["id"]).run)
    assert [r["network.code"] for r in rows] == ["ngo15"]
    only = await client.get("/api/v1/organisations", params={"network": "ngo15"}, headers=admin)
    assert [o["slug"] for o in only.json()["items"]] == [org["slug"]]


async def test_an_unknown_network_code_is_refused_naming_the_field_and_the_nearest_code(
    client: AsyncTestClient[Any], admin: dict[str, str]
) -> None:
    resp = await client.post("/api/v1/organisations", json={"name": "Asociația Beta", "networks": ["protekt"]}, headers=admin)
    assert resp.status_code == 422, resp.text
    assert "networks" in resp.text and "did you mean protect?" in resp.text
    listed = await client.get("/api/v1/organisations", params={"network": "ngo-15"}, headers=admin)
    assert listed.status_code == 400 and "network" in listed.text and "ngo15" in listed.text
    # A network an admin adds is valid at once.
    created = await client.post("/api/v1/networks", json={"code": "south", "name_en": "Southern platform", "name_ro": "Platforma de sud"},
                                headers=admin)  # fmt: skip
    assert created.status_code == 201 and created.json()["members"] == []
    again = await client.post("/api/v1/networks", json={"code": "south", "name_en": "x", "name_ro": "x"}, headers=admin)
    assert again.status_code == 409
    org = await make_org(client, admin, "Asociația Gama", networks=["south"])
    assert org["networks"] == ["south"]
    vocabulary = (await client.get("/api/v1/vocabulary")).json()
    assert "south" in {n["code"] for n in vocabulary["networks"]}
    # HSDS has terms for the vocabulary's networks only: a new network's member still exports, without a dangling term.
    hsds = await client.get("/hsds/organizations", headers=admin)
    assert hsds.status_code == 200 and "Asociația Gama" in hsds.text


async def test_admins_change_members_and_an_ngo_cannot_move_its_organisation_between_networks(
    client: AsyncTestClient[Any], admin: dict[str, str], tokens: Tokens
) -> None:
    org = await make_org(client, admin, "Asociația Delta")
    ngo = tokens.make("ngo", organisation=org["id"])
    sec = tokens.make("secretariat")
    assert (await client.put(f"/api/v1/networks/protect/members/{org['id']}", headers=sec)).status_code == 403
    added = await client.put(f"/api/v1/networks/protect/members/{org['id']}", headers=admin)
    assert added.status_code == 200 and [m["id"] for m in added.json()["members"]] == [org["id"]]
    assert (await client.get(f"/api/v1/organisations/{org['id']}", headers=admin)).json()["networks"] == ["protect"]
    left = await client.patch(f"/api/v1/organisations/{org['id']}", json={"networks": []}, headers=ngo)
    assert left.status_code == 403 and "networks" in left.text
    same = await client.patch(f"/api/v1/organisations/{org['id']}", json={"networks": ["protect"], "short_name": "Delta"}, headers=ngo)
    assert same.status_code == 200
    removed = await client.delete(f"/api/v1/networks/protect/members/{org['id']}", headers=admin)
    assert removed.status_code == 200 and removed.json()["members"] == []
    assert (await client.get(f"/api/v1/organisations/{org['id']}", headers=admin)).json()["networks"] == []
    unknown = await client.put(f"/api/v1/networks/protekt/members/{org['id']}", headers=admin)
    assert unknown.status_code == 400 and "protect" in unknown.text


async def test_scope_for_an_unbound_a_bound_secretariat_and_an_admin(client: AsyncTestClient[Any], admin: dict[str, str]) -> None:
    a = await make_org(client, admin, "Asociația Protect", networks=["protect"])
    b = await make_org(client, admin, "Asociația Cincisprezece", networks=["ngo15"])
    both = await make_org(client, admin, "Asociația Amândouă", networks=["protect", "ngo15"])
    unbound = Actor(token_id=1, name="sec", role="secretariat")
    bound = Actor(token_id=2, name="sec protect", role="secretariat", networks=("protect",))
    root = Actor(token_id=3, name="root", role="admin")
    assert in_app(client, scope_for, unbound) == Scope()
    assert in_app(client, scope_for, root) == Scope()
    mine = in_app(client, scope_for, bound)
    assert mine == Scope(networks=("protect",), organisations=frozenset({a["id"], both["id"]}))
    assert mine.allows(a["id"]) and not mine.allows(b["id"]) and Scope().allows(b["id"])
    assert in_app(client, scope_for, unbound, "ngo15").organisations == frozenset({b["id"], both["id"]})
    assert in_app(client, scope_for, root, "ngo15").organisations == frozenset({b["id"], both["id"]})
    assert in_app(client, scope_for, bound, "protect") == mine
    with pytest.raises(Forbidden):
        in_app(client, scope_for, bound, "ngo15")
    with pytest.raises(BadParameter) as unknown:  # a query's value: 400, as the OpenAPI document says
        in_app(client, scope_for, unbound, "protekt")
    assert unknown.value.field == "network" and "did you mean protect?" in unknown.value.detail


async def test_a_secretariat_token_and_person_carry_their_networks(
    client: AsyncTestClient[Any], admin: dict[str, str], clock: FixedClock
) -> None:
    token, actor = in_app(client, create_token, role="secretariat", name="ProTECT secretariat", networks=["protect"])
    assert actor.networks == ("protect",)
    cache = client.app.state.token_cache
    for _ in range(2):  # the second answer comes from the token cache, networks and all
        assert in_app(client, actor_for_token, token, cache).networks == ("protect",)  # type: ignore[union-attr]
    assert set(await _members(client, bearer(token))) == {"protect"}  # a bound secretariat lists its own networks
    assert set(await _members(client, admin)) == {"protect", "ngo15"}
    with pytest.raises(InvalidInput) as wrong_role:
        in_app(client, create_token, role="admin", name="root", networks=["protect"])
    assert wrong_role.value.field == "network"
    with pytest.raises(InvalidInput) as unknown:
        in_app(client, create_token, role="secretariat", name="x", networks=["ngo-15"])
    assert unknown.value.field == "network" and "ngo15" in unknown.value.detail
    add_person(client, clock, email="coord@example.org")
    from referralnet.accounts import people

    in_app(client, people.create_person, email="bound@example.org", name="Ioana", role="secretariat", organisation=None,
           password=PASSWORD, now=clock.now(), networks=["ngo15"])  # fmt: skip
    session = in_app(client, sessions.sign_in, "bound@example.org", PASSWORD, "testclient", clock.now())
    assert session.actor.networks == ("ngo15",)
    assert in_app(client, sessions.actor_for_session, session.token, clock.now()).networks == ("ngo15",)  # type: ignore[union-attr]
    other = in_app(client, sessions.sign_in, "coord@example.org", PASSWORD, "testclient", clock.now())
    assert other.actor.networks == ()
    in_app(client, people.set_networks, "bound@example.org", ["protect", "ngo15"])  # the same session, its next request
    assert in_app(client, sessions.actor_for_session, session.token, clock.now()).networks == ("ngo15", "protect")  # type: ignore[union-attr]
    with pytest.raises(InvalidInput):
        in_app(client, people.set_networks, "coord@example.org", ["protekt"])
