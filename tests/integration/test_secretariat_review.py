"""The secretariat's review, members and people pages: lists and their CSVs, the one-click capacity reminder (sent
once), a failed message retried and then sent, tasks answered on the provider's behalf, organisations added,
edited and deactivated, people invited (through the outbox), changed and deactivated (their sessions end), a
bound secretariat's view, and institution and NGO people refused."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient

from referralnet.accounts import people, sessions
from referralnet.clock import FixedClock
from referralnet.directory.networks import bound_codes
from referralnet.notifications.dispatch import dispatch_due
from referralnet.settings import Settings
from referralnet.tables import AuditLog, Notification, Offer, Organisation, Person
from tests.conftest import Tokens, in_app
from tests.integration.helpers import make_org, make_service, shelter
from tests.integration.test_ngo_pages import person, post, refer
from tests.integration.test_people import PASSWORD, sign_in

CAPACITY = {"unit": "beds", "total": 10, "available": 5}
SITES = [{"county": "RO-IS", "locality": "Iași", "address": "Strada Ascunsă 7", "confidential": True}]
SEC = "coordonator@secretariat.example.org"


def smtp(settings: Settings, port: int) -> Settings:
    return msgspec.structs.replace(settings, smtp_host="127.0.0.1", smtp_port=port, mail_from="referralnet@network.test",
                                   public_url="https://referralnet.example")  # fmt: skip


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def rows_of(client: AsyncTestClient[Any], table: Any, *where: Any) -> list[dict[str, Any]]:
    return in_app(client, lambda: table.select().where(*where))  # type: ignore[no-any-return]


async def provider(client: AsyncTestClient[Any], admin: dict[str, str], name: str, **org: Any) -> tuple[dict[str, Any], int]:
    made = await make_org(client, admin, f"Asociația {name}", **org)
    service = await make_service(client, admin, made["id"], shelter(name=f"Casa {name}", capacity=CAPACITY, sites=SITES))
    return made, service["id"]


async def test_institution_and_ngo_people_never_get_the_pages(client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str]) -> None:
    org, _ = await provider(client, admin, "Alfa", referral_email="alfa@example.org")
    pages = ["/secretariat/review", "/secretariat/review/declines.csv", "/secretariat/members", "/secretariat/members.csv",
             "/secretariat/members/new", f"/secretariat/members/{org['id']}", "/secretariat/people", "/secretariat/people.csv"]  # fmt: skip
    for path in pages:
        resp = await client.get(path, follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"].startswith("/sign-in?next="), path
    police = Tokens(client).institution("IPJ Iași")
    for email, role, organisation in (("ana@ipj.example.org", "institution", police), ("ion@alfa.example.org", "ngo", org["id"])):
        await person(client, clock, email, role, organisation)
        for path in pages:
            resp = await client.get(path, follow_redirects=False)
            assert resp.status_code == 403 and "for the secretariat" in resp.text and "Alfa" not in resp.text, (role, path)


async def test_review_shows_declines_and_contested_with_their_csv(
    client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str], tokens: Tokens, institution: dict[str, str]
) -> None:
    org, sid = await provider(client, admin, "Alfa", referral_email="alfa@example.org")
    ngo = tokens.make("ngo", organisation=org["id"])
    offer = (await refer(client, institution, sid))["offers"][0]["id"]
    declined = await client.post(f"/api/v1/offers/{offer}/decline", json={"reason": "safety", "text": "no night staff this week"}, headers=ngo)
    assert declined.status_code == 200, declined.text
    await person(client, clock, SEC, "secretariat", None)

    page = await client.get("/secretariat/review")
    assert page.status_code == 200 and 'id="decline-' in page.text
    row = re.search(rf'<tr id="decline-{offer}">(.*?)</tr>', page.text, re.S)
    assert row and "Asociația Alfa" in row.group(1) and "Safety" in row.group(1) and "no night staff this week" in row.group(1)
    assert 'href="/secretariat/review"' in page.text and 'aria-current="page"' in page.text  # the section nav

    download = await client.get("/secretariat/review/declines.csv")
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert 'filename="review-declines.csv"' in download.headers["content-disposition"]
    [line] = parse(download.text)
    assert (line["offer_id"], line["organisation"], line["reason"], line["text"], line["contested"]) == (
        str(offer), "Asociația Alfa", "safety", "no night staff this week", "False")
    excel = await client.get("/secretariat/review/declines.csv?excel=true")
    assert excel.content.startswith("\ufeff".encode()) and parse(excel.text) == [line]
    assert not parse((await client.get("/secretariat/review/contested.csv")).text)
    assert (await client.get("/secretariat/review/nothing.csv")).status_code == 404

    contested = await post(client, f"/secretariat/review/declines/{offer}/contest", {}, "/secretariat/review")
    assert contested.status_code == 303
    again = await client.get(contested.headers["location"])
    assert "marked as contested" in again.text and re.search(r'id="contested-table".*Asociația Alfa', again.text, re.S)
    [line] = parse((await client.get("/secretariat/review/contested.csv")).text)
    assert line["offer_id"] == str(offer) and line["contested"] == "True"

    await client.get("/language/ro?next=/secretariat/review")
    romanian = await client.get("/secretariat/review")
    assert "Refuzuri" in romanian.text and "Siguranță" in romanian.text


async def test_a_double_clicked_capacity_reminder_sends_one_email(
    client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str], settings: Settings, inbox: Any
) -> None:
    org, sid = await provider(client, admin, "Alfa", referral_email="alfa@example.org")
    fresh, fresh_sid = await provider(client, admin, "Beta", referral_email="beta@example.org")
    clock.advance(days=settings.capacity_stale_days + 1)
    assert (await client.put(f"/api/v1/services/{fresh_sid}/capacity", json={"available": 2}, headers=admin)).status_code == 200
    await person(client, clock, SEC, "secretariat", None)

    page = await client.get("/secretariat/review")
    assert f'id="stale-{sid}"' in page.text and f'id="stale-{fresh_sid}"' not in page.text
    [line] = parse((await client.get("/secretariat/review/stale.csv")).text)
    assert (line["service_id"], line["organisation"], line["reminded_at"]) == (str(sid), "Asociația Alfa", "")

    first = await post(client, f"/secretariat/review/services/{sid}/remind", {}, "/secretariat/review")
    second = await post(client, f"/secretariat/review/services/{sid}/remind", {}, "/secretariat/review")
    assert first.status_code == 303 and second.status_code == 409
    assert f'id="error-stale-{sid}"' in second.text and "less than an hour ago" in second.text
    # With htmx the button posts in the background and the refusal replaces #review in place (its 409 is swapped too).
    assert f'hx-post="/secretariat/review/services/{sid}/remind"' in second.text
    assert re.search(r'<div id="review" hx-target="#review" hx-select="#review".*id="error-stale-', second.text, re.S)
    assert '{"code": "^(409|422)$", "swap": true, "error": false}' in second.text.replace("&#34;", '"')
    sent = rows_of(client, Notification, Notification.kind == "capacity_stale")
    assert [(n["organisation"], n["recipient"]) for n in sent] == [(org["id"], "alfa@example.org")]
    audits = rows_of(client, AuditLog, AuditLog.action == "capacity_reminder")
    assert [(a["object_id"], a["role"], a["outcome"]) for a in audits] == [(sid, "secretariat", "sent")]
    confirmed = await post(client, f"/secretariat/review/services/{fresh_sid}/remind", {}, "/secretariat/review")
    assert confirmed.status_code == 409 and "confirmed its capacity meanwhile" in confirmed.text

    handler, port = inbox
    report = in_app(client, dispatch_due, smtp(settings, port), clock.now(), worker_id="test")
    assert report.sent == 1 and handler.envelopes[0].rcpt_tos == ["alfa@example.org"]
    body = handler.messages[0].get_content()
    assert "Casa Alfa" in body and "https://referralnet.example/respond/capacity/" in body  # the one-click capacity page

    clock.advance(minutes=61)  # a deliberate reminder later is allowed (signed in again: the session was idle)
    client.cookies.clear()
    assert (await sign_in(client, email=SEC)).status_code == 303
    assert (await post(client, f"/secretariat/review/services/{sid}/remind", {}, "/secretariat/review")).status_code == 303
    assert len(rows_of(client, Notification, Notification.kind == "capacity_stale")) == 2


async def test_retry_puts_a_failed_message_back_and_the_dispatcher_sends_it(
    client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str], institution: dict[str, str], settings: Settings, inbox: Any
) -> None:
    org, sid = await provider(client, admin, "Alfa", referral_email="wrong@example.org")
    await refer(client, institution, sid)
    [row] = rows_of(client, Notification, Notification.kind == "offer_new")
    in_app(client, lambda: Notification.update({Notification.status: "failed", Notification.attempts: 8,
                                                Notification.last_error: "550 no such mailbox"}).where(Notification.id == row["id"]))  # fmt: skip
    assert (await client.patch(f"/api/v1/organisations/{org['id']}", json={"referral_email": "alfa@example.org"}, headers=admin)).status_code == 200
    await person(client, clock, SEC, "secretariat", None)

    page = await client.get("/secretariat/review")
    assert f'id="failed-{row["id"]}"' in page.text and "550 no such mailbox" in page.text
    [line] = parse((await client.get("/secretariat/review/failed.csv")).text)
    assert (line["notification_id"], line["error"], line["attempts"]) == (str(row["id"]), "550 no such mailbox", "8")

    first = await post(client, f"/secretariat/review/notifications/{row['id']}/retry", {}, "/secretariat/review")
    second = await post(client, f"/secretariat/review/notifications/{row['id']}/retry", {}, "/secretariat/review")
    assert first.status_code == 303 and second.status_code == 409 and "retried already" in second.text
    [again] = rows_of(client, Notification, Notification.id == row["id"])
    assert (again["status"], again["attempts"], again["recipient"]) == ("pending", 0, "alfa@example.org")
    assert [a["outcome"] for a in rows_of(client, AuditLog, AuditLog.action == "retry")] == ["allowed"]

    handler, port = inbox
    report = in_app(client, dispatch_due, smtp(settings, port), clock.now(), worker_id="test")
    assert report.sent == 1 and handler.envelopes[0].rcpt_tos == ["alfa@example.org"]
    [done] = rows_of(client, Notification, Notification.id == row["id"])
    assert done["status"] == "sent"


async def test_a_phone_only_provider_is_a_task_answered_on_its_behalf(
    client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str], institution: dict[str, str]
) -> None:
    _, sid = await provider(client, admin, "Telefon", referral_phone="+40 232 300 300")
    offer = (await refer(client, institution, sid))["offers"][0]["id"]
    await person(client, clock, SEC, "secretariat", None)
    page = await client.get("/secretariat/review")
    assert f'id="task-{offer}"' in page.text and 'href="tel:+40232300300"' in page.text
    [line] = parse((await client.get("/secretariat/review/tasks.csv")).text)
    assert (line["offer_id"], line["delivery"], line["referral_phone"]) == (str(offer), "phone", "+40 232 300 300")

    missing = await post(client, f"/secretariat/review/tasks/{offer}/decline", {"reason": ""}, "/secretariat/review")
    assert missing.status_code == 422 and f'id="error-task-{offer}"' in missing.text
    declined = await post(client, f"/secretariat/review/tasks/{offer}/decline", {"reason": "no_capacity"}, "/secretariat/review")
    assert declined.status_code == 303
    [row] = rows_of(client, Offer, Offer.id == offer)
    assert row["status"] == "declined" and row["decline_reason"] == "no_capacity" and "on behalf of" in row["responded_by"]
    assert f'id="task-{offer}"' not in (await client.get("/secretariat/review")).text


async def test_members_add_edit_deactivate_and_csv(client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str]) -> None:
    org, sid = await provider(client, admin, "Alfa", referral_email="alfa@example.org")
    await person(client, clock, SEC, "secretariat", None)
    listed = await client.get("/secretariat/members")
    assert listed.status_code == 200 and f'id="member-{org["id"]}"' in listed.text

    refused = await post(client, "/secretariat/members/new", {"name": "Asociația Gama", "referral_email": "not an address"}, "/secretariat/members/new")
    assert refused.status_code == 400 or refused.status_code == 422
    assert 'id="error-referral_email"' in refused.text and "valid e-mail address" in refused.text and 'value="Asociația Gama"' in refused.text
    # Every refused field at once, not one per sending.
    several = await post(client, "/secretariat/members/new", {"name": "Asociația Gama", "referral_email": "bad@@x", "website": "ftp//x",
                                                              "referral_phone": "abc"}, "/secretariat/members/new")  # fmt: skip
    assert several.status_code == 422
    assert all(f'id="error-{name}"' in several.text for name in ("referral_email", "website", "referral_phone")), several.text
    assert 'id="error-name"' not in several.text
    made = await post(client, "/secretariat/members/new", {"name": "Asociația Gama", "referral_email": "gama@example.org", "county": "RO-CJ",
                                                          "referral_phone": "+40 264 000 000"}, "/secretariat/members/new")  # fmt: skip
    assert made.status_code == 303
    gama_id = int(made.headers["location"].split("/")[-1].split("?")[0])
    [gama] = rows_of(client, Organisation, Organisation.id == gama_id)
    assert (gama["name"], gama["referral_email"], gama["county"], gama["kind"]) == ("Asociația Gama", "gama@example.org", "RO-CJ", "provider")

    detail = await client.get(f"/secretariat/members/{org['id']}")
    assert detail.status_code == 200 and f'id="service-{sid}"' in detail.text and "Strada Ascunsă 7" in detail.text  # confidential, shown here
    saved = await post(client, f"/secretariat/members/{org['id']}", {"name": "Asociația Alfa Nouă", "referral_email": "nou@alfa.example.org"},
                       f"/secretariat/members/{org['id']}")  # fmt: skip
    assert saved.status_code == 303
    api = (await client.get(f"/api/v1/organisations/{org['id']}", headers=admin)).json()
    assert (api["name"], api["referral_email"], api["county"]) == ("Asociația Alfa Nouă", "nou@alfa.example.org", None)
    bad = await post(client, f"/secretariat/members/{org['id']}", {"name": "", "referral_email": "x"}, f"/secretariat/members/{org['id']}")
    assert bad.status_code in (400, 422) and 'id="error-name"' in bad.text

    off = await post(client, f"/secretariat/members/{org['id']}/active", {"active": "false"}, f"/secretariat/members/{org['id']}")
    assert off.status_code == 303 and (await client.get(f"/api/v1/organisations/{org['id']}", headers=admin)).json()["active"] is False
    assert 'id="org-deactivated"' in (await client.get(off.headers["location"])).text
    on = await post(client, f"/secretariat/members/{org['id']}/active", {"active": "true"}, f"/secretariat/members/{org['id']}")
    assert on.status_code == 303 and (await client.get(f"/api/v1/organisations/{org['id']}", headers=admin)).json()["active"] is True

    lines = parse((await client.get("/secretariat/members.csv?excel=true")).text)
    assert {(r["name"], r["referral_email"], r["services"]) for r in lines} == {
        ("Asociația Alfa Nouă", "nou@alfa.example.org", "1"), ("Asociația Gama", "gama@example.org", "0")}


async def test_people_invite_through_the_outbox_change_role_and_deactivate(
    client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str], settings: Settings, inbox: Any
) -> None:
    org, _ = await provider(client, admin, "Alfa", referral_email="alfa@example.org")
    await person(client, clock, SEC, "secretariat", None)
    no_admin = await post(client, "/secretariat/people/invite", {"name": "Dan Admin", "email": "dan@example.org", "role": "admin"}, "/secretariat/people")
    assert no_admin.status_code == 403 and "may not give this role" in no_admin.text
    assert not rows_of(client, Person, Person.email == "dan@example.org")
    no_org = await post(client, "/secretariat/people/invite", {"name": "Ion Pop", "email": "ion@alfa.example.org", "role": "ngo"}, "/secretariat/people")
    assert no_org.status_code == 422 and 'id="error-organisation"' in no_org.text
    for bad in ("qa two@@bad", "ion@alfa"):  # an invitation to an address that cannot receive it is refused
        refused = await post(client, "/secretariat/people/invite", {"name": "Ion Pop", "email": bad, "role": "ngo",
                                                                    "organisation": str(org["id"])}, "/secretariat/people")  # fmt: skip
        assert refused.status_code == 422 and 'id="error-email"' in refused.text, bad
    assert not rows_of(client, Person, Person.name == "Ion Pop")

    invited = await post(client, "/secretariat/people/invite", {"name": "Ion Pop", "email": "ion@alfa.example.org", "role": "ngo",
                                                                "organisation": str(org["id"])}, "/secretariat/people")  # fmt: skip
    assert invited.status_code == 303
    [ion] = rows_of(client, Person, Person.email == "ion@alfa.example.org")
    assert (ion["role"], ion["organisation"], ion["password_hash"]) == ("ngo", org["id"], None)
    [mail] = rows_of(client, Notification, Notification.kind == "person_invite")
    assert mail["recipient"] == "ion@alfa.example.org" and "/password/set/" not in str(mail["payload"])  # the link is sealed
    handler, port = inbox
    assert in_app(client, dispatch_due, smtp(settings, port), clock.now(), worker_id="test").sent == 1
    link = re.search(r"https://referralnet\.example(/password/set/\S+)", handler.messages[0].get_content())
    assert link and handler.envelopes[0].rcpt_tos == ["ion@alfa.example.org"]
    form = await client.get(link.group(1))
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form.text)
    assert token
    chosen = await client.post(link.group(1), data={"password": PASSWORD, "confirm": PASSWORD, "_csrf_token": token.group(1)}, follow_redirects=False)
    assert chosen.status_code == 303  # the e-mailed link works: Ion chooses a password

    listed = await client.get("/secretariat/people")
    assert f'id="person-{ion["id"]}"' in listed.text and "Asociația Alfa" in listed.text
    assert {r["email"] for r in parse((await client.get("/secretariat/people.csv")).text)} >= {SEC, "ion@alfa.example.org"}

    ion_session = in_app(client, sessions.sign_in, "ion@alfa.example.org", PASSWORD, "testclient", clock.now()).token
    assert in_app(client, sessions.actor_for_session, ion_session, clock.now()) is not None
    page = await client.get(f"/secretariat/people/{ion['id']}")
    assert page.status_code == 200
    to_admin = await post(client, f"/secretariat/people/{ion['id']}/role", {"role": "admin"}, f"/secretariat/people/{ion['id']}")
    assert to_admin.status_code == 403
    deactivated = await post(client, f"/secretariat/people/{ion['id']}/deactivate", {}, f"/secretariat/people/{ion['id']}")
    assert deactivated.status_code == 303
    assert in_app(client, sessions.actor_for_session, ion_session, clock.now()) is None  # the session ended at once
    client.cookies.clear()
    assert (await sign_in(client, email="ion@alfa.example.org")).status_code != 303
    audits = rows_of(client, AuditLog, AuditLog.object_type == "person", AuditLog.action.is_in(["invite", "change_role", "deactivate"]))
    assert [(a["action"], a["role"]) for a in audits] == [("invite", "secretariat"), ("deactivate", "secretariat")]


async def test_an_admin_invites_an_admin_and_changes_a_role(client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str]) -> None:
    org, _ = await provider(client, admin, "Alfa", referral_email="alfa@example.org")
    await person(client, clock, "root@example.org", "admin", None)
    made = await post(client, "/secretariat/people/invite", {"name": "Dan Admin", "email": "dan@example.org", "role": "admin"}, "/secretariat/people")
    assert made.status_code == 303
    [dan] = rows_of(client, Person, Person.email == "dan@example.org")
    changed = await post(client, f"/secretariat/people/{dan['id']}/role", {"role": "ngo", "organisation": str(org["id"])}, f"/secretariat/people/{dan['id']}")
    assert changed.status_code == 303
    [dan] = rows_of(client, Person, Person.email == "dan@example.org")
    assert (dan["role"], dan["organisation"]) == ("ngo", org["id"])


async def test_a_bound_secretariat_never_sees_another_networks_member(
    client: AsyncTestClient[Any], clock: FixedClock, admin: dict[str, str], tokens: Tokens, institution: dict[str, str]
) -> None:
    ours, our_sid = await provider(client, admin, "Noastră", referral_email="noi@example.org", networks=["protect", "ngo15"])
    theirs, their_sid = await provider(client, admin, "Străină", referral_email="ei@example.org", networks=["ngo15"])
    for org, sid in ((ours, our_sid), (theirs, their_sid)):
        offer = (await refer(client, institution, sid))["offers"][0]["id"]
        ngo = tokens.make("ngo", organisation=org["id"])
        assert (await client.post(f"/api/v1/offers/{offer}/decline", json={"reason": "safety"}, headers=ngo)).status_code == 200
        await person(client, clock, f"ana@{org['slug']}.example.org", "ngo", org["id"])
    in_app(client, lambda: Notification.update({Notification.status: "failed"}).where(Notification.kind == "offer_new"))
    clock.advance(days=8)
    in_app(client, people.create_person, email=SEC, name="Elena Protect", role="secretariat", organisation=None, password=PASSWORD,
           now=clock.now(), networks=["protect"])  # fmt: skip
    client.cookies.clear()
    assert (await sign_in(client, email=SEC)).status_code == 303

    for path in ("/secretariat/review", "/secretariat/members", "/secretariat/people", *(f"/secretariat/review/{t}.csv" for t in
                 ("declines", "stale", "failed")), "/secretariat/members.csv", "/secretariat/people.csv"):  # fmt: skip
        text = (await client.get(path)).text
        assert ("Noastră" in text or "noastra" in text) and "Străină" not in text and "straina" not in text, path
    assert (await client.get(f"/secretariat/members/{theirs['id']}")).status_code == 404
    assert (await post(client, f"/secretariat/review/services/{their_sid}/remind", {}, "/secretariat/review")).status_code == 404
    assert (await post(client, f"/secretariat/members/{theirs['id']}/active", {"active": "false"}, "/secretariat/members")).status_code == 404
    assert (await client.get(f"/api/v1/organisations/{theirs['id']}", headers=admin)).json()["active"] is True
    their_person = rows_of(client, Person, Person.organisation == theirs["id"])[0]["id"]
    assert (await client.get(f"/secretariat/people/{their_person}")).status_code == 404

    # Editing a member changes only the networks the person reviews; a new one joins one of them.
    saved = await post(client, f"/secretariat/members/{ours['id']}", {"name": "Asociația Noastră", "networks": "protect"},
                       f"/secretariat/members/{ours['id']}")  # fmt: skip
    assert saved.status_code == 303
    assert (await client.get(f"/api/v1/organisations/{ours['id']}", headers=admin)).json()["networks"] == ["ngo15", "protect"]
    outside = await post(client, "/secretariat/members/new", {"name": "Asociația Nouă", "networks": "ngo15"}, "/secretariat/members/new")
    nowhere = await post(client, "/secretariat/members/new", {"name": "Asociația Nouă"}, "/secretariat/members/new")
    assert outside.status_code == 403 and nowhere.status_code == 422 and 'id="error-networks"' in nowhere.text
    made = await post(client, "/secretariat/members/new", {"name": "Asociația Nouă", "networks": "protect"}, "/secretariat/members/new")
    assert made.status_code == 303 and (await client.get(made.headers["location"])).status_code == 200

    invite = {"name": "Ion Pop", "email": "ion@example.org", "role": "ngo", "organisation": str(theirs["id"])}
    assert (await post(client, "/secretariat/people/invite", invite, "/secretariat/people")).status_code == 403
    unbound = {**invite, "role": "secretariat", "organisation": ""}
    assert (await post(client, "/secretariat/people/invite", unbound, "/secretariat/people")).status_code == 403  # never a wider view
    assert (await post(client, "/secretariat/people/invite", {**unbound, "networks": "ngo15"}, "/secretariat/people")).status_code == 403
    assert (await post(client, "/secretariat/people/invite", {**unbound, "networks": "protect"}, "/secretariat/people")).status_code == 303
    [ion] = rows_of(client, Person, Person.email == "ion@example.org")
    assert in_app(client, bound_codes, "person", ion["id"]) == ("protect",)


async def test_a_need_left_with_nobody_is_asked_again_from_the_review(
    client: AsyncTestClient[Any], clock: FixedClock, tokens: Tokens, admin: dict[str, str]
) -> None:
    """The unplaced alert's follow-up: the review lists the need and asks the providers a fresh match finds, on the
    institution's behalf; with nobody new it says so beside the row."""
    from referralnet.referrals.reviews import unplaced_needs
    from tests.integration.test_needs import Providers, counselling, need, residential
    from tests.integration.test_needs import refer as refer_boy

    p = Providers(client, tokens, admin)
    home, _ = await p.org("Casa Copiilor", residential("Casa de tip familial"))  # no counselling anywhere yet
    referral = await refer_boy(client, tokens.make("institution", name="IPJ Iași"), mode="parallel")
    assert need(referral, "psychological_counselling")["status"] == "unplaced"
    # A secretariat bound to networks sees it when the referral was offered to one of its members only.
    assert [r["referral_id"] for r in in_app(client, unplaced_needs, frozenset({home}), 10)] == [referral["id"]]
    assert in_app(client, unplaced_needs, frozenset({home + 1000}), 10) == []
    await person(client, clock, SEC, "secretariat", None)
    key = f"unplaced-{referral['id']}-psychological_counselling"
    page = await client.get("/secretariat/review", headers={"Accept-Language": "ro"})
    assert f'id="{key}"' in page.text and "Consiliere psihologică" in page.text and "Nevoi fără niciun furnizor rămas" in page.text
    rows = parse((await client.get("/secretariat/review/unplaced.csv")).text)
    assert [(r["referral_id"], r["need"], r["referral_status"]) for r in rows] == [(str(referral["id"]), "psychological_counselling", "unplaced")]

    nobody = await post(client, f"/secretariat/review/referrals/{referral['id']}/round", {"need": "psychological_counselling"}, "/secretariat/review")
    assert nobody.status_code == 409 and f'id="error-{key}"' in nobody.text

    talk, [talk_service] = await p.org("Centrul Sprijin", counselling("Consiliere"))
    asked = await post(client, f"/secretariat/review/referrals/{referral['id']}/round", {"need": "psychological_counselling"}, "/secretariat/review")
    assert asked.status_code == 303 and asked.headers["location"].endswith(f"done=asked#{key}")
    view = (await client.get(f"/api/v1/referrals/{referral['id']}", headers=admin)).json()
    assert [o["service_id"] for o in need(view, "psychological_counselling")["offers"]] == [talk_service]
    added = next(e for e in view["history"] if e["kind"] == "offers_added")
    assert added["actor"].startswith("secretariat:"), added["actor"]
    assert added["on_behalf"] == "the referring institution"
    assert f'id="{key}"' not in (await client.get("/secretariat/review")).text  # the need is open again
