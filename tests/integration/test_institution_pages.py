"""The institution's pages: profile form, candidates, send with consent, list and detail; errors beside
their fields and nothing written; another institution gets 404; other roles are refused."""

from __future__ import annotations

import copy
import html
import json
import re
from typing import Any, get_args

from litestar.testing import AsyncTestClient

from referralnet.clock import FixedClock
from referralnet.referrals.lifecycle import Outcome
from referralnet.tables import Offer, Referral
from tests.conftest import Tokens, in_app
from tests.integration.helpers import PROFILE, make_org, make_service, shelter
from tests.integration.test_contacts import INSTRUCTIONS, provider
from tests.integration.test_needs import Providers, home_and_talk, need, residential
from tests.integration.test_needs import refer as refer_boy
from tests.integration.test_people import PASSWORD, add_person, csrf_of, sign_in
from tests.integration.test_referrals import network

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
    ro = await client.post("/institution/referrals/new", headers={"Accept-Language": "ro"},
                           data={**FORM, "_csrf_token": await csrf_of(client, "/institution/referrals/new")})  # fmt: skip
    assert "acoperă nevoia obligatorie: " in ro.text and "covers the required need" not in ro.text  # the reasons in Romanian
    profile = re.search(r'name="profile" value="([^"]+)"', candidates.text).group(1).replace("&#34;", '"')

    no_consent = await post_form(client, "/institution/referrals", {"profile": profile, "service_ids": str(service["id"])})
    assert no_consent.status_code == 422 and 'id="consent-error"' in no_consent.text
    assert 'aria-describedby="consent-error"' in no_consent.text
    assert in_app(client, lambda: Referral.count()) == 0

    sent = await post_form(client, "/institution/referrals",
                           {"profile": profile, "service_ids": str(service["id"]), "consent": "yes", "mode": "parallel"})  # fmt: skip
    assert sent.status_code == 303, sent.text
    detail_path = sent.headers["location"]
    # The signed-in person is the referring officer: the provider that accepts gets their name and e-mail.
    [row] = in_app(client, lambda: Referral.select(Referral.officer_name, Referral.notify_email))
    assert row == {"officer_name": "Ana Pop", "notify_email": "ana@ipj.example.ro"}
    detail = await client.get(detail_path)
    assert detail.status_code == 200 and "Casa Bună" in detail.text and 'id="referral-status"' in detail.text
    # On a phone the header row is hidden: each cell names its column (the deadline apart from the time it was seen).
    assert 'data-label="Seen"' in detail.text and 'data-label="Answer by"' in detail.text
    ro_detail = await client.get(detail_path, headers={"Accept-Language": "ro"})
    assert re.search(r'id="summary">vârsta [^<]*; nevoi: ', ro_detail.text), ro_detail.text  # the summary in Romanian
    shown = re.search(r'hx-get="' + re.escape(detail_path) + r'/live\?shown=([^"]+)"', detail.text)
    assert shown is not None and shown.group(1) == "open%3Aopen"  # the states the page's forms were drawn for
    live = await client.get(detail_path + "/live", params={"shown": "open:open"})
    assert live.status_code == 200 and live.text.lstrip().startswith("<section id=\"live\"") and "hx-refresh" not in live.headers
    # Once the states move (the provider accepted), the polling reloads the page, whose forms follow them (arrival, closing).
    moved = await client.get(detail_path + "/live", params={"shown": "open:unplaced"})
    assert moved.status_code == 200 and moved.headers["hx-refresh"] == "true"
    listing = await client.get("/institution/referrals")
    assert f'href="{detail_path}"' in listing.text and 'data-label="Created"' in listing.text
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
    assert "seems to hold personal data (phone number)" in phone.text and "0722 123 456" not in phone.text
    ro = await client.post("/institution/referrals/new", headers={"Accept-Language": "ro"},
                           data={**FORM, "note": "tel 0722123456", "_csrf_token": await csrf_of(client, "/institution/referrals/new")})  # fmt: skip
    assert "pare să conțină date personale (număr de telefon)" in ro.text and "0722123456" not in ro.text
    named = await client.post("/institution/referrals/new", headers={"Accept-Language": "ro"},
                              data={**FORM, "note": "Maria Ionescu, născută 12.03.1990", "_csrf_token": await csrf_of(client, "/institution/referrals/new")})  # fmt: skip
    assert "pare să conțină date personale (" in named.text and "Ionescu" not in named.text
    assert any(f"({kind})" in named.text for kind in ("numele unei persoane", "data nașterii"))  # every kind in Romanian
    for locality, said in (("Nowhereville", "județul nu are o localitate cu acest nume"), ("Pascanii", "poate: Pașcani")):
        unknown = await client.post("/institution/referrals/new", headers={"Accept-Language": "ro"},
                                    data={**FORM, "county": "RO-IS", "locality": locality,
                                          "_csrf_token": await csrf_of(client, "/institution/referrals/new")})  # fmt: skip
        assert unknown.status_code == 422 and 'id="locality-error"' in unknown.text and said in unknown.text, unknown.text
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
    assert "<li>accessibility: 1</li>" in none.text  # what left each service out, from the eligibility registry
    await client.get("/language/ro?next=/institution/referrals/new")
    in_romanian = await post_form(client, "/institution/referrals/new", {**FORM, "accessibility": "wheelchair"})
    assert "<li>accesibilitatea: 1</li>" in in_romanian.text and "prima regulă" in in_romanian.text
    assert "pentru femei adulte: 1 din 1 excluse din cauza: " in in_romanian.text and "excluded by" not in in_romanian.text
    await client.get("/language/en?next=/institution/referrals/new")
    token = await csrf_of(client, "/institution/referrals/new")
    data: dict[str, Any] = {}
    for name, value in fields:
        if name != "_csrf_token":
            data.setdefault(name, []).append(value)
    again = await client.post("/institution/referrals/new", data={**data, "_csrf_token": token})
    assert again.status_code == 200 and f'id="candidate-{service["id"]}"' in again.text


