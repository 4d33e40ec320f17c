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
    # A phone number likewise says what it expects.
    phone = await client.post("/api/v1/referrals", json={**body, "notify_email": None, "officer_phone": "call me"}, headers=institution)
    assert phone.status_code == 422 and phone.json()["extra"][0]["key"] == "officer_phone"
    assert "phone number of digits" in phone.json()["extra"][0]["message"] and "regex" not in phone.text


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


async def test_closing_a_closed_referral_is_a_conflict(client: Any, tokens: Any, admin: dict[str, str], institution: dict[str, str]) -> None:
    from tests.integration.test_referrals import network, refer

    net = await network(client, tokens, admin, n=1)
    referral = await refer(client, institution, service_ids=[net.services[0]["id"]])
    await client.post(f"/api/v1/offers/{referral['offers'][0]['id']}/accept", headers=net.ngos[0])
    close = {"outcome": "services_started"}
    assert (await client.post(f"/api/v1/referrals/{referral['id']}/close", json=close, headers=net.ngos[0])).status_code == 200
    for who in (net.ngos[0], tokens.make("secretariat")):
        again = await client.post(f"/api/v1/referrals/{referral['id']}/close", json=close, headers=who)
        assert again.status_code == 409, again.text
        assert "already closed" in again.json()["detail"]


def _cli(database: Any, *args: str) -> Any:
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "REFERRALNET_DATABASE_URL": f"sqlite:///{database}"}
    return subprocess.run([sys.executable, "-m", "referralnet", *args], capture_output=True, text=True, env=env, timeout=120)


def test_match_with_a_missing_profile_file_says_so_without_a_traceback(tmp_path: Any) -> None:
    done = _cli(tmp_path / "db.sqlite3", "match", str(tmp_path / "missing.toml"))
    assert done.returncode == 2
    assert "cannot read the profile file" in done.stderr and "missing.toml" in done.stderr
    assert "Traceback" not in done.stderr


def test_migrate_on_a_fresh_database_does_not_contradict_itself(tmp_path: Any) -> None:
    first = _cli(tmp_path / "db.sqlite3", "migrate")
    assert first.returncode == 0, first.stderr
    assert "already complete" not in first.stdout and "not yet run" not in first.stdout
    assert "applied now, 0 already applied" in first.stdout
    second = _cli(tmp_path / "db.sqlite3", "migrate")
    assert "0 migration(s) applied now" in second.stdout


def test_coverage_cli_offers_a_byte_order_mark(tmp_path: Any) -> None:
    database = tmp_path / "db.sqlite3"
    assert _cli(database, "migrate").returncode == 0
    args = ["coverage", "--what", "activity", "--format", "csv", "--table", "counties", "--quiet"]
    plain = _cli(database, *args, "-o", str(tmp_path / "plain.csv"))
    excel = _cli(database, *args, "--bom", "-o", str(tmp_path / "excel.csv"))
    assert plain.returncode == 0 and excel.returncode == 0, excel.stderr
    assert (tmp_path / "excel.csv").read_bytes() == b"\xef\xbb\xbf" + (tmp_path / "plain.csv").read_bytes()


async def test_a_chosen_service_that_is_not_eligible_says_why(
    client: Any, tokens: Any, admin: dict[str, str], institution: dict[str, str]
) -> None:
    from tests.integration.helpers import shelter

    org = await make_org(client, admin, "Why Not NGO")
    women_only = await make_service(client, admin, org["id"], shelter(sites=[{"county": "RO-IS", "locality": "Iași"}],
                                                                      service_area={"counties": ["RO-IS"], "national": False}))
    full = await make_service(client, admin, org["id"], shelter(name="Casa plină", sites=[{"county": "RO-IS", "locality": "Iași"}],
                                                                service_area={"counties": ["RO-IS"], "national": False},
                                                                capacity={"unit": "beds", "total": 4, "available": 0}))
    counselling = await make_service(client, admin, org["id"], {**shelter(name="Consiliere"), "type": "psychological_counselling",
                                                                "capacity": None})
    cases = (
        ({**PROFILE, "gender": "male"}, women_only["id"], "gender eligibility"),
        (PROFILE, full["id"], "having no free places"),
        (PROFILE, counselling["id"], "which this profile does not need"),
    )
    for profile, service_id, reason in cases:
        answer = await client.post("/api/v1/referrals", json={"profile": profile, "consent": True, "service_ids": [service_id]},
                                   headers=institution)
        assert answer.status_code == 422, answer.text
        item = answer.json()["extra"][0]
        assert item["key"] == "service_ids[0]"
        assert f"service {service_id} is not eligible for this profile right now: " in item["message"], item
        assert reason in item["message"], item


async def test_an_unknown_value_of_any_declared_choice_lists_the_choices(
    client: Any, tokens: Any, admin: dict[str, str], institution: dict[str, str], secretariat: dict[str, str]
) -> None:
    from tests.integration.test_referrals import network, refer

    net = await network(client, tokens, admin, n=1)
    referral = await refer(client, institution, service_ids=[net.services[0]["id"]])
    await client.post(f"/api/v1/offers/{referral['offers'][0]['id']}/accept", headers=net.ngos[0])
    answer = await client.post(f"/api/v1/referrals/{referral['id']}/close", json={"outcome": "done"}, headers=net.ngos[0])
    assert answer.status_code == 422, answer.text
    item = answer.json()["extra"][0]
    assert item["key"] == "outcome" and "valid values: " in item["message"] and "services_started" in item["message"], item
    answer = await client.get("/api/v1/coverage/activity.csv", params={"table": "countys"}, headers=secretariat)
    assert answer.status_code == 400, answer.text
    assert "did you mean counties?" in answer.json()["extra"][0]["message"], answer.text
