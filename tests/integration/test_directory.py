"""Directory API: organisations, services, capacity, roles, confidentiality, validation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import Tokens
from tests.integration.helpers import make_org, make_service, shelter


async def test_health_and_vocabulary_are_public(client: Any) -> None:
    assert (await client.get("/health")).json()["status"] == "ok"
    vocab = (await client.get("/api/v1/vocabulary")).json()
    assert len(vocab["counties"]) == 42
    assert {t["code"] for t in vocab["service_types"]} >= {"residential_shelter", "place_of_safety", "aftercare"}
    cluj = next(c for c in vocab["counties"] if c["code"] == "RO-CJ")
    assert cluj["name"] == "Cluj" and cluj["seat"] == "Cluj-Napoca"
    locs = (await client.get("/api/v1/vocabulary/localities", params={"county": "RO-IS", "q": "pascani"})).json()
    assert locs["items"][0]["name"] == "Pașcani"


async def test_api_requires_a_valid_token(client: Any) -> None:
    assert (await client.get("/api/v1/organisations")).status_code == 401
    bad = await client.get("/api/v1/organisations", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["extra"][0]["key"] == "Authorization"


async def test_roles_guard_writes(client: Any, institution: dict[str, str], admin: dict[str, str]) -> None:
    resp = await client.post("/api/v1/organisations", json={"name": "X"}, headers=institution)
    assert resp.status_code == 403
    org = await make_org(client, admin, "Asociația Test")
    resp = await client.post(f"/api/v1/organisations/{org['id']}/services", json=shelter(), headers=institution)
    assert resp.status_code == 403


async def test_fuzzy_search_is_diacritics_insensitive(client: Any, admin: dict[str, str], institution: dict[str, str]) -> None:
    await make_org(client, admin, "Asociația Femeilor Românce din Italia")
    await make_org(client, admin, "Asociația eLiberare", short_name="eLiberare")
    await make_org(client, admin, "Fundația Micu Bogdan")
    await make_org(client, admin, "Asociația pentru Dezvoltarea Practicilor Alternative de Reintegrare și Educație", short_name="ADPARE")

    async def search(q: str) -> list[str]:
        resp = await client.get("/api/v1/organisations", params={"q": q}, headers=institution)
        assert resp.status_code == 200
        return [o["name"] for o in resp.json()["items"]]

    assert (await search("asociatia femeilor romance"))[0] == "Asociația Femeilor Românce din Italia"
    assert (await search("eliberare"))[0] == "Asociația eLiberare"
    assert (await search("micu bogdn"))[0] == "Fundația Micu Bogdan"
    assert (await search("adpare"))[0].endswith("Educație")
    assert await search("zzzz qqqq") == []


async def test_service_contract_and_confidential_site(client: Any, admin: dict[str, str], tokens: Tokens) -> None:
    org = await make_org(client, admin, "Asociația Casa")
    service = await make_service(client, admin, org["id"])
    assert service["type"] == "residential_shelter"
    assert service["capacity"] == {"unit": "beds", "total": 12, "available": 3, "updated_at": service["capacity_updated_at"]}
    site = service["sites"][0]
    assert site["address"] == "Strada Secretă 1" and site["lat"] is not None

    institution = tokens.make("institution")
    seen = (await client.get(f"/api/v1/services/{service['id']}", headers=institution)).json()
    hidden = seen["sites"][0]
    assert hidden["confidential"] is True
    assert hidden["county"] == "RO-B" and hidden["address"] is None and hidden["lat"] is None and hidden["lon"] is None
    listed = (await client.get("/api/v1/services", headers=institution)).json()
    assert listed["items"][0]["sites"][0]["address"] is None
    assert "Strada Secretă" not in (await client.get("/api/v1/services", headers=institution)).text

    owner = tokens.make("ngo", organisation=org["id"])
    assert (await client.get(f"/api/v1/services/{service['id']}", headers=owner)).json()["sites"][0]["address"] == "Strada Secretă 1"
    other = await make_org(client, admin, "Fundația Alta")
    stranger = tokens.make("ngo", organisation=other["id"])
    assert (await client.get(f"/api/v1/services/{service['id']}", headers=stranger)).json()["sites"][0]["address"] is None
    secretariat = tokens.make("secretariat")
    assert (await client.get(f"/api/v1/services/{service['id']}", headers=secretariat)).json()["sites"][0]["address"]


async def test_ngo_updates_own_capacity_only(client: Any, admin: dict[str, str], tokens: Tokens, clock: Any) -> None:
    mine = await make_org(client, admin, "Asociația Mea")
    theirs = await make_org(client, admin, "Asociația Lor")
    my_service = await make_service(client, admin, mine["id"])
    their_service = await make_service(client, admin, theirs["id"])
    ngo = tokens.make("ngo", organisation=mine["id"], name="coordinator")

    clock.advance(hours=2)
    resp = await client.put(f"/api/v1/services/{my_service['id']}/capacity", json={"available": 5}, headers=ngo)
    assert resp.status_code == 200, resp.text
    assert resp.json()["capacity"]["available"] == 5
    assert resp.json()["capacity_updated_at"].startswith("2026-03-02T11:00")

    resp = await client.put(f"/api/v1/services/{their_service['id']}/capacity", json={"available": 1}, headers=ngo)
    assert resp.status_code == 403
    assert (await client.get(f"/api/v1/services/{their_service['id']}", headers=ngo)).json()["capacity"]["available"] == 3

    resp = await client.put(f"/api/v1/services/{my_service['id']}/capacity", json={"available": 20, "total": 20}, headers=ngo)
    assert resp.status_code == 200 and resp.json()["capacity"]["total"] == 20

    history = (await client.get(f"/api/v1/services/{my_service['id']}/capacity/history", headers=ngo)).json()["items"]
    assert [(h["previous_available"], h["available"]) for h in history] == [(5, 20), (3, 5)]
    assert history[0]["actor"] == "ngo:coordinator"
    assert (await client.get(f"/api/v1/services/{their_service['id']}/capacity/history", headers=ngo)).status_code == 403


async def test_capacity_answer_is_the_service_as_read_afterwards(client: Any, admin: dict[str, str], tokens: Tokens, clock: Any) -> None:
    org = await make_org(client, admin, "Asociația Răspuns")
    two_sites = [
        {"county": "RO-B", "locality": "București", "address": "Strada Secretă 1", "confidential": True},
        {"county": "RO-IF", "locality": "Voluntari", "address": "Strada Deschisă 2", "confidential": False},
    ]
    unitless = await make_service(client, admin, org["id"], shelter(sites=two_sites, capacity=None))
    counted = await make_service(client, admin, org["id"])
    owner, stranger = tokens.make("ngo", organisation=org["id"]), tokens.make("institution")
    clock.advance(minutes=7)
    for service, body in [(unitless, {"available": 2}), (counted, {"available": 4, "total": 9}), (counted, {"available": 1})]:
        answer = await client.put(f"/api/v1/services/{service['id']}/capacity", json=body, headers=owner)
        assert answer.status_code == 200, answer.text
        # The answer is built from the row read before the update (SQLite), with the new figures.
        assert answer.json() == (await client.get(f"/api/v1/services/{service['id']}", headers=owner)).json()
        assert answer.json()["capacity"]["available"] == body["available"]
    again = (await client.get(f"/api/v1/services/{unitless['id']}", headers=stranger)).json()
    assert again["capacity"]["unit"] == "places" and [s["address"] for s in again["sites"]] == [None, "Strada Deschisă 2"]


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"available": -1}, 422, "available"),
        ({"available": 13}, 422, "available"),
        ({"available": 2, "total": 1}, 422, "available"),
        ({"available": "three"}, 422, "available"),
        ({"available": 2, "extra": 1}, 422, "extra"),
        ({}, 422, "available"),
    ],
)
async def test_bad_capacity_is_refused_and_changes_nothing(
    client: Any, admin: dict[str, str], body: dict[str, Any], status: int, field: str
) -> None:
    org = await make_org(client, admin, "Asociația Casa")
    service = await make_service(client, admin, org["id"])
    resp = await client.put(f"/api/v1/services/{service['id']}/capacity", json=body, headers=admin)
    assert resp.status_code == status, resp.text
    assert resp.json()["extra"][0]["key"] == field
    after = (await client.get(f"/api/v1/services/{service['id']}", headers=admin)).json()["capacity"]
    assert (after["available"], after["total"]) == (3, 12)


@pytest.mark.parametrize(
    ("patch", "status", "field"),
    [
        ({"type": "hotel"}, 422, "type"),
        ({"service_area": {"counties": ["RO-XX"]}}, 422, "service_area.counties[0]"),
        ({"sites": [{"county": "RO-ZZ"}]}, 422, "sites[0].county"),
        ({"sites": [{"county": "RO-IS", "locality": "Atlantis"}]}, 422, "sites[0].locality"),
        ({"eligibility": {"age_min": 18, "age_max": 10}}, 422, "eligibility.age_max"),
        ({"eligibility": {"genders": ["robot"]}}, 422, "eligibility.genders[0]"),
        ({"eligibility": {"exploitation_forms": ["fishing"]}}, 422, "eligibility.exploitation_forms[0]"),
        ({"capacity": {"unit": "beds", "total": 2, "available": 3}}, 422, "capacity.available"),
        ({"capacity": {"unit": "beds", "total": -2}}, 422, "capacity.total"),
        ({"descripton": "typo"}, 422, "descripton"),
        ({"name": 5}, 422, "name"),
    ],
)
async def test_bad_service_is_refused_with_its_field(
    client: Any, admin: dict[str, str], patch: dict[str, Any], status: int, field: str
) -> None:
    org = await make_org(client, admin, "Asociația Casa")
    resp = await client.post(f"/api/v1/organisations/{org['id']}/services", json=shelter(**patch), headers=admin)
    assert resp.status_code == status, resp.text
    assert resp.json()["extra"][0]["key"] == field
    listed = (await client.get("/api/v1/services", headers=admin)).json()
    assert listed["total"] == 0


async def test_malformed_json_and_unknown_ids(client: Any, admin: dict[str, str]) -> None:
    resp = await client.post(
        "/api/v1/organisations", content=b'{"name": ', headers={**admin, "Content-Type": "application/json"}
    )
    assert resp.status_code == 400
    assert (await client.get("/api/v1/organisations/999", headers=admin)).status_code == 404
    assert (await client.get("/api/v1/services/999", headers=admin)).status_code == 404
    resp = await client.put("/api/v1/services/999/capacity", json={"available": 1}, headers=admin)
    assert resp.status_code == 404
    resp = await client.post("/api/v1/organisations/999/services", json=shelter(), headers=admin)
    assert resp.status_code == 404
    assert (await client.get("/api/v1/organisations", headers=admin)).json()["total"] == 0


async def test_patch_organisation_and_service(client: Any, admin: dict[str, str], tokens: Tokens) -> None:
    org = await make_org(client, admin, "Asociația Casa")
    service = await make_service(client, admin, org["id"])
    ngo = tokens.make("ngo", organisation=org["id"])
    resp = await client.patch(f"/api/v1/organisations/{org['id']}", json={"website": "https://casa.example"}, headers=ngo)
    assert resp.status_code == 200 and resp.json()["website"] == "https://casa.example"
    assert (await client.patch(f"/api/v1/organisations/{org['id']}", json={"active": False}, headers=ngo)).status_code == 403
    resp = await client.patch(
        f"/api/v1/services/{service['id']}",
        json={"sites": [{"county": "RO-IS", "locality": "Pașcani"}], "service_area": {"national": True}},
        headers=ngo,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["sites"][0]["locality"] == "Pașcani" and body["service_area"]["national"] is True
    assert body["capacity"]["available"] == 3


async def test_deactivated_records_are_read_only_by_those_who_manage_them(
    client: Any, admin: dict[str, str], tokens: Tokens, institution: dict[str, str]
) -> None:
    """As the lists leave them out: a deactivated organisation and its services answer 404 to other readers by id."""
    org = await make_org(client, admin, "Asociația Închisă")
    service = await make_service(client, admin, org["id"])
    own = tokens.make("ngo", organisation=org["id"])
    other = tokens.make("ngo", organisation=(await make_org(client, admin, "Asociația Alta"))["id"])
    for path in (f"/api/v1/organisations/{org['id']}", f"/api/v1/services/{service['id']}"):
        assert (await client.get(path, headers=institution)).status_code == 200
    assert (await client.patch(f"/api/v1/organisations/{org['id']}", json={"active": False}, headers=admin)).status_code == 200
    listed = {reader: [o["id"] for o in (await client.get("/api/v1/organisations?include_inactive=true", headers=headers)).json()["items"]]
              for reader, headers in (("institution", institution), ("admin", admin))}  # fmt: skip
    assert org["id"] not in listed["institution"] and org["id"] in listed["admin"]
    for path in (f"/api/v1/organisations/{org['id']}", f"/api/v1/services/{service['id']}"):
        for reader in (institution, other):
            assert (await client.get(path, headers=reader)).status_code == 404, path
        assert (await client.get(path, headers=admin)).status_code == 200, path  # (its own tokens are refused while it is)
    # A deactivated service of an active organisation likewise.
    assert (await client.patch(f"/api/v1/organisations/{org['id']}", json={"active": True}, headers=admin)).status_code == 200
    assert (await client.patch(f"/api/v1/services/{service['id']}", json={"active": False}, headers=admin)).status_code == 200
    assert (await client.get(f"/api/v1/services/{service['id']}", headers=institution)).status_code == 404
    assert (await client.get(f"/api/v1/services/{service['id']}", headers=own)).json()["active"] is False


async def test_service_filters(client: Any, admin: dict[str, str]) -> None:
    org = await make_org(client, admin, "Asociația Casa")
    await make_service(client, admin, org["id"])
    full = shelter(name="Full", capacity={"unit": "beds", "total": 4, "available": 0}, service_area={"counties": ["RO-CJ"]}, sites=[])
    await make_service(client, admin, org["id"], full)
    counsel = {"type": "psychological_counselling", "name": "Counselling", "service_area": {"national": True}}
    await make_service(client, admin, org["id"], counsel)

    async def names(**params: Any) -> list[str]:
        resp = await client.get("/api/v1/services", params=params, headers=admin)
        assert resp.status_code == 200, resp.text
        return sorted(s["name"] for s in resp.json()["items"])

    assert await names(type="residential_shelter") == ["Casa exemplu", "Full"]
    assert await names(has_capacity="true") == ["Casa exemplu"]
    assert await names(county="RO-CJ") == ["Counselling", "Full"]
    assert await names(county="RO-B", exploitation_form="begging") == ["Counselling"]
    assert await names(limit=1, offset=1) == ["Full"]
    assert (await client.get("/api/v1/services", params={"county": "RO-XX"}, headers=admin)).status_code == 400


async def test_list_page_items_are_the_services_own_answers(client: Any, admin: dict[str, str], tokens: Tokens) -> None:
    # The page builds its items from its own read (on SQLite, SQLite's values without Piccolo's converters);
    # every item must be what the service's own GET answers, for each viewer of confidential sites.
    org = await make_org(client, admin, "Asociația Casa")
    other = await make_org(client, admin, "Fundația Alta")
    await make_service(client, admin, org["id"])
    two_sites = [
        {"county": "RO-IS", "locality": "Iași", "address": "Strada Deschisă 2", "lat": 47.16, "lon": 27.58},
        {"county": "RO-CJ", "address": "Strada Ascunsă 3", "lat": 46.77, "lon": 23.59, "confidential": True},
    ]
    await make_service(client, admin, org["id"], shelter(name="Two sites", sites=two_sites, service_area={"national": True}))
    await make_service(client, admin, other["id"], shelter(name="No sites", sites=[], capacity=None, sources=[{"ref": "register", "url": "https://example.org/r"}]))
    hidden = await make_service(client, admin, org["id"], shelter(name="Paused"))
    resp = await client.patch(f"/api/v1/services/{hidden['id']}", json={"active": False}, headers=admin)
    assert resp.status_code == 200, resp.text
    viewers = {
        "institution": tokens.make("institution"),
        "owner": tokens.make("ngo", organisation=org["id"]),
        "stranger": tokens.make("ngo", organisation=other["id"]),
        "admin": admin,
    }
    for who, headers in viewers.items():
        for params in ({}, {"county": "RO-CJ"}, {"limit": 1, "offset": 1}):
            listed = await client.get("/api/v1/services", params=params, headers=headers)
            assert listed.status_code == 200, listed.text
            items = listed.json()["items"]
            assert items, (who, params)
            for item in items:
                own = await client.get(f"/api/v1/services/{item['id']}", headers=headers)
                assert json.dumps(item) == json.dumps(own.json()), (who, params)  # text: 1 == True in Python
        names = {s["name"] for s in (await client.get("/api/v1/services", headers=headers)).json()["items"]}
        assert ("Paused" in names) is (who in ("owner", "admin")), who


async def test_one_service_reads_as_its_item_in_the_list_for_each_reader(
    client: Any, admin: dict[str, str], institution: dict[str, str], tokens: Tokens
) -> None:
    """One service and the list page are read by different statements (a row per site for one service; on
    PostgreSQL the list's sites in an array): both give the same answer, sites, their order and what each
    reader may see of a confidential address included."""
    org = await make_org(client, admin, "Asociația Două Case")
    two_sites = [
        {"county": "RO-B", "locality": "București", "address": "Strada Secretă 1", "confidential": True},
        {"county": "RO-IF", "locality": "Voluntari", "address": "Strada Publică 2", "confidential": False},
    ]
    ids = [
        (await make_service(client, admin, org["id"], body))["id"]
        for body in (shelter(sites=[]), shelter(), shelter(sites=two_sites))
    ]
    owner = tokens.make("ngo", organisation=org["id"])
    seen: dict[str, list[Any]] = {}
    for who, headers in (("admin", admin), ("owner", owner), ("institution", institution)):
        resp = await client.get(f"/api/v1/services?organisation_id={org['id']}", headers=headers)
        assert resp.status_code == 200, resp.text
        listed = {item["id"]: item for item in resp.json()["items"]}
        for service_id in ids:
            one = await client.get(f"/api/v1/services/{service_id}", headers=headers)
            assert one.status_code == 200, one.text
            assert one.json() == listed[service_id]
        seen[who] = [site.get("address") for site in listed[ids[2]]["sites"]]
    assert seen["owner"] == seen["admin"] == ["Strada Secretă 1", "Strada Publică 2"]
    assert seen["institution"] == [None, "Strada Publică 2"]
    missing = await client.get(f"/api/v1/services/{max(ids) + 1000}", headers=admin)
    assert missing.status_code == 404, missing.text
