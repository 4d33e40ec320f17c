"""Pages in Romanian and English: chosen from Accept-Language, switched on any page and remembered."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from referralnet.clock import FixedClock
from tests.integration.test_people import EMAIL, add_person, csrf_of

RO = {"Accept-Language": "ro-RO,ro;q=0.9,en;q=0.5"}


async def test_sign_in_page_follows_accept_language(client: AsyncTestClient[Any]) -> None:
    ro = await client.get("/sign-in", headers=RO)
    assert '<html lang="ro">' in ro.text and "<h1>Autentificare</h1>" in ro.text and 'for="password">Parola<' in ro.text
    en = await client.get("/sign-in", headers={"Accept-Language": "en-GB"})
    assert '<html lang="en">' in en.text and "<h1>Sign in</h1>" in en.text
    plain = await client.get("/sign-in")
    assert '<html lang="en">' in plain.text  # no preference: English


async def test_failure_message_in_the_pages_language(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    token = await csrf_of(client)
    resp = await client.post("/sign-in", data={"email": EMAIL, "password": "not the right one", "_csrf_token": token}, headers=RO)
    assert resp.status_code == 401
    assert "Adresa de e-mail sau parola nu este corectă." in resp.text
    assert 'aria-describedby="sign-in-error"' in resp.text


async def test_switch_is_remembered_and_returns_to_the_page(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/password/reset", headers={"Accept-Language": "en"})
    assert 'href="/language/ro?next=/password/reset"' in page.text
    resp = await client.get("/language/ro?next=/password/reset", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/password/reset"
    cookie = next(h for k, h in resp.headers.multi_items() if k == "set-cookie" and h.startswith("rn_lang=ro"))
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    again = await client.get("/password/reset", headers={"Accept-Language": "en"})  # the choice wins
    assert '<html lang="ro">' in again.text and "Resetați parola" in again.text
    back = await client.get("/language/en?next=/sign-in", follow_redirects=False)
    assert back.headers["location"] == "/sign-in"
    assert '<html lang="en">' in (await client.get("/sign-in", headers=RO)).text


async def test_switch_refuses_other_languages_and_foreign_targets(client: AsyncTestClient[Any]) -> None:
    resp = await client.get("/language/de?next=//evil.example/", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/"
    assert "rn_lang" not in resp.headers.get("set-cookie", "")


async def test_one_click_pages_in_romanian(client: AsyncTestClient[Any], settings: Any, tokens: Any) -> None:
    from tests.integration.test_respond import assert_safe_headers, case

    c = await case(client, settings, tokens)
    page = await client.get(c.link(0, "accept"), headers=RO)
    assert page.status_code == 200 and '<html lang="ro">' in page.text
    assert "<h1>Acceptați această referire?</h1>" in page.text and "Confirmați: acceptați această referire" in page.text
    assert "ora României" in page.text and "(urgent)" in page.text
    assert_safe_headers(page)
    done = await client.post(c.link(0, "accept"), headers=RO)
    assert done.status_code == 200 and "<h1>Acceptată</h1>" in done.text and "Un loc este rezervat pentru persoană." in done.text
    again = await client.post(c.link(0, "accept"), headers=RO)
    assert again.status_code == 409 and "Nu s-a schimbat nimic." in again.text
    decline = await client.get(c.link(1, "decline"), headers=RO)
    assert decline.status_code == 409 and "<h1>Nu mai este deschisă</h1>" in decline.text


async def test_pages_name_their_icon_so_browsers_ask_for_no_missing_one(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/sign-in")
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    icon = await client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml") and icon.text.startswith("<svg")
