"""Messages a user can act on: each error says what to send instead."""

from __future__ import annotations

from typing import Any

from tests.integration.helpers import make_org, make_service

PROFILE = {
    "age_band": "25-39",
    "gender": "female",
    "nationality_group": "romanian",
    "exploitation_forms": ["sexual"],
    "needs": [{"service_type": "residential_shelter", "priority": "required"}],
    "location": {"county": "RO-IS"},
}


async def test_an_unknown_county_suggests_the_code(client: Any, institution: dict[str, str]) -> None:
    profile = {**PROFILE, "location": {"county": "Iași"}}
    answer = await client.post("/api/v1/matches", json={"profile": profile}, headers=institution)
    assert answer.status_code == 422, answer.text
    item = answer.json()["extra"][0]
    assert item["key"] == "profile.location.county"
    assert "did you mean RO-IS?" in item["message"], item


async def test_an_unknown_code_of_a_short_list_lists_the_valid_values(client: Any, institution: dict[str, str]) -> None:
    answer = await client.post("/api/v1/matches", json={"profile": {**PROFILE, "gender": "woman"}}, headers=institution)
    assert answer.status_code == 422, answer.text
    message = answer.json()["extra"][0]["message"]
    assert "female, male, other" in message, message


async def test_an_unknown_code_of_a_long_list_points_to_the_vocabulary(client: Any, institution: dict[str, str]) -> None:
    profile = {**PROFILE, "needs": [{"service_type": "zzz", "priority": "required"}]}
    answer = await client.post("/api/v1/matches", json={"profile": profile}, headers=institution)
    assert answer.status_code == 422, answer.text
    item = answer.json()["extra"][0]
    assert item["key"] == "profile.needs[0].service_type" and "/api/v1/vocabulary" in item["message"], item


async def test_a_bad_notify_email_says_so_without_a_regex(client: Any, institution: dict[str, str]) -> None:
    body = {"profile": PROFILE, "consent": True, "notify_email": "not-an-address"}
    answer = await client.post("/api/v1/referrals", json=body, headers=institution)
    assert answer.status_code == 422, answer.text
    item = answer.json()["extra"][0]
    assert item["key"] == "notify_email" and "e-mail address" in item["message"], item
    assert "regex" not in answer.text and "^[" not in answer.text


async def test_a_number_sent_as_a_string_is_refused(client: Any, admin: dict[str, str], tokens: Any) -> None:
    org = await make_org(client, admin, "Strict Types NGO")
    service = await make_service(client, admin, org["id"])
    answer = await client.put(f"/api/v1/services/{service['id']}/capacity", json={"available": "3"}, headers=admin)
    assert answer.status_code == 422, answer.text
    assert answer.json()["extra"][0]["key"] == "available"
    profile = {**PROFILE, "max_distance_km": "100"}
    answer = await client.post("/api/v1/matches", json={"profile": profile}, headers=tokens.make("institution"))
    assert answer.status_code == 422 and answer.json()["extra"][0]["key"] == "profile.max_distance_km", answer.text


async def test_a_referral_id_that_is_not_a_number_is_a_bad_parameter(client: Any, admin: dict[str, str]) -> None:
    for path in ("/api/v1/referrals/abc", "/api/v1/services/x", "/api/v1/organisations/1.5"):
        answer = await client.get(path, headers=admin)
        assert answer.status_code == 400, (path, answer.text)
        assert "integer" in answer.json()["detail"], answer.text
    assert (await client.get("/api/v1/no-such-thing", headers=admin)).status_code == 404


async def test_csv_content_type_names_its_charset_once(client: Any, secretariat: dict[str, str]) -> None:
    answer = await client.get("/api/v1/coverage/activity.csv", params={"table": "counties"}, headers=secretariat)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert not answer.content.startswith(b"\xef\xbb\xbf")


async def test_csv_exports_offer_a_byte_order_mark_for_spreadsheets(client: Any, secretariat: dict[str, str]) -> None:
    for path, params in (
        ("/api/v1/coverage/activity.csv", {"table": "counties"}),
        ("/api/v1/coverage.csv", {"service_type": "residential_shelter", "county": "RO-IS"}),
        ("/api/v1/coverage/gaps.csv", {}),
    ):
        plain = await client.get(path, params=params, headers=secretariat)
        excel = await client.get(path, params={**params, "excel": "true"}, headers=secretariat)
        assert excel.status_code == 200, excel.text
        assert excel.content == b"\xef\xbb\xbf" + plain.content, path
