"""The HSDS read API: paging at the edges, filters, visibility, and no confidential address for any role."""

from __future__ import annotations

from typing import Any

import pytest

from referralnet.clock import FixedClock
from referralnet.directory.seed import seed
from referralnet.interop.taxonomy import term_id, uid
from tests.conftest import REPO, Tokens, in_app
from tests.hsds_validation import errors
from tests.integration.helpers import make_org, make_service, shelter

SECRET = {"county": "RO-IS", "locality": "Iași", "address": "Strada Secretă 1", "lat": 47.123456, "lon": 27.654321, "confidential": True}


@pytest.fixture
async def directory(client: Any, clock: FixedClock, admin: dict[str, str]) -> dict[str, Any]:
    in_app(client, seed, REPO / "data" / "organisations", clock)
    org = await make_org(client, admin, "Asociația Test Confidențial", slug="test-confidential")
    service = await make_service(client, admin, org["id"], shelter(sites=[SECRET]))
    return {"org": org, "service": service}


async def test_paging_fields_at_the_edges(client: Any, directory: Any, institution: dict[str, str]) -> None:
    total = (await client.get("/hsds/services", params={"per_page": 500}, headers=institution)).json()["total_items"]
    assert total >= 3
    per_page = 2
    pages = -(-total // per_page)
    first = (await client.get("/hsds/services", params={"per_page": per_page}, headers=institution)).json()
    assert (first["page_number"], first["size"], first["first_page"], first["last_page"], first["empty"]) == (1, 2, True, False, False)
    assert first["total_pages"] == pages and first["total_items"] == total
    last = (await client.get("/hsds/services", params={"per_page": per_page, "page": pages}, headers=institution)).json()
    assert last["last_page"] and not last["first_page"] and last["size"] == total - per_page * (pages - 1) and not last["empty"]
    beyond = (await client.get("/hsds/services", params={"per_page": per_page, "page": pages + 1}, headers=institution)).json()
    assert beyond["empty"] and beyond["size"] == 0 and beyond["contents"] == [] and beyond["last_page"]
    assert beyond["total_items"] == total
    nothing = (await client.get("/hsds/services", params={"search": "zzzz nothing like it"}, headers=institution)).json()
    assert nothing == {"total_items": 0, "total_pages": 0, "page_number": 1, "size": 0, "first_page": True,
                       "last_page": True, "empty": True, "contents": []}  # fmt: skip
    bad = await client.get("/hsds/services", params={"page": 0}, headers=institution)
    assert bad.status_code == 400


async def test_filters_and_single_objects_validate(client: Any, directory: Any, institution: dict[str, str]) -> None:
    shelter_term = term_id("service_type", "residential_shelter")
    ro_term = term_id("service_type", "residential_shelter", "ro")
    found = (await client.get("/hsds/services", params={"taxonomy_term_id": shelter_term}, headers=institution)).json()
    assert found["total_items"] >= 1
    assert found == (await client.get("/hsds/services", params={"taxonomy_term_id": ro_term}, headers=institution)).json()
    org_id = uid("organization", "test-confidential")
    mine = (await client.get("/hsds/services", params={"organization_id": org_id}, headers=institution)).json()
    assert mine["total_items"] == 1
    service = (await client.get(f"/hsds/services/{mine['contents'][0]['id']}", headers=institution)).json()
    assert not errors("compiled_service", service)
    assert (await client.get("/hsds/services", params={"search": "confidential"}, headers=institution)).json()["total_items"] == 1
    later = (await client.get("/hsds/services", params={"modified_after": "2030-01-01T00:00:00Z"}, headers=institution)).json()
    assert later["empty"]
    org = (await client.get(f"/hsds/organizations/{org_id}", headers=institution)).json()
    assert org["name"] == "Asociația Test Confidențial" and len(org["services"]) == 1
    assert (await client.get("/hsds/organizations/00000000-0000-0000-0000-000000000000", headers=institution)).status_code == 404
    orgs = (await client.get("/hsds/organizations", params={"search": "eliberare"}, headers=institution)).json()
    assert orgs["contents"][0]["alternate_name"] == "eLiberare"
    terms = (await client.get("/hsds/taxonomy_terms", params={"per_page": 500}, headers=institution)).json()
    assert {t["language"] for t in terms["contents"]} == {"en", "ro"}
    assert (await client.get("/hsds/taxonomies", headers=institution)).json()["total_items"] >= 10


@pytest.mark.parametrize("role", ["institution", "ngo", "secretariat", "admin"])
async def test_no_confidential_address_for_any_role(client: Any, directory: Any, tokens: Tokens, role: str) -> None:
    headers = tokens.make(role, organisation=directory["org"]["id"] if role == "ngo" else None)
    blobs = [
        (await client.get("/hsds/services", params={"per_page": 500}, headers=headers)).text,
        (await client.get("/hsds/organizations", params={"per_page": 500}, headers=headers)).text,
        (await client.get(f"/hsds/organizations/{uid('organization', 'test-confidential')}", headers=headers)).text,
    ]
    for blob in blobs:
        assert "Secretă" not in blob and "47.1234" not in blob and "27.6543" not in blob
    assert "Confidential site" in blobs[0]


async def test_needs_a_token_and_hides_inactive_services(client: Any, directory: Any, admin: dict[str, str], institution: dict[str, str]) -> None:
    assert (await client.get("/hsds/services")).status_code == 401
    resp = await client.patch(f"/api/v1/services/{directory['service']['id']}", json={"active": False}, headers=admin)
    assert resp.status_code == 200
    org_id = uid("organization", "test-confidential")
    assert (await client.get("/hsds/services", params={"organization_id": org_id}, headers=institution)).json()["total_items"] == 0
    staff = (await client.get("/hsds/services", params={"organization_id": org_id}, headers=admin)).json()
    assert staff["contents"][0]["status"] == "inactive"
