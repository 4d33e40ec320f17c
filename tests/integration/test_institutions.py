"""Institutions as directory entries: seeded from what the files state, listed apart, never matched or offered."""

from __future__ import annotations

from typing import Any

from referralnet.clock import FixedClock
from referralnet.directory.institutions import seed_institutions
from referralnet.directory.seed import seed
from tests.conftest import REPO, in_app
from tests.integration.helpers import PROFILE, make_org, make_service
from tests.integration.test_referrals import shelter_body

INSTITUTIONS = REPO / "data" / "institutions"
ORGS = REPO / "data" / "organisations"


async def test_seeded_institutions_state_only_what_the_files_state(client: Any, admin: dict[str, str], clock: FixedClock) -> None:
    first = in_app(client, seed_institutions, INSTITUTIONS, clock)
    assert len(first.created) == 11 + 15
    clock.advance(days=1)
    again = in_app(client, seed_institutions, INSTITUTIONS, clock)
    assert not again.changed and len(again.unchanged) == 26

    listed = (await client.get("/api/v1/organisations", params={"kind": "institution", "limit": 500}, headers=admin)).json()
    assert listed["total"] == 26
    by_slug = {o["slug"]: o for o in listed["items"]}
    igpf = by_slug["igpf"]
    assert igpf["kind"] == "institution" and igpf["institution_type"] == "border_police"
    assert igpf["county"] is None and igpf["city"] is None  # national: no county stated
    assert igpf["referral_phone"] is None and igpf["referral_email"] is None  # not stated: unknown
    assert by_slug["diicot"]["institution_type"] == "prosecutor"
    assert by_slug["dgaspc"]["institution_type"] == "child_protection"
    iasi = by_slug["anitp-cr-iasi"]
    assert (iasi["institution_type"], iasi["county"], iasi["city"], iasi["city_inferred"]) == ("anitp", "RO-IS", "Iași", True)
    assert "INFERRED" in iasi["sources"][0]["note"]
    bacau = by_slug["anitp-cr-bacau"]
    assert [s["url"] for s in bacau["sources"][1:]] == ["https://nitaadrian.ro/?p=3939"]


async def test_institutions_never_in_provider_lists_or_matching(
    client: Any, admin: dict[str, str], institution: dict[str, str], clock: FixedClock
) -> None:
    in_app(client, seed, ORGS, clock)
    in_app(client, seed_institutions, INSTITUTIONS, clock)
    providers = (await client.get("/api/v1/organisations", params={"limit": 500}, headers=admin)).json()["items"]
    assert providers and all(o["kind"] == "provider" for o in providers)
    assert "igpr" not in {o["slug"] for o in providers}
    searched = (await client.get("/api/v1/organisations", params={"q": "Poliţiei Române"}, headers=admin)).json()["items"]
    assert "igpr" not in {o["slug"] for o in searched}

    igpr = (await client.get("/api/v1/organisations", params={"kind": "institution", "q": "IGPR"}, headers=admin)).json()["items"][0]
    refused = await make_service_raw(client, admin, igpr["id"])
    assert refused.status_code == 409 and refused.json()["extra"][0]["key"] == "organisation"
    provider = await make_org(client, admin, "Asociația Casa Iași")
    await make_service(client, admin, provider["id"], shelter_body("Casa Iași"))
    match = (await client.post("/api/v1/matches", json={"profile": PROFILE}, headers=institution)).json()
    org_ids = {c["organisation_id"] for c in match["candidates"]}
    assert provider["id"] in org_ids and not org_ids & {o["id"] for o in by_kind_institution(await institutions(client, admin))}


async def institutions(client: Any, headers: dict[str, str]) -> list[dict[str, Any]]:
    return (await client.get("/api/v1/organisations", params={"kind": "institution", "limit": 500}, headers=headers)).json()["items"]  # type: ignore[no-any-return]


