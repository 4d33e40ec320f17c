"""People sign in to the pages: sessions in the database, CSRF, the rate limit, links, and the audit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient

from referralnet.accounts import people, sessions
from referralnet.app import create_app
from referralnet.clock import FixedClock
from referralnet.errors import BadLink, InvalidInput
from referralnet.settings import Settings
from referralnet.tables import AuditLog, Person
from tests.conftest import in_app

PASSWORD = "correct horse battery staple"
EMAIL = "ana.pop@example.org"


def add_person(client: AsyncTestClient[Any], clock: FixedClock, *, email: str = EMAIL, role: str = "secretariat",
               organisation: Any = None, password: str | None = PASSWORD) -> dict[str, Any]:  # fmt: skip
    return in_app(client, people.create_person, email=email, name="Ana Pop", role=role, organisation=organisation,
                  password=password, now=clock.now())  # fmt: skip


async def csrf_of(client: AsyncTestClient[Any], path: str = "/sign-in") -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match, "the form carries no CSRF token"
    return match.group(1)


async def sign_in(client: AsyncTestClient[Any], email: str = EMAIL, password: str = PASSWORD, next_path: str = "/") -> Any:
    token = await csrf_of(client)
    return await client.post("/sign-in", data={"email": email, "password": password, "next": next_path, "_csrf_token": token},
                             follow_redirects=False)  # fmt: skip


async def test_sign_in_sets_a_session_cookie_and_reaches_home(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    first = await client.get("/", follow_redirects=False)
    assert first.headers["location"] == "/sign-in"
    csrf_cookie = next(h for k, h in first.headers.multi_items() if k == "set-cookie" and h.startswith("csrftoken="))
    assert {"httponly", "samesite=lax"} <= {part.strip().lower() for part in csrf_cookie.split(";")[1:]}
    resp = await sign_in(client, email="  ANA.POP@example.org ")
    assert resp.status_code == 303 and resp.headers["location"] == "/secretariat"  # the secretariat's home
    cookie = next(h for k, h in resp.headers.multi_items() if k == "set-cookie" and h.startswith("rn_session="))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in flags and "samesite=lax" in flags and "secure" not in flags
    home = await client.get("/home")
    assert home.status_code == 200 and "Ana Pop" in home.text
    assert home.headers["x-frame-options"] == "DENY" and home.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in home.headers["content-security-policy"] and "default-src 'none'" in home.headers["content-security-policy"]
    assert (await client.get("/", follow_redirects=False)).headers["location"] == "/secretariat"


async def test_secure_cookie_when_served_over_https(settings: Settings, clock: FixedClock) -> None:
    app = create_app(msgspec_replace(settings, cookie_secure=True), clock=clock)
    async with AsyncTestClient(app=app, base_url="https://testserver.local") as client:
        add_person(client, clock)
        resp = await sign_in(client)
        cookie = next(h for k, h in resp.headers.multi_items() if k == "set-cookie" and h.startswith("rn_session="))
        assert "secure" in {p.strip().lower() for p in cookie.split(";")}


def msgspec_replace(settings: Settings, **changes: Any) -> Settings:
    import msgspec

    return msgspec.structs.replace(settings, **changes)


async def test_wrong_password_and_unknown_address_get_the_same_answer(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    wrong = await sign_in(client, password="not the right password")
    unknown = await sign_in(client, email="nobody@example.org")
    assert wrong.status_code == unknown.status_code == 401
    message = "The e-mail address or the password is not right."
    assert message in wrong.text and message in unknown.text
    assert "rn_session" not in wrong.headers.get("set-cookie", "")
    assert (await client.get("/home", follow_redirects=False)).status_code == 303


async def test_post_without_csrf_token_is_refused(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    await client.get("/sign-in")  # the CSRF cookie is set, but the form field is missing
    resp = await client.post("/sign-in", data={"email": EMAIL, "password": PASSWORD}, follow_redirects=False)
    assert resp.status_code == 403
    assert in_app(client, lambda: AuditLog.count().where(AuditLog.action == "sign_in")) == 0
    assert (await sign_in(client)).status_code == 303
    resp = await client.post("/sign-out", follow_redirects=False)  # signed in, still no token: refused
    assert resp.status_code == 403
    assert (await client.get("/home")).status_code == 200


async def test_bearer_api_needs_no_csrf_token(client: AsyncTestClient[Any], admin: dict[str, str]) -> None:
    resp = await client.post("/api/v1/organisations", json={"name": "Asociația Test"}, headers=admin)
    assert resp.status_code == 201, resp.text


async def test_a_session_cookie_does_not_authenticate_the_api(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    await sign_in(client)
    assert (await client.get("/api/v1/referrals")).status_code == 401


async def test_sixth_failure_is_429_also_after_a_restart(settings: Settings, clock: FixedClock) -> None:
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as client:
        add_person(client, clock)
        for _ in range(5):
            clock.advance(seconds=30)
            assert (await sign_in(client, password="wrong password here")).status_code == 401
        clock.advance(seconds=30)
        resp = await sign_in(client)  # the right password, but the account is locked for now
        assert resp.status_code == 429 and int(resp.headers["retry-after"]) > 0
    async with AsyncTestClient(app=create_app(settings, clock=clock)) as restarted:  # a new process on the same database
        resp = await sign_in(restarted)
        assert resp.status_code == 429
        wait = int(resp.headers["retry-after"])
        assert 0 < wait <= 15 * 60 - 150 + 1
        clock.advance(seconds=wait)
        assert (await sign_in(restarted)).status_code == 303


async def test_twenty_failures_from_one_address_block_it(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    for i in range(20):
        assert (await sign_in(client, email=f"guess{i}@example.org")).status_code == 401
    assert (await sign_in(client)).status_code == 429


async def test_deactivated_persons_open_session_is_refused(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    await sign_in(client)
    assert (await client.get("/home")).status_code == 200
    in_app(client, people.deactivate, EMAIL, clock.now())
    resp = await client.get("/home", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/sign-in?next=/home"
    assert (await sign_in(client)).status_code == 401  # and cannot sign in again


async def test_role_change_ends_the_session(client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str]) -> None:
    add_person(client, clock)
    await sign_in(client)
    in_app(client, people.change_role, EMAIL, "admin", None, clock.now())
    assert (await client.get("/home", follow_redirects=False)).status_code == 303


async def test_session_ends_after_30_idle_minutes_and_12_hours(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    await sign_in(client)
    clock.advance(minutes=29)
    assert (await client.get("/home")).status_code == 200
    clock.advance(minutes=31)
    assert (await client.get("/home", follow_redirects=False)).status_code == 303
    await sign_in(client)
    for _ in range(12 * 3):  # active every 20 minutes, never idle, yet over after 12 hours
        clock.advance(minutes=20)
        last = await client.get("/home", follow_redirects=False)
        if last.status_code != 200:
            break
    assert last.status_code == 303 and (clock.now() - clock.now()).total_seconds() == 0


async def test_sign_out_ends_the_session_and_is_audited(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    await sign_in(client, password="wrong password here")
    first = await sign_in(client)
    stolen = first.cookies.get("rn_session") or client.cookies.get("rn_session")
    token = await csrf_of(client, "/home")
    assert (await client.post("/sign-out", data={"_csrf_token": token}, follow_redirects=False)).status_code == 303
    client.cookies.set("rn_session", stolen)
    assert (await client.get("/home", follow_redirects=False)).status_code == 303  # the old cookie no longer works
    actions = in_app(client, lambda: AuditLog.select(AuditLog.action, AuditLog.outcome).where(AuditLog.object_type == "person").order_by(AuditLog.id))
    assert [(a["action"], a["outcome"]) for a in actions] == [("sign_in", "failed"), ("sign_in", "allowed"), ("sign_out", "allowed")]


async def test_next_is_a_local_path_only(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    resp = await client.get("/home", follow_redirects=False)
    assert resp.headers["location"] == "/sign-in?next=/home"
    assert (await sign_in(client, next_path="/home")).headers["location"] == "/home"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        client.cookies.clear()
        assert (await sign_in(client, next_path=evil)).headers["location"] == "/secretariat"  # the role's home, not elsewhere


def test_password_rules() -> None:
    from referralnet.accounts import passwords

    for bad in ("short pass", "passwordpassword", "123456789012", "aaaaaaaaaaaaaa", "Iloveyou1234".lower()):
        with pytest.raises(InvalidInput) as info:
            passwords.check_new(bad)
        assert info.value.field == "password" and bad not in info.value.detail
    passwords.check_new(PASSWORD)  # long and uncommon; no composition rules
    assert len(passwords.common_passwords()) == 30_000


async def test_hash_is_argon2id_and_rehashed_when_parameters_change(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    row = add_person(client, clock)
    stored = in_app(client, lambda: Person.select(Person.password_hash).where(Person.id == row["id"]).first())["password_hash"]
    assert stored.startswith("$argon2id$")
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    in_app(client, lambda: Person.update({Person.password_hash: weak}).where(Person.id == row["id"]))
    assert (await sign_in(client)).status_code == 303
    after = in_app(client, lambda: Person.select(Person.password_hash).where(Person.id == row["id"]).first())["password_hash"]
    assert after != weak and not PasswordHasher().check_needs_rehash(after)


async def test_reset_never_says_whether_an_account_exists(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    answers = []
    for address in (EMAIL, "nobody@example.org"):
        token = await csrf_of(client, "/password/reset")
        resp = await client.post("/password/reset", data={"email": address, "_csrf_token": token})
        answers.append((resp.status_code, resp.text.replace(address, "")))
    assert answers[0] == answers[1] and answers[0][0] == 200


async def test_reset_link_works_once_within_an_hour(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    add_person(client, clock)
    link = in_app(client, sessions.request_reset, EMAIL, clock.now())
    assert link is not None
    await sign_in(client)  # a session opened before the reset ends with it
    csrf = await csrf_of(client, f"/password/set/{link}")
    new = "a different long passphrase"
    resp = await client.post(f"/password/set/{link}", data={"password": new, "confirm": new, "_csrf_token": csrf}, follow_redirects=False)
    assert resp.status_code == 303
    assert (await client.get("/home", follow_redirects=False)).status_code == 303
    with pytest.raises(BadLink):
        in_app(client, people.use_link, link, "yet another long passphrase", clock.now())
    assert (await sign_in(client)).status_code == 401
    assert (await sign_in(client, password=new)).status_code == 303
    late = in_app(client, sessions.request_reset, EMAIL, clock.now())
    clock.advance(minutes=61)
    with pytest.raises(BadLink):
        in_app(client, people.use_link, late, "yet another long passphrase", clock.now())


async def test_set_password_form_keeps_errors_beside_the_field(client: AsyncTestClient[Any], clock: FixedClock) -> None:
    row = add_person(client, clock, password=None)
    link = in_app(client, people.make_link, row["id"], "invite", clock.now())
    csrf = await csrf_of(client, f"/password/set/{link}")
    resp = await client.post(f"/password/set/{link}", data={"password": "qwertyuiopas", "confirm": "qwertyuiopas", "_csrf_token": csrf})
    assert resp.status_code == 422 and 'aria-describedby="rule password-error"' in resp.text and "too common" in resp.text
    assert "qwertyuiopas" not in resp.text
    clock.advance(hours=23)
    resp = await client.post(f"/password/set/{link}", data={"password": PASSWORD, "confirm": PASSWORD, "_csrf_token": csrf}, follow_redirects=False)
    assert resp.status_code == 303
    assert (await sign_in(client)).status_code == 303


async def test_organisation_rules(client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str]) -> None:
    with pytest.raises(InvalidInput) as info:
        add_person(client, clock, role="ngo")
    assert info.value.field == "organisation"
    org = (await client.post("/api/v1/organisations", json={"name": "Asociația Sprijin"}, headers=admin)).json()
    row = add_person(client, clock, role="ngo", organisation=org["slug"])
    assert row["organisation"] == org["id"]
    await sign_in(client)
    home = (await client.get("/home")).text
    assert f"#{org['id']}" in home and "Asociația Sprijin" in home
