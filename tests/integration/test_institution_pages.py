"""The institution's pages: profile form, candidates, send with consent, list and detail; errors beside
their fields and nothing written; another institution gets 404; other roles are refused."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from referralnet.clock import FixedClock
from referralnet.tables import Referral
from tests.conftest import Tokens, in_app
from tests.integration.helpers import make_org, make_service, shelter
from tests.integration.test_people import PASSWORD, add_person, csrf_of, sign_in

FORM = {"age_band": "25-39", "gender": "female", "nationality_group": "romanian", "needs": "residential_shelter",
        "county": "RO-B", "locality": "București", "urgency": "urgent", "exploitation_forms": "sexual"}  # fmt: skip


async def officer(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, email: str, institution: int | None = None) -> int:
    institution = institution or tokens.institution(f"IPJ {email}")
    add_person(client, clock, email=email, role="institution", organisation=institution)
    client.cookies.clear()
    assert (await sign_in(client, email=email)).status_code == 303
    return institution


async def post_form(client: AsyncTestClient[Any], path: str, data: dict[str, Any], page: str = "/institution/referrals/new") -> Any:
    token = await csrf_of(client, page)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


async def test_profile_candidates_send_and_follow(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]) -> None:
    org = await make_org(client, admin, "Asociația Casa Bună")
    service = await make_service(client, admin, org["id"], shelter(name="Casa Bună"))
    mine = await officer(client, clock, tokens, "ana@ipj.example.ro")
    assert (await client.get("/", follow_redirects=False)).headers["location"] == "/institution/referrals"

    form = await client.get("/institution/referrals/new")
    assert form.status_code == 200 and 'name="needs" value="residential_shelter"' in form.text
    assert "script-src 'self'" in form.headers["content-security-policy"] and "unsafe-inline" not in form.headers["content-security-policy"]
    candidates = await post_form(client, "/institution/referrals/new", FORM)
    assert candidates.status_code == 200, candidates.text
    assert f'id="candidate-{service["id"]}"' in candidates.text and "Casa Bună" in candidates.text
    assert in_app(client, lambda: Referral.count()) == 0  # matching stores nothing
    profile = re.search(r'name="profile" value="([^"]+)"', candidates.text).group(1).replace("&#34;", '"')

    no_consent = await post_form(client, "/institution/referrals", {"profile": profile, "service_ids": str(service["id"])})
    assert no_consent.status_code == 422 and 'id="consent-error"' in no_consent.text
    assert 'aria-describedby="consent-error"' in no_consent.text
    assert in_app(client, lambda: Referral.count()) == 0

    sent = await post_form(client, "/institution/referrals",
                           {"profile": profile, "service_ids": str(service["id"]), "consent": "yes", "mode": "parallel"})  # fmt: skip
    assert sent.status_code == 303, sent.text
    detail_path = sent.headers["location"]
    detail = await client.get(detail_path)
    assert detail.status_code == 200 and "Casa Bună" in detail.text and 'id="referral-status"' in detail.text
    assert 'hx-get="' + detail_path + '/live"' in detail.text
    live = await client.get(detail_path + "/live")
    assert live.status_code == 200 and live.text.lstrip().startswith("<section id=\"live\"")
    listing = await client.get("/institution/referrals")
    assert f'href="{detail_path}"' in listing.text
    assert f'href="{detail_path}"' not in (await client.get("/institution/referrals?status=closed")).text

    await officer(client, clock, tokens, "colleague@ipj.example.ro", institution=mine)  # same institution
    assert (await client.get(detail_path)).status_code == 200
    token = await csrf_of(client, detail_path)
    cancelled = await client.post(detail_path + "/cancel", data={"_csrf_token": token}, follow_redirects=False)
    assert cancelled.status_code == 303
    after = await client.get(detail_path)
    assert '<strong class="status cancelled" id="referral-status">cancelled</strong>' in after.text and 'id="cancel"' not in after.text
    await officer(client, clock, tokens, "other@dgaspc.example.ro")  # another institution
    assert (await client.get(detail_path)).status_code == 404
    assert (await client.get(detail_path + "/live")).status_code == 404
    assert f'href="{detail_path}"' not in (await client.get("/institution/referrals")).text


async def test_missing_choices_and_identifiers_are_named_beside_their_fields(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens) -> None:
    await officer(client, clock, tokens, "ana@ipj.example.ro")
    missing = await post_form(client, "/institution/referrals/new", {k: v for k, v in FORM.items() if k not in ("gender", "needs")})
    assert missing.status_code == 422
    assert 'id="gender-error"' in missing.text and 'id="needs-error"' in missing.text
    assert 'aria-describedby="gender-error"' in missing.text
    assert '<option value="25-39" selected>' in missing.text  # what was entered is kept
    wrong = await post_form(client, "/institution/referrals/new", {**FORM, "gender": "martian"})
    assert wrong.status_code == 422 and 'id="gender-error"' in wrong.text
    phone = await post_form(client, "/institution/referrals/new", {**FORM, "note": "sunați la 0722 123 456"},)
    assert phone.status_code == 422 and 'id="note-error"' in phone.text
    assert "looks like a phone number" in phone.text and "0722" not in phone.text
    ro = await client.post("/institution/referrals/new", headers={"Accept-Language": "ro"},
                           data={**FORM, "note": "tel 0722123456", "_csrf_token": await csrf_of(client, "/institution/referrals/new")})  # fmt: skip
    assert "seamănă cu un număr de telefon" in ro.text and "0722" not in ro.text
    assert in_app(client, lambda: Referral.count()) == 0


async def test_other_roles_and_visitors(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    resp = await client.get("/institution/referrals/new", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/sign-in?next=/institution/referrals/new"
    # a form posted after the session ended returns, after sign-in, to the page the form was on (a POST path has no page)
    form = {"_csrf_token": await csrf_of(client)}
    resp = await client.post("/institution/referrals/7/cancel", data=form, follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/sign-in?next=/institution/referrals/7"
    add_person(client, clock)  # a secretariat person
    await sign_in(client)
    refused = await client.get("/institution/referrals")
    assert refused.status_code == 403 and "people of an institution" in refused.text
    assert PASSWORD not in refused.text


async def test_polling_does_not_keep_an_idle_session_alive(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens) -> None:
    await officer(client, clock, tokens, "ana@ipj.example.ro")
    poll = {"HX-Request": "true", "HX-Current-URL": "http://testserver.local/institution/referrals/1"}
    for _ in range(7):  # 35 minutes of a page left open, polling
        clock.advance(minutes=5)
        last = await client.get("/institution/referrals/1/live", headers=poll)
    assert last.status_code == 204 and last.headers["hx-redirect"] == "/sign-in?next=/institution/referrals/1"
    resp = await client.get("/institution/referrals", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"].startswith("/sign-in")


async def test_nothing_fits_says_why_and_one_click_searches_relaxed(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]) -> None:
    org = await make_org(client, admin, "Asociația Fără Rampă")
    body = shelter(name="Casa fără rampă")
    body["eligibility"] = {**body["eligibility"], "accessibility": []}
    service = await make_service(client, admin, org["id"], body)
    await officer(client, clock, tokens, "ana@ipj.example.ro")
    none = await post_form(client, "/institution/referrals/new", {**FORM, "accessibility": "wheelchair"})
    assert none.status_code == 200 and 'id="no-candidates"' in none.text and 'id="relax-accessibility"' in none.text
    relax_form = none.text.split('class="relax"')[1].split("</form>")[0]
    fields = re.findall(r'name="([^"]+)" value="([^"]*)"', relax_form)
    assert ("accessibility", "wheelchair") not in fields and ("needs", "residential_shelter") in fields
    token = await csrf_of(client, "/institution/referrals/new")
    data: dict[str, Any] = {}
    for name, value in fields:
        if name != "_csrf_token":
            data.setdefault(name, []).append(value)
    again = await client.post("/institution/referrals/new", data={**data, "_csrf_token": token})
    assert again.status_code == 200 and f'id="candidate-{service["id"]}"' in again.text
