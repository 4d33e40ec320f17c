"""The NGO's organisation pages: contact and notification settings saved through the API's rules, services with
their eligibility and a confidential site's address (its own organisation only), the webhook secret shown once;
people: the organisation's administrator invites (set-password link through the outbox) and deactivates
colleagues, a non-admin only reads, nobody acts on another organisation's people."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from referralnet.accounts import people
from referralnet.clock import FixedClock
from referralnet.notifications import email
from referralnet.notifications.signing import instance_key
from referralnet.tables import Notification, Organisation, Person
from tests.conftest import in_app
from tests.integration.helpers import make_org, make_service, shelter
from tests.integration.test_ngo_pages import CAPACITY, person, post
from tests.integration.test_people import PASSWORD, csrf_of, sign_in

SECRET_SITE = {"county": "RO-IS", "locality": "Iași", "address": "Strada Ascunsă 7", "confidential": True}


async def test_organisation_profile_contact_services_and_webhook(client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str]) -> None:
    org = await make_org(client, admin, "Asociația Alfa", referral_email="alfa@example.org")
    sid = (await make_service(client, admin, org["id"], shelter(name="Casa Alfa", capacity=CAPACITY, sites=[SECRET_SITE])))["id"]
    await person(client, clock, "ana@alfa.example.org", "ngo", org["id"])

    page = await client.get("/ngo/organisation")
    assert page.status_code == 200 and "Casa Alfa" in page.text and 'value="alfa@example.org"' in page.text
    assert "Strada Ascunsă 7" in page.text and "confidential address" in page.text
    assert "Age eligibility" in page.text and "18" in page.text and "Female" in page.text  # the registry's and vocabulary's texts
    assert 'id="history"' not in (await client.get(f"/ngo/services/{sid}")).text
    assert (await post(client, f"/ngo/services/{sid}/capacity", {"action": "minus"}, "/ngo")).status_code == 303
    service = await client.get(f"/ngo/services/{sid}")
    assert service.status_code == 200 and "Strada Ascunsă 7" in service.text and 'id="history"' in service.text and "5 → 4" in service.text

    saved = await post(client, "/ngo/organisation", {"referral_email": "oferte@alfa.example.org", "referral_phone": "+40 232 000 000",
                                                      "phone_24h": "", "website": "https://alfa.example.org", "webhook_url": ""},
                       "/ngo/organisation")  # fmt: skip
    assert saved.status_code == 303
    api = (await client.get(f"/api/v1/organisations/{org['id']}", headers=admin)).json()
    assert api["referral_email"] == "oferte@alfa.example.org" and api["referral_phone"] == "+40 232 000 000" and api["website"] == "https://alfa.example.org"
    bad_phone = await post(client, "/ngo/organisation", {"referral_email": "oferte@alfa.example.org", "referral_phone": "call us"}, "/ngo/organisation")
    assert bad_phone.status_code == 422 and 'id="referral_phone-error"' in bad_phone.text
    both = await post(client, "/ngo/organisation", {"referral_email": "x@@y", "referral_phone": "call us", "website": "ftp//x"}, "/ngo/organisation")
    assert both.status_code == 422 and all(f'id="{name}-error"' in both.text for name in ("referral_email", "referral_phone", "website"))
    inner = await post(client, "/ngo/organisation", {"referral_email": "oferte@alfa.example.org", "webhook_url": "https://127.0.0.1/hook"},
                       "/ngo/organisation")  # fmt: skip
    assert inner.status_code == 422 and 'id="webhook_url-error"' in inner.text
    assert (await client.get(f"/api/v1/organisations/{org['id']}", headers=admin)).json()["webhook_url"] is None

    shown = await post(client, "/ngo/organisation/webhook-secret", {}, "/ngo/organisation")
    secret = re.search(r'<code id="secret">([^<]+)</code>', shown.text)
    assert shown.status_code == 200 and secret and shown.headers["cache-control"] == "no-store"
    stored = in_app(client, lambda: Organisation.select(Organisation.webhook_secret).where(Organisation.id == org["id"]).first())
    assert stored["webhook_secret"] and secret.group(1) not in stored["webhook_secret"]  # sealed, never in clear
    assert secret.group(1) not in (await client.get("/ngo/organisation")).text

    beta = await make_org(client, admin, "Asociația Beta")
    await person(client, clock, "ion@beta.example.org", "ngo", beta["id"])
    other = await client.get(f"/ngo/services/{sid}")
    assert other.status_code == 404 and "Strada Ascunsă 7" not in other.text and "Casa Alfa" not in other.text
    mine = await client.get("/ngo/organisation")
    assert "Asociația Beta" in mine.text and "Casa Alfa" not in mine.text and "oferte@alfa" not in mine.text
    await post(client, "/ngo/organisation", {"referral_email": "beta@example.org"}, "/ngo/organisation")
    assert (await client.get(f"/api/v1/organisations/{org['id']}", headers=admin)).json()["referral_email"] == "oferte@alfa.example.org"


async def invite_url(client: AsyncTestClient[Any], to: str) -> str:
    """The set-password link of the invitation e-mail, as the dispatcher would render it."""
    row = in_app(client, lambda: Notification.select().where(Notification.kind == "person_invite", Notification.recipient == to).first())
    assert row is not None and row["channel"] == "email" and "password" not in str(row["payload"])
    settings = client.app.state.settings
    text = in_app(client, lambda: _render(row, settings, client.app.state.clock.now()))
    found = re.search(r"/password/set/(\S+)", text)
    assert found, text
    return found.group(0)


async def _render(row: dict[str, Any], settings: Any, now: Any) -> str:
    return await email.render_text(row, settings, now, await instance_key(settings.secret_key))


async def test_org_admin_invites_and_deactivates_colleagues(client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str]) -> None:
    org = await make_org(client, admin, "Asociația Alfa")
    beta = await make_org(client, admin, "Asociația Beta")
    in_app(client, people.create_person, email="sef@alfa.example.org", name="Șef Alfa", role="ngo", organisation=org["id"],
           password=PASSWORD, now=clock.now(), org_admin=True)  # fmt: skip
    stranger = in_app(client, people.create_person, email="x@beta.example.org", name="Ion Beta", role="ngo", organisation=beta["id"],
                      password=PASSWORD, now=clock.now())  # fmt: skip
    client.cookies.clear()
    assert (await sign_in(client, email="sef@alfa.example.org")).status_code == 303
    page = await client.get("/ngo/people")
    assert page.status_code == 200 and 'id="invite-form"' in page.text and "Ion Beta" not in page.text

    missing = await post(client, "/ngo/people", {"name": "", "email": "nope"}, "/ngo/people")
    assert missing.status_code == 422 and 'id="name-error"' in missing.text and 'id="email-error"' in missing.text
    invited = await post(client, "/ngo/people", {"name": "Maria Alfa", "email": "maria@alfa.example.org"}, "/ngo/people")
    assert invited.status_code == 303
    maria = in_app(client, lambda: Person.select().where(Person.email == "maria@alfa.example.org").first())
    assert maria["role"] == "ngo" and maria["organisation"] == org["id"] and maria["password_hash"] is None and not maria["org_admin"]
    taken = await post(client, "/ngo/people", {"name": "Again", "email": "x@beta.example.org"}, "/ngo/people")
    assert taken.status_code == 409 and "already has an account" in taken.text

    # Maria chooses her password from the e-mailed link and signs in; she sees the list, read-only.
    link = await invite_url(client, "maria@alfa.example.org")
    client.cookies.clear()
    token = await csrf_of(client, link)
    chosen = await client.post(link, data={"password": "another long passphrase", "confirm": "another long passphrase", "_csrf_token": token},
                               follow_redirects=False)  # fmt: skip
    assert chosen.status_code == 303
    assert (await sign_in(client, email="maria@alfa.example.org", password="another long passphrase")).status_code == 303
    read_only = await client.get("/ngo/people")
    assert read_only.status_code == 200 and 'id="read-only"' in read_only.text and 'id="invite-form"' not in read_only.text
    refused = await post(client, "/ngo/people", {"name": "Someone", "email": "someone@alfa.example.org"}, "/ngo/people")
    assert refused.status_code == 403 and in_app(client, lambda: Person.count().where(Person.email == "someone@alfa.example.org")) == 0
    admin_id = in_app(client, lambda: Person.select(Person.id).where(Person.email == "sef@alfa.example.org").first())["id"]
    assert (await post(client, f"/ngo/people/{admin_id}/deactivate", {}, "/ngo/people")).status_code == 403
    maria_session = dict(client.cookies)

    # The administrator deactivates Maria: her session ends at once; another organisation's person is out of reach.
    client.cookies.clear()
    assert (await sign_in(client, email="sef@alfa.example.org")).status_code == 303
    assert (await post(client, f"/ngo/people/{maria['id']}/deactivate", {}, "/ngo/people")).status_code == 303
    foreign = await post(client, f"/ngo/people/{stranger['id']}/deactivate", {}, "/ngo/people")
    assert foreign.status_code == 404
    assert in_app(client, lambda: Person.select(Person.active).where(Person.id == stranger["id"]).first())["active"] is True
    client.cookies.clear()
    client.cookies.update(maria_session)
    gone = await client.get("/ngo/people", follow_redirects=False)
    assert gone.status_code == 303 and gone.headers["location"].startswith("/sign-in")


async def test_cli_flag_makes_an_org_admin(client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str]) -> None:
    from referralnet.cli import build_parser

    args = build_parser().parse_args(["user", "create", "--email", "a@b.ro", "--name", "A", "--role", "ngo", "--organisation", "alfa", "--org-admin"])
    assert args.org_admin is True
    assert build_parser().parse_args(["user", "create", "--email", "a@b.ro", "--name", "A", "--role", "ngo"]).org_admin is False
    import pytest

    from referralnet.errors import InvalidInput

    with pytest.raises(InvalidInput):
        in_app(client, people.create_person, email="s@b.ro", name="S", role="secretariat", organisation=None, password=None,
               now=clock.now(), org_admin=True)  # fmt: skip
