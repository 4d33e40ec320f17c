"""Browser tests of the people's pages: sign-in in Romanian, the language switch, sign-out; every request
the browser makes goes to the server itself."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser

from referralnet.accounts import people
from referralnet.accounts.schemas import SYSTEM
from referralnet.accounts.services import create_token
from referralnet.clock import SystemClock
from referralnet.directory.schemas import OrganisationCreate
from referralnet.directory.services import create_organisation
from tests.e2e.support import PASSWORD, Recorder, Site, accessible, serve, settings_for, shoot, sign_in

pytestmark = pytest.mark.e2e
OFFICER = "agent.popescu@ipj-cluj.example.ro"
COLLEAGUE = "agent.ionescu@ipj-cluj.example.ro"
STRANGER = "asistent@dgaspc-iasi.example.ro"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    settings = settings_for(tmp_path_factory, "e2e-pages", "e2e-pages")

    async def prepare() -> dict[str, str]:
        police = await create_organisation(
            OrganisationCreate(name="IPJ Cluj", slug="ipj-cluj", kind="institution", institution_type="police"), SYSTEM, SystemClock()
        )
        dgaspc = await create_organisation(
            OrganisationCreate(name="DGASPC Iași", slug="dgaspc-is", kind="institution", institution_type="child_protection"),
            SYSTEM, SystemClock(),
        )
        for email, name, org in ((OFFICER, "Ana Popescu", police.id), (COLLEAGUE, "Ion Ionescu", police.id), (STRANGER, "Maria Rusu", dgaspc.id)):
            await people.create_person(email=email, name=name, role="institution", organisation=org, password=PASSWORD,
                                       now=SystemClock().now())  # fmt: skip
        return {"admin": (await create_token(role="admin", name="e2e admin"))[0]}

    with serve(settings, prepare) as (base, tokens):
        yield Site(base, tokens)


@pytest.fixture(scope="module")
def base(site: Site) -> str:
    return site.base


def test_sign_in_in_romanian_switch_language_and_sign_out(base: str, browser: Browser) -> None:
    context = browser.new_context(locale="ro-RO", viewport={"width": 360, "height": 740})
    page = context.new_page()
    seen = Recorder(page)
    page.goto(f"{base}/home")
    assert page.url == f"{base}/sign-in?next=/home"
    assert page.locator("html").get_attribute("lang") == "ro"
    assert page.locator("h1").inner_text() == "Autentificare"
    page.get_by_label("Adresa de e-mail").fill(OFFICER)
    page.get_by_label("Parola").fill("nu este parola corectă")
    page.get_by_role("button", name="Autentificare").click()
    error = page.locator("#sign-in-error")
    assert error.inner_text() == "Adresa de e-mail sau parola nu este corectă."
    accessible(page)
    assert page.locator("#password").get_attribute("aria-describedby") == "sign-in-error"
    assert page.locator("#email").input_value() == OFFICER  # kept; the password is not
    page.get_by_label("Parola").fill(PASSWORD)
    page.get_by_role("button", name="Autentificare").click()
    page.wait_for_url(f"{base}/home")
    assert page.locator("h1").inner_text() == "Autentificat"
    assert page.locator("#person-name").inner_text() == "Ana Popescu"
    assert page.locator("#person-role").inner_text() == "Instituție"
    accessible(page)

    page.locator("#lang-en").click()
    page.wait_for_url(f"{base}/home")
    assert page.locator("html").get_attribute("lang") == "en" and page.locator("h1").inner_text() == "Signed in"
    page.reload()
    assert page.locator("h1").inner_text() == "Signed in"  # remembered, although the browser prefers Romanian

    page.locator("#sign-out").click()
    page.wait_for_url(f"{base}/sign-in")
    page.goto(f"{base}/home")
    assert page.url.startswith(f"{base}/sign-in")
    seen.assert_local(base)
    context.close()


def test_keyboard_reaches_the_form_with_visible_focus(base: str, browser: Browser) -> None:
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/sign-in")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "email":
            break
    assert page.evaluate("document.activeElement.id") == "email"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    context.close()


def test_institution_refers_in_romanian_and_sees_it_placed_live(site: Site, browser: Browser) -> None:
    from playwright.sync_api import expect

    base = site.base
    org = site.api("POST", "/api/v1/organisations", json={"name": "Asociația Casa Iașului"})
    body = {"type": "residential_shelter", "name": "Casa Iașului", "eligibility": {"age_min": 18, "genders": ["female"]},
            "sites": [{"county": "RO-IS", "locality": "Iași", "confidential": True}],
            "capacity": {"unit": "beds", "total": 10, "available": 2}}  # fmt: skip
    service = site.api("POST", f"/api/v1/organisations/{org['id']}/services", json=body)

    context = browser.new_context(locale="ro-RO", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = Recorder(page)
    page.goto(f"{base}/sign-in")
    shoot(page, "sign-in")
    sign_in(page, base, OFFICER)
    page.wait_for_url(f"{base}/institution/referrals")
    assert page.locator("h1").inner_text() == "Referirile instituției dumneavoastră"
    page.locator("#new-referral").click()
    page.wait_for_url(f"{base}/institution/referrals/new")
    shoot(page, "new-referral")

    # A missing required choice is named beside its field; nothing is created.
    page.locator("#need-residential_shelter").check()
    page.locator("#age_band").select_option("25-39")
    page.locator("#nationality_group").select_option("romanian")
    page.locator("#county").select_option("RO-IS")
    page.locator("#find").click()
    expect(page.locator("#gender-error")).to_have_text("alegeți genul")
    assert page.locator("#gender").get_attribute("aria-describedby") == "gender-error"
    assert page.locator("#age_band").input_value() == "25-39"  # kept

    # A note holding a phone number is refused beside the field, without echoing it.
    page.locator("#gender").select_option("female")
    page.locator("#locality").fill("Iași")
    page.locator("#note").fill("o puteți suna la 0744 555 123")
    page.locator("#find").click()
    expect(page.locator("#note-error")).to_contain_text("pare să conțină date personale (număr de telefon)")
    shoot(page, "new-referral-refused")
    assert "0744 555 123" not in page.content()  # the note is not echoed (a CSRF token may hold any 4 digits)
    assert site.api("GET", "/api/v1/referrals")["total"] == 0

    page.locator("#find").click()
    card = page.locator(f"#candidate-{service['id']}")
    expect(card).to_contain_text("Casa Iașului")
    assert card.locator("ul.reasons li").count() > 0
    shoot(page, "candidates")
    page.locator("#send").click()  # no service chosen, no consent: both named
    expect(page.locator("#service_ids-error")).to_be_visible()
    expect(page.locator("#consent-error")).to_have_text("confirmați că persoana a fost de acord să fie referită")
    page.locator(f"#candidate-{service['id']} input[type=checkbox]").check()
    page.locator("#consent").check()
    page.locator("#send").click()
    page.wait_for_url(f"{base}/institution/referrals/*")
    detail = page.url
    expect(page.locator("#referral-status")).to_have_text("deschisă")
    expect(page.locator("#need-residential_shelter-status")).to_have_text("deschisă")
    offer_id = int(page.locator("#offers-residential_shelter tbody tr").first.get_attribute("id").removeprefix("offer-"))
    expect(page.locator(f"#offer-{offer_id}")).to_contain_text("în așteptare")
    expect(page.locator("#round-residential_shelter")).to_be_visible()  # an open need can take a second round
    assert page.locator("#contact-residential_shelter").count() == 0
    # A second round finds nobody new (the only provider is already asked): refused beside the button, in Romanian,
    # and the refusal stays there while the status part refreshes itself.
    page.locator("#round-residential_shelter").click()
    error = page.locator("#round-residential_shelter-error")
    expect(error).to_contain_text("Niciun alt furnizor nu poate fi întrebat acum")
    with page.expect_response(lambda r: "/live?" in r.url):
        pass
    expect(error).to_contain_text("Niciun alt furnizor nu poate fi întrebat acum")

    with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
        site.tokens["ngo"] = pool.submit(asyncio.run, create_token(role="ngo", name="e2e provider", organisation=org["id"])).result()[0]
    arrival = "Ne întâlnim la farmacia din gara Iași; sunați la sosire."
    site.api("POST", f"/api/v1/offers/{offer_id}/accept", "ngo", json={"arrival_instructions": arrival})  # elsewhere
    expect(page.locator("#referral-status")).to_have_text("plasată", timeout=20_000)  # nobody reloads: the page follows by itself
    expect(page.locator(f"#offer-{offer_id}")).to_contain_text("acceptată")
    expect(page.locator("#need-residential_shelter-status")).to_have_text("plasată")
    expect(page.locator("#contact-residential_shelter")).to_contain_text(arrival)  # the contact once placed, live
    expect(page.locator("#contact-residential_shelter")).to_contain_text("Instrucțiuni de sosire")
    expect(page.locator("#arrival-note")).to_be_visible()  # the forms a placed referral takes came with it
    assert page.locator("#round-residential_shelter").count() == 0
    expect(page.locator("#timeline")).to_contain_text("ofertă acceptată")  # the history in the page's language
    shoot(page, "referral")
    page.goto(f"{base}/institution/referrals")
    shoot(page, "referrals")
    seen.assert_local(base)
    context.close()

    colleague = browser.new_context(locale="ro-RO", viewport={"width": 360, "height": 740})
    cpage = colleague.new_page()
    sign_in(cpage, base, COLLEAGUE)
    cpage.wait_for_url(f"{base}/institution/referrals")
    cpage.goto(detail)
    expect(cpage.locator("#referral-status")).to_have_text("plasată")
    colleague.close()

    stranger = browser.new_context(locale="en-GB")
    spage = stranger.new_page()
    sign_in(spage, base, STRANGER)
    spage.wait_for_url(f"{base}/institution/referrals")
    response = spage.goto(detail)
    assert response is not None and response.status == 404
    assert spage.locator("#referral-status").count() == 0
    stranger.close()