async def _referral_of(client: AsyncTestClient[Any], tokens: Tokens, institution: int, service_ids: list[int]) -> dict[str, Any]:
    """A referral of the institution made through the API (the pages show the same referral)."""
    api = tokens.make("institution", organisation=institution, name="api officer")
    resp = await client.post("/api/v1/referrals", headers=api, json={
        "profile": copy.deepcopy(PROFILE), "consent": True, "mode": "parallel", "service_ids": service_ids})  # fmt: skip
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


async def test_each_need_with_its_offers_and_the_contact_only_once_placed(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    a, a_service, ngo_a = await provider(client, tokens, admin, "Casa A", 1)
    _b, b_service, _ngo_b = await provider(client, tokens, admin, "Casa B", 2)
    mine = await officer(client, clock, tokens, "ana@ipj.example.ro")
    referral = await _referral_of(client, tokens, mine, [a_service, b_service])
    offers = {o["organisation_id"]: o for o in referral["offers"]}
    path = f"/institution/referrals/{referral['id']}"

    before = await client.get(path)
    assert before.status_code == 200
    need = before.text.split('id="referral-need-residential_shelter"')[1].split("</section>")[0]
    assert 'id="need-residential_shelter-status">open</strong>' in need
    for offer in referral["offers"]:
        row = need.split(f'id="offer-{offer["id"]}"')[1].split("</tr>")[0]
        assert offer["service_name"] in row and ">pending</span>" in row and 'class="delivery' in row
    assert 'id="round-residential_shelter"' in need  # an open need can take a second round
    assert 'id="contact-residential_shelter"' not in before.text and "+40 232 101 100" not in before.text

    resp = await client.post(f"/api/v1/offers/{offers[a]['id']}/accept", json={"arrival_instructions": INSTRUCTIONS}, headers=ngo_a)
    assert resp.status_code == 200, resp.text
    live = await client.get(path + "/live")  # what the polling fetches
    contact = live.text.split('id="contact-residential_shelter"')[1].split("</div>")[0]
    for shown in ("Casa A", "+40 232 101 100", "+40 744 001 000", "primire1@casa.example", INSTRUCTIONS):
        assert shown in contact
    assert "+40 232 102 100" not in live.text  # the provider whose offer was withdrawn stays unseen
    assert 'id="need-residential_shelter-status">placed</strong>' in live.text and 'id="round-residential_shelter"' not in live.text
    ro = await client.get(path, headers={"Accept-Language": "ro"})
    assert "Instrucțiuni de sosire" in ro.text and 'id="need-residential_shelter-status">plasată</strong>' in ro.text
    assert "Centru rezidențial / adăpost" in ro.text  # the need by its Romanian label

    await officer(client, clock, tokens, "other@dgaspc.example.ro")  # another institution
    for url in (path, path + "/live"):
        other = await client.get(url)
        assert other.status_code == 404 and "+40 232 101 100" not in other.text and INSTRUCTIONS not in other.text


async def test_a_second_round_from_the_page(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]) -> None:
    net = await network(client, tokens, admin, n=3)
    mine = await officer(client, clock, tokens, "ana@ipj.example.ro")
    referral = await _referral_of(client, tokens, mine, [net.services[0]["id"]])
    first = referral["offers"][0]
    resp = await client.post(f"/api/v1/offers/{first['id']}/decline", json={"reason": "safety"}, headers=net.ngos[0])
    assert resp.status_code == 200, resp.text
    path = f"/institution/referrals/{referral['id']}"
    page = await client.get(path)
    assert 'id="need-residential_shelter-status">unplaced</strong>' in page.text and "Safety" in page.text
    assert 'id="round-residential_shelter"' in page.text

    unsigned = await client.post(path + "/round", data={"need": "residential_shelter"}, follow_redirects=False)
    assert unsigned.status_code == 403
    assert in_app(client, lambda: Offer.count()) == 1
    done = await post_form(client, path + "/round", {"need": "residential_shelter"}, page=path)
    assert done.status_code == 303 and done.headers["location"] == path + "#referral-need-residential_shelter"
    after = await client.get(path)
    assert 'id="need-residential_shelter-status">open</strong>' in after.text
    rows = {o: after.text.split(f'id="offer-{o}"')[1].split("</tr>")[0] for o in in_app(client, _offer_ids, referral["id"])}
    assert len(rows) == 3 and sum(">pending</span>" in r for r in rows.values()) == 2  # those who fit, not the one who declined
    assert ">declined</span>" in rows[first["id"]]

    for offer_id in list(rows)[1:]:  # both decline: nobody is left to ask
        ngo = net.ngos[[s["id"] for s in net.services].index(in_app(client, _service_of, offer_id))]
        assert (await client.post(f"/api/v1/offers/{offer_id}/decline", json={"reason": "no_capacity"}, headers=ngo)).status_code == 200
    refused = await post_form(client, path + "/round", {"need": "residential_shelter"}, page=path)
    assert refused.status_code == 409
    assert 'id="round-residential_shelter-error" hx-preserve="true" role="alert">No other provider can be asked' in refused.text
    assert 'aria-describedby="round-residential_shelter-hint round-residential_shelter-error"' in refused.text
    token = await csrf_of(client, path)
    ro = await client.post(path + "/round", data={"need": "residential_shelter", "_csrf_token": token}, headers={"Accept-Language": "ro"})
    assert ro.status_code == 409 and "Niciun alt furnizor nu poate fi întrebat acum" in ro.text
    unknown = await post_form(client, path + "/round", {"need": "child_residential"}, page=path)
    assert unknown.status_code == 422 and "This referral has no such need." in unknown.text
    assert in_app(client, lambda: Offer.count()) == 3  # nothing written by a refusal

    await officer(client, clock, tokens, "other@dgaspc.example.ro")  # another institution
    stranger = await post_form(client, path + "/round", {"need": "residential_shelter"}, page="/institution/referrals/new")
    assert stranger.status_code == 404 and in_app(client, lambda: Offer.count()) == 3


