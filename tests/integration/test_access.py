"""Ending access: admins list and revoke tokens; a deactivated organisation's tokens and offers end at once."""

from __future__ import annotations

from typing import Any

from referralnet.cli import main
from tests.conftest import Tokens
from tests.integration.test_referrals import network, refer


async def test_admin_lists_and_revokes_a_token_refused_on_its_next_request(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    officer = tokens.make("institution", name="IPJ Iași officer")
    assert (await client.get("/api/v1/referrals", headers=officer)).status_code == 200
    listed = (await client.get("/api/v1/tokens", headers=admin)).json()
    mine = next(t for t in listed["items"] if t["name"] == "IPJ Iași officer")
    assert mine["role"] == "institution" and mine["revoked_at"] is None and mine["prefix"].startswith("rn_")
    assert all("token_hash" not in t for t in listed["items"])

    resp = await client.delete(f"/api/v1/tokens/{mine['id']}", headers=admin)
    assert resp.status_code == 200 and resp.json()["revoked_at"] is not None
    refused = await client.get("/api/v1/referrals", headers=officer)
    assert refused.status_code == 401 and refused.json()["extra"][0]["key"] == "Authorization"
    # Idempotent: the first revocation time is kept.
    again = await client.delete(f"/api/v1/tokens/{mine['id']}", headers=admin)
    assert again.json()["revoked_at"] == resp.json()["revoked_at"]
    active = (await client.get("/api/v1/tokens?include_revoked=false", headers=admin)).json()["items"]
    assert mine["id"] not in [t["id"] for t in active]
    # Other tokens go on working.
    assert (await client.get("/api/v1/referrals", headers=institution)).status_code == 200


async def test_only_admins_manage_tokens_and_unknown_token_is_404(
    client: Any, admin: dict[str, str], secretariat: dict[str, str], institution: dict[str, str]
) -> None:
    assert (await client.get("/api/v1/tokens", headers=secretariat)).status_code == 403
    assert (await client.delete("/api/v1/tokens/1", headers=institution)).status_code == 403
    missing = await client.delete("/api/v1/tokens/99999", headers=admin)
    assert missing.status_code == 404 and missing.json()["extra"][0]["key"] == "id"


async def test_deactivated_organisation_token_refused_and_open_offers_withdrawn(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    net = await network(client, tokens, admin, n=2)
    service_id = net.services[0]["id"]
    referral = await refer(client, institution, mode="parallel", service_ids=[service_id, net.services[1]["id"]])
    cap = await client.put(f"/api/v1/services/{service_id}/capacity", json={"available": 1}, headers=net.ngos[0])
    assert cap.status_code == 200

    off = await client.patch(f"/api/v1/organisations/{net.orgs[0]['id']}", json={"active": False}, headers=admin)
    assert off.status_code == 200 and off.json()["active"] is False
    refused = await client.put(f"/api/v1/services/{service_id}/capacity", json={"available": 2}, headers=net.ngos[0])
    assert refused.status_code == 401
    assert (await client.get(f"/api/v1/services/{service_id}", headers=admin)).json()["capacity"]["available"] == 1

    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    assert [o["status"] for o in view["offers"]] == ["withdrawn", "pending"]
    withdrawn = next(e for e in view["history"] if e["kind"] == "offer_withdrawn")
    assert "deactivated" in withdrawn["reason"] and withdrawn["offer_id"] == view["offers"][0]["id"]
    assert view["status"] == "open"  # the other provider may still accept
    # The other organisation's token is unaffected.
    assert (await client.get("/api/v1/referrals", headers=net.ngos[1])).status_code == 200


async def test_last_open_offer_withdrawn_by_deactivation_leaves_the_referral_unplaced(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    net = await network(client, tokens, admin, n=1)
    referral = await refer(client, institution, service_ids=[net.services[0]["id"]])
    await client.patch(f"/api/v1/organisations/{net.orgs[0]['id']}", json={"active": False}, headers=admin)
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=institution)).json()
    assert view["status"] == "unplaced"


def test_cli_token_list_and_revoke(tmp_path: Any, capsys: Any, monkeypatch: Any) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    monkeypatch.setenv("REFERRALNET_DATABASE_URL", url)
    assert main(["migrate"]) == 0
    assert main(["token", "create", "--role", "admin", "--name", "night shift"]) == 0
    capsys.readouterr()
    assert main(["token", "list"]) == 0
    out = capsys.readouterr().out
    assert "night shift" in out and "admin" in out
    token_id = int(out.splitlines()[1].split()[0])
    assert main(["token", "revoke", str(token_id)]) == 0
    assert "revoked admin token" in capsys.readouterr().out
    assert main(["token", "list", "--active"]) == 0
    assert "night shift" not in capsys.readouterr().out
    assert main(["token", "revoke", "4242"]) == 2
    assert "not found" in capsys.readouterr().err


async def test_no_free_place_decline_sets_free_places_to_zero_with_history(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    net = await network(client, tokens, admin, n=2, available=3)
    full, other = net.services[0]["id"], net.services[1]["id"]
    referral = await refer(client, institution, mode="parallel", service_ids=[full, other])
    first, second = referral["offers"]
    resp = await client.post(f"/api/v1/offers/{first['id']}/decline", json={"reason": "no_capacity"}, headers=net.ngos[0])
    assert resp.status_code == 200, resp.text
    service = (await client.get(f"/api/v1/services/{full}", headers=admin)).json()
    assert service["capacity"]["available"] == 0
    history = (await client.get(f"/api/v1/services/{full}/capacity/history", headers=net.ngos[0])).json()["items"]
    assert history[0]["previous_available"] == 3 and history[0]["available"] == 0
    assert history[0]["cause"] == "offer_declined" and history[0]["offer_id"] == first["id"]
    # The next match does not rank the full service first: it is excluded as full.
    match = (await client.post("/api/v1/matches", json={"profile": referral_profile()}, headers=institution)).json()
    ids = [c["service_id"] for c in match["candidates"]]
    assert other in ids and full not in ids
    assert match["excluded"]["by_constraint"] == {"full": 1}

    # A reservation and its release appear in the capacity history as well.
    assert (await client.post(f"/api/v1/offers/{second['id']}/accept", headers=net.ngos[1])).status_code == 200
    cancel = await client.post(f"/api/v1/referrals/{referral['id']}/cancel", json={"reason": "plans changed"}, headers=institution)
    assert cancel.status_code == 200, cancel.text
    rows = (await client.get(f"/api/v1/services/{other}/capacity/history", headers=net.ngos[1])).json()["items"]
    assert [(r["cause"], r["previous_available"], r["available"], r["offer_id"]) for r in rows[:2]] == [
        ("place_released", 2, 3, second["id"]),
        ("offer_accepted", 3, 2, second["id"]),
    ]


async def test_other_decline_reasons_leave_capacity_alone(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    net = await network(client, tokens, admin, n=1, available=3)
    referral = await refer(client, institution, service_ids=[net.services[0]["id"]])
    offer = referral["offers"][0]
    await client.post(f"/api/v1/offers/{offer['id']}/decline", json={"reason": "not_eligible"}, headers=net.ngos[0])
    assert (await client.get(f"/api/v1/services/{net.services[0]['id']}", headers=admin)).json()["capacity"]["available"] == 3


def referral_profile() -> dict[str, Any]:
    import copy

    from tests.integration.helpers import PROFILE

    return copy.deepcopy(PROFILE)
