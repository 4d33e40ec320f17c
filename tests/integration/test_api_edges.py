"""Edges of the HTTP surface that fuzzing found: methods, huge numbers, undocumented answers."""

from __future__ import annotations

from typing import Any


async def test_options_needs_a_token_like_every_other_method(client: Any, admin: dict[str, str]) -> None:
    anonymous = await client.options("/api/v1/referrals/1")
    assert anonymous.status_code == 401 and anonymous.json()["extra"][0]["key"] == "Authorization"
    allowed = await client.options("/api/v1/referrals/1", headers=admin)
    assert allowed.status_code == 204 and "GET" in allowed.headers["allow"]
    assert (await client.options("/health")).status_code == 204


async def test_numbers_beyond_the_database_range_are_bad_parameters(client: Any, admin: dict[str, str]) -> None:
    for path in ("/api/v1/referrals/3000000000", "/api/v1/services/9223372036854775807", "/api/v1/organisations/2147483648"):
        answer = await client.get(path, headers=admin)
        assert answer.status_code == 400, (path, answer.text)
    answer = await client.get("/api/v1/services", params={"offset": 10**12}, headers=admin)
    assert answer.status_code == 400 and answer.json()["extra"][0]["key"] == "offset"


async def test_every_operation_documents_its_errors(client: Any) -> None:
    doc = (await client.get("/schema/openapi.json")).json()
    assert "Error" in doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            codes = set(op["responses"])
            assert "400" in codes, (method, path)
            if path.startswith(("/health", "/api/v1/vocabulary", "/respond/")):
                assert op["security"] == [{}], (method, path)
                continue
            assert {"401", "403"} <= codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)


async def test_query_filters_out_of_range_answer_400(client: Any, admin: dict[str, str]) -> None:
    for path, params, field in (
        ("/api/v1/notifications", {"referral_id": 21946233302}, "referral_id"),
        ("/api/v1/services", {"organisation_id": 2**31}, "organisation_id"),
        ("/api/v1/coverage/activity", {"to": "0001-01-01"}, "to"),
    ):
        answer = await client.get(path, params=params, headers=admin)
        assert answer.status_code == 400, (path, params, answer.text)
        assert answer.json()["extra"][0]["key"] == field, answer.text


async def test_a_service_id_beyond_the_database_range_is_refused_by_name(client: Any, institution: dict[str, str]) -> None:
    profile = {"age_band": "25-39", "gender": "female", "nationality_group": "romanian", "exploitation_forms": ["sexual"],
               "needs": [{"service_type": "residential_shelter", "priority": "required"}], "location": {"county": "RO-IS"}}
    answer = await client.post("/api/v1/referrals", json={"profile": profile, "consent": True, "service_ids": [2**40]}, headers=institution)
    assert answer.status_code == 422 and answer.json()["extra"][0]["key"] == "service_ids[0]", answer.text


async def test_an_unknown_query_parameter_is_refused_by_name(client: Any, admin: dict[str, str]) -> None:
    """A mistyped filter is a 400 naming it and the nearest parameter, never an unfiltered answer."""
    typo = await client.get("/api/v1/services", params={"countty": "RO-IS"}, headers=admin)
    assert typo.status_code == 400, typo.text
    [error] = typo.json()["extra"]
    assert error["key"] == "countty" and error["source"] == "query" and "did you mean county?" in error["message"]
    gaps = await client.get("/api/v1/coverage/gaps", params={"limit": 2, "offset": 2}, headers=admin)
    assert gaps.status_code == 400 and [e["key"] for e in gaps.json()["extra"]] == ["offset"]
    # Every parameter a call declares passes, its own and its dependencies' (``from``/``to`` of a period, ``network``).
    fine = await client.get("/api/v1/coverage/gaps", params={"from": "2026-01-01", "to": "2026-02-01", "limit": 2, "network": "protect"},
                            headers=admin)  # fmt: skip
    assert fine.status_code == 200, fine.text
    assert (await client.get("/api/v1/services", params={"county": "RO-IS", "limit": 5, "offset": 0}, headers=admin)).status_code == 200
    # Only what the call itself uses: not a dependency's name, nor another call's filter, nor its own Python name.
    for path, name in (("/api/v1/services", "actor"), ("/api/v1/coverage/activity", "gender"), ("/api/v1/coverage/gaps", "start")):
        refused = await client.get(path, params={name: "x"}, headers=admin)
        assert refused.status_code == 400 and [e["key"] for e in refused.json()["extra"]] == [name], (path, refused.text)
    # The HSDS read API likewise.
    hsds = await client.get("/hsds/services", params={"serch": "x"}, headers=admin)
    assert hsds.status_code == 400 and [e["key"] for e in hsds.json()["extra"]] == ["serch"], hsds.text
    # FHIR's general parameters pass on FHIR paths.
    assert (await client.get("/api/v1/vocabulary/fhir/CodeSystem/service-type", params={"_format": "json"})).status_code == 200