async def _offer_ids(referral_id: int) -> list[int]:
    return [r["id"] for r in await Offer.select(Offer.id).where(Offer.referral == referral_id).order_by(Offer.id)]


async def _service_of(offer_id: int) -> int:
    return (await Offer.select(Offer.service).where(Offer.id == offer_id).first())["service"]  # type: ignore[index,no-any-return]


async def test_arrival_and_outcome_from_the_page(client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]) -> None:
    """The officer who went with the person records the arrival, then closes with an outcome; the API shows both."""
    net = await network(client, tokens, admin, n=1)
    mine = await officer(client, clock, tokens, "ana@ipj.example.ro")
    referral = await _referral_of(client, tokens, mine, [net.services[0]["id"]])
    path = f"/institution/referrals/{referral['id']}"
    api = tokens.make("institution", organisation=mine, name="api reader")
    open_page = await client.get(path)
    assert 'id="record-arrival"' not in open_page.text and 'id="close-referral"' not in open_page.text  # nothing placed yet
    await client.post(f"/api/v1/offers/{referral['offers'][0]['id']}/accept", headers=net.ngos[0])
    placed = await client.get(path, headers={"Accept-Language": "ro"})
    assert 'id="record-arrival"' in placed.text and "Înregistrați sosirea" in placed.text
    assert '<option value="services_started">Serviciile au început</option>' in placed.text
    assert all(f'<option value="{code}">' in placed.text for code in get_args(Outcome))  # every outcome the API takes

    unsigned = await client.post(path + "/arrival", data={"note": "came with the officer"}, follow_redirects=False)
    assert unsigned.status_code == 403
    phone = await post_form(client, path + "/arrival", {"note": "sunați la 0722 123 456"}, page=path)
    assert phone.status_code == 422 and 'id="arrival-note-error"' in phone.text and "seems to hold personal data (phone number)" in phone.text
    assert "0722 123 456" not in phone.text and 'aria-describedby="arrival-note-rule arrival-note-error"' in phone.text
    assert (await client.get(f"/api/v1/referrals/{referral['id']}", headers=api)).json()["status"] == "placed"

    arrived = await post_form(client, path + "/arrival", {"note": "came with the officer"}, page=path)
    assert arrived.status_code == 303 and arrived.headers["location"] == path
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=api)).json()
    assert view["status"] == "arrived" and view["history"][-1]["kind"] == "arrival_recorded"
    assert view["history"][-1]["reason"] == "came with the officer"
    page = await client.get(path)
    assert 'id="referral-status">arrived</strong>' in page.text and 'id="record-arrival"' not in page.text
    assert 'id="close-referral"' in page.text
    again = await post_form(client, path + "/arrival", {}, page=path)
    assert again.status_code == 409 and "An arrival can be recorded only once a need is placed" in again.text

    no_outcome = await post_form(client, path + "/close", {"outcome": "finished"}, page=path)
    assert no_outcome.status_code == 422 and 'id="outcome-error"' in no_outcome.text
    closed = await post_form(client, path + "/close", {"outcome": "services_started"}, page=path)
    assert closed.status_code == 303 and closed.headers["location"] == path
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=api)).json()
    assert view["status"] == "closed" and view["outcome"] == "services_started" and view["history"][-1]["kind"] == "referral_closed"
    ro = await client.get(path, headers={"Accept-Language": "ro"})
    assert 'id="referral-outcome">Serviciile au început</span>' in ro.text and 'id="close-referral"' not in ro.text