def by_kind_institution(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert items and all(o["kind"] == "institution" for o in items)
    return items


async def make_service_raw(client: Any, headers: dict[str, str], org_id: int) -> Any:
    from tests.integration.helpers import shelter

    return await client.post(f"/api/v1/organisations/{org_id}/services", json=shelter(), headers=headers)


async def test_institution_needs_a_type_and_a_provider_has_none(client: Any, admin: dict[str, str]) -> None:
    bad = await client.post("/api/v1/organisations", json={"name": "IPJ Iași", "kind": "institution"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["extra"][0]["key"] == "institution_type"
    wrong = await client.post("/api/v1/organisations", json={"name": "Casa X", "institution_type": "police"}, headers=admin)
    assert wrong.status_code == 422 and wrong.json()["extra"][0]["key"] == "institution_type"
    unknown = await client.post(
        "/api/v1/organisations", json={"name": "IPJ Iași", "kind": "institution", "institution_type": "army"}, headers=admin
    )
    assert unknown.status_code in (400, 422) and "institution_type" in unknown.text
    listed = (await client.get("/api/v1/organisations", params={"kind": "institution"}, headers=admin)).json()
    assert listed["total"] == 0  # nothing half-written
    ok = await make_org(
        client, admin, "IPJ Iași", kind="institution", institution_type="police", county="RO-IS", city="Iași",
        referral_phone="+40 232 000 111",
    )  # fmt: skip
    assert ok["kind"] == "institution" and ok["referral_phone"] == "+40 232 000 111" and ok["city_inferred"] is False


async def test_referral_phones_on_organisations(client: Any, admin: dict[str, str]) -> None:
    org = await make_org(client, admin, "Asociația Telefon", referral_phone="0232 123 456")
    assert org["referral_phone"] == "0232 123 456" and org["phone_24h"] is None
    resp = await client.patch(f"/api/v1/organisations/{org['id']}", json={"phone_24h": "+40 700 000 000"}, headers=admin)
    assert resp.status_code == 200 and resp.json()["phone_24h"] == "+40 700 000 000"
    bad = await client.patch(f"/api/v1/organisations/{org['id']}", json={"referral_phone": "call me"}, headers=admin)
    assert bad.status_code in (400, 422) and "referral_phone" in bad.text
    assert (await client.get(f"/api/v1/organisations/{org['id']}", headers=admin)).json()["referral_phone"] == "0232 123 456"


async def test_vocabulary_lists_institution_types_in_both_languages(client: Any, admin: dict[str, str]) -> None:
    vocab = (await client.get("/api/v1/vocabulary", headers=admin)).json()
    types = {t["code"]: t for t in vocab["institution_types"]}
    assert set(types) == {"police", "border_police", "immigration", "prosecutor", "labour_inspectorate", "child_protection", "anitp", "other"}
    assert types["border_police"]["ro"] == "Poliția de Frontieră" and types["border_police"]["en"] == "Border police"


async def test_two_tokens_of_one_institution_share_its_referrals(
    client: Any, tokens: Any, admin: dict[str, str]
) -> None:
    from tests.integration.test_referrals import network, refer

    net = await network(client, tokens, admin, n=2)
    ipj = tokens.institution("IPJ Iași")
    day = tokens.make("institution", organisation=ipj, name="day shift")
    night = tokens.make("institution", organisation=ipj, name="night shift")
    other = tokens.make("institution", name="DGASPC Cluj")

    referral = await refer(client, day, service_ids=[net.services[0]["id"]])
    seen = await client.get(f"/api/v1/referrals/{referral['id']}", headers=night)
    assert seen.status_code == 200
    assert [r["id"] for r in (await client.get("/api/v1/referrals", headers=night)).json()["items"]] == [referral["id"]]
    assert (await client.get(f"/api/v1/referrals/{referral['id']}", headers=other)).status_code == 404
    assert (await client.get("/api/v1/referrals", headers=other)).json()["items"] == []
    # The night shift acts on it; the history names the token that acted.
    cancel = await client.post(f"/api/v1/referrals/{referral['id']}/cancel", json={"reason": "moved"}, headers=night)
    assert cancel.status_code == 200, cancel.text
    actors = [(e["kind"], e["actor"]) for e in cancel.json()["history"]]
    assert ("referral_created", "institution:day shift") in actors and ("referral_cancelled", "institution:night shift") in actors


async def test_institution_tokens_are_bound_to_an_institution(client: Any, admin: dict[str, str]) -> None:
    from referralnet.accounts.services import create_token
    from referralnet.errors import InvalidInput
    from tests.conftest import in_app

    provider = await make_org(client, admin, "Asociația Furnizor")
    for organisation, role in ((None, "institution"), (provider["id"], "institution")):
        try:
            in_app(client, create_token, role=role, name="officer", organisation=organisation)
        except InvalidInput as exc:
            assert exc.field == "organisation"
        else:
            raise AssertionError(f"{role} token made with organisation {organisation}")
    inst = await make_org(client, admin, "IPJ Cluj", kind="institution", institution_type="police")
    try:
        in_app(client, create_token, role="ngo", name="x", organisation=inst["slug"])
    except InvalidInput as exc:
        assert "institution" in exc.detail
    else:
        raise AssertionError("an ngo token bound to an institution")
    _, actor = in_app(client, create_token, role="institution", name="officer", organisation=inst["slug"])
    assert actor.organisation_id == inst["id"]
