"""What a provider reads of a referral it was asked for (both engines): its own offers and their history, never
another provider's offers, texts or people, nor a placement's texts it is not party to."""

from __future__ import annotations

from typing import Any

from tests.conftest import Tokens
from tests.integration.test_referrals import network, refer

DECLINE_TEXT = "nu avem personal de noapte luna aceasta"
ARRIVAL_NOTE = "a venit cu ofițerul, seara"
OUTCOME_TEXT = "consilierea a început în a doua săptămână"


async def test_a_provider_reads_its_own_offers_only(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    net = await network(client, tokens, admin, n=3)
    ids = [s["id"] for s in net.services]
    referral = await refer(client, institution, mode="parallel", service_ids=ids)
    first, second, third = referral["offers"]
    resp = await client.post(f"/api/v1/offers/{second['id']}/decline", json={"reason": "other", "text": DECLINE_TEXT}, headers=net.ngos[1])
    assert resp.status_code == 200, resp.text
    assert (await client.post(f"/api/v1/offers/{first['id']}/accept", headers=net.ngos[0])).status_code == 200  # third: withdrawn
    resp = await client.post(f"/api/v1/referrals/{referral['id']}/arrival", json={"note": ARRIVAL_NOTE}, headers=net.ngos[0])
    assert resp.status_code == 200, resp.text
    arrived = resp.json()
    assert [o["id"] for o in arrived["offers"]] == [first["id"]]  # the answer to the arrival is the provider's view too

    full = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=admin)).json()
    assert {o["id"] for o in full["offers"]} == {first["id"], second["id"], third["id"]}
    for i, own in enumerate((first, second, third)):
        seen = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=net.ngos[i])).json()
        assert [o["id"] for o in seen["offers"]] == [own["id"]]
        assert [o["id"] for n in seen["needs"] for o in n["offers"]] == [own["id"]]
        assert seen["queued_service_ids"] == [] and all(n["queued_service_ids"] == [] for n in seen["needs"])
        assert {e["offer_id"] for e in seen["history"]} <= {None, own["id"]}
        text = str(seen)
        for j, other in enumerate(net.orgs):
            if j != i:
                assert other["name"] not in text and f"Casa {j} coordinator" not in text, (i, j)
        assert (DECLINE_TEXT in text) == (i == 1)  # its own decline's text only
        assert (ARRIVAL_NOTE in text) == (i == 0)  # the accepting provider: party to the placement
        assert seen["status"] == "arrived" and seen["needs"][0]["status"] == "placed"
    own_accept = next(e for e in (await client.get(f"/api/v1/referrals/{referral['id']}", headers=net.ngos[0])).json()["history"]
                      if e["kind"] == "offer_accepted")  # fmt: skip
    assert own_accept["actor"] == "ngo:Casa 0 coordinator"
    withdrawn = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=net.ngos[2])).json()
    assert next(e for e in withdrawn["history"] if e["kind"] == "arrival_recorded")["actor"] == "provider"

    resp = await client.post(f"/api/v1/referrals/{referral['id']}/close", json={"outcome": "services_started", "text": OUTCOME_TEXT},
                             headers=institution)  # fmt: skip
    assert resp.status_code == 200, resp.text
    for i in range(3):
        seen = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=net.ngos[i])).json()
        assert (seen["outcome_text"] == OUTCOME_TEXT) == (i == 0) and seen["outcome"] == "services_started"
        assert (OUTCOME_TEXT in str(seen["history"])) == (i == 0)


async def test_two_providers_of_one_referral_read_only_their_own_placement(
    client: Any, tokens: Tokens, admin: dict[str, str], institution: dict[str, str]
) -> None:
    """Each provider reads the arrival note of its own placement only; the secretariat answering for one provider and
    a second round's services are not shown to the others."""
    from tests.integration.test_needs import counselling, home_and_talk, need
    from tests.integration.test_needs import refer as refer_boy

    p, home, _, talk = await home_and_talk(client, tokens, admin)
    other_talk, _ = await p.org("Centrul Doi", counselling("Consiliere doi"))
    view = await refer_boy(client, institution, mode="parallel")
    rid = view["id"]
    secretariat = tokens.make("secretariat", name="Ana")
    home_offer = need(view, "child_residential")["offers"][0]["id"]
    talk_offers = {o["organisation_id"]: o["id"] for o in need(view, "psychological_counselling")["offers"]}
    # The providers here have no e-mail or webhook: the secretariat calls them and records the answer on their behalf.
    resp = await client.post(f"/api/v1/offers/{talk_offers[talk]}/accept", headers=secretariat)
    assert resp.status_code == 200, resp.text
    withdrawn = (await client.get(f"/api/v1/referrals/{rid}", headers=admin)).json()["history"]
    assert any("on behalf of Centrul Sprijin" in e["actor"] for e in withdrawn if e["offer_id"] == talk_offers[other_talk])
    assert (await client.post(f"/api/v1/offers/{home_offer}/accept", headers=p.ngo[home])).status_code == 200
    note = "a venit la consiliere cu ofițerul"
    resp = await client.post(f"/api/v1/referrals/{rid}/arrival", json={"need": "psychological_counselling", "note": note}, headers=institution)
    assert resp.status_code == 200, resp.text
    seen_by = {org: (await client.get(f"/api/v1/referrals/{rid}", headers=p.ngo[org])).json() for org in (home, talk, other_talk)}
    assert note in str(seen_by[talk]["history"]) and note not in str(seen_by[home]["history"])  # its own placement's note only
    for org, seen in seen_by.items():
        names = {"Centrul Sprijin", "Casa Copiilor", "Centrul Doi"} - {next(o["organisation_name"] for o in seen["offers"])}
        assert not any(name in str(seen) for name in names), org
        assert all(e.get("service_ids", []) == [] for e in seen["history"] if e["kind"] == "offers_added")