async def test_arrival_once_a_need_is_placed_though_the_other_has_nobody(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    """An unplaced referral offers no arrival or closing until a need is placed, then both (the person goes there)."""
    p = Providers(client, tokens, admin)
    home, _ = await p.org("Casa Copiilor", residential("Casa de tip familial"))  # no counselling anywhere
    mine = await officer(client, clock, tokens, "ana@ipj.example.ro")
    api = tokens.make("institution", organisation=mine, name="api reader")
    referral = await refer_boy(client, api, mode="parallel")
    path = f"/institution/referrals/{referral['id']}"
    page = await client.get(path)
    assert 'id="referral-status">unplaced</strong>' in page.text
    assert 'id="record-arrival"' not in page.text and 'id="close-referral"' not in page.text
    await client.post(f"/api/v1/offers/{need(referral, 'child_residential')['offers'][0]['id']}/accept", headers=p.ngo[home])
    page = await client.get(path)
    assert 'id="referral-status">unplaced</strong>' in page.text
    assert 'id="record-arrival"' in page.text and 'id="close-referral"' in page.text
    arrived = await post_form(client, path + "/arrival", {}, page=path)
    assert arrived.status_code == 303
    page = await client.get(path)
    assert 'id="referral-status">arrived</strong>' in page.text and 'id="record-arrival"' not in page.text
    listed = await client.get("/institution/referrals", headers={"Accept-Language": "ro"})
    assert f'id="unplaced-{referral["id"]}-psychological_counselling">Consiliere psihologică: neplasată</small>' in listed.text


async def test_arrival_at_one_need_of_two_from_the_page(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    """With two placed needs the officer says where the person arrived; the page shows each need's arrival."""
    p, home, _, talk = await home_and_talk(client, tokens, admin)
    mine = await officer(client, clock, tokens, "ana@ipj.example.ro")
    referral = await refer_boy(client, tokens.make("institution", organisation=mine, name="api"), mode="parallel")
    path = f"/institution/referrals/{referral['id']}"
    assert (await client.post(f"/api/v1/offers/{need(referral, 'child_residential')['offers'][0]['id']}/accept", headers=p.ngo[home])).status_code == 200
    partial = await client.get(path)
    assert 'id="cancel"' in partial.text  # a partially placed referral can be cancelled from the page too
    assert 'id="arrival-need"' not in partial.text  # one placed need: nothing to choose
    assert (await client.post(f"/api/v1/offers/{need(referral, 'psychological_counselling')['offers'][0]['id']}/accept", headers=p.ngo[talk])).status_code == 200
    page = await client.get(path, headers={"Accept-Language": "ro"})
    assert 'id="arrival-need"' in page.text and '<option value="child_residential">' in page.text and "toate nevoile plasate" in page.text
    arrived = await post_form(client, path + "/arrival", {"need": "child_residential"}, page=path)
    assert arrived.status_code == 303
    page = await client.get(path)
    assert 'id="need-child_residential-arrived"' in page.text and 'id="need-psychological_counselling-arrived"' not in page.text
    assert 'id="record-arrival"' in page.text and 'id="arrival-need"' not in page.text  # counselling is left
    assert 'id="outcome-hint"' in page.text  # closing now would free counselling's place, if it held one
    assert (await post_form(client, path + "/arrival", {}, page=path)).status_code == 303
    page = await client.get(path)
    assert 'id="record-arrival"' not in page.text and 'id="outcome-hint"' not in page.text and 'id="close-referral"' in page.text
    # The timeline names each event's provider and need.
    timeline = page.text[page.text.index('id="timeline"'):]
    assert "offer accepted · Casa Copiilor · Residential care for children" in timeline
    assert "arrival recorded · Psychological counselling" in timeline


async def test_another_institution_cannot_record_arrival_or_close(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    net = await network(client, tokens, admin, n=1)
    mine = await officer(client, clock, tokens, "ana@ipj.example.ro")
    referral = await _referral_of(client, tokens, mine, [net.services[0]["id"]])
    await client.post(f"/api/v1/offers/{referral['offers'][0]['id']}/accept", headers=net.ngos[0])
    path = f"/institution/referrals/{referral['id']}"
    await officer(client, clock, tokens, "other@dgaspc.example.ro")  # another institution
    for action, form in (("arrival", {"note": "came"}), ("close", {"outcome": "services_started"}), ("close", {"outcome": "finished"})):
        stranger = await post_form(client, f"{path}/{action}", form)
        assert stranger.status_code == 404, (action, stranger.text)
        assert net.services[0]["name"] not in stranger.text
    status = in_app(client, lambda: Referral.select(Referral.status).where(Referral.id == referral["id"]).first())
    assert status["status"] == "placed"


async def test_a_need_marked_desired_and_the_farthest_distance_reach_the_referral(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    """The form's "desired" mark (of a ticked need only) and the farthest distance are the profile's; a search left
    empty by distance offers to search at any distance."""
    near = await make_org(client, admin, "Asociația Aproape")
    service = await make_service(client, admin, near["id"], shelter(name="Casa Aproape"))  # works in București and Ilfov
    await officer(client, clock, tokens, "ana@ipj.example.ro")
    body = {**FORM, "needs": ["residential_shelter", "psychological_counselling"], "desired": ["psychological_counselling", "legal_counselling"],
            "max_distance_km": "50"}  # legal counselling marked desired but not ticked: not a need
    candidates = await post_form(client, "/institution/referrals/new", body)
    assert candidates.status_code == 200, candidates.text
    profile = json.loads(html.unescape(re.search(r'name="profile" value="([^"]+)"', candidates.text).group(1)))
    assert profile["max_distance_km"] == 50
    assert {n["service_type"]: n["priority"] for n in profile["needs"]} == {"residential_shelter": "required", "psychological_counselling": "desired"}
    wrong = await post_form(client, "/institution/referrals/new", {**FORM, "max_distance_km": "5000"})
    assert wrong.status_code == 422 and 'id="max_distance_km-error"' in wrong.text
    far = await post_form(client, "/institution/referrals/new", {**FORM, "county": "RO-CT", "locality": "", "max_distance_km": "25"})
    assert f'id="candidate-{service["id"]}"' not in far.text and "Search again at any distance" in far.text, far.text
    anywhere = await post_form(client, "/institution/referrals/new", {**FORM, "county": "RO-CT", "locality": ""})
    assert f'id="candidate-{service["id"]}"' in anywhere.text  # outside its area, far, but the person may travel
