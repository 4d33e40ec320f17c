"""The capacity reminder's link opens a page a person can use: GET shows, POST records once, on both engines."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec

from referralnet.notifications import email, signing
from referralnet.referrals.sweeps import remind_stale_capacity
from referralnet.settings import Settings
from referralnet.tables import Notification
from tests.conftest import START, Tokens, in_app
from tests.integration.helpers import make_org, make_service

PUBLIC = "https://referrals.example.org/rn"


def shelter() -> dict[str, Any]:
    return {
        "type": "residential_shelter",
        "name": "Casa Ghiocel",
        "sites": [{"county": "RO-IS", "locality": "Iași"}],
        "capacity": {"unit": "beds", "total": 10, "available": 2},
    }


async def remind(client: Any, settings: Settings, now: dt.datetime) -> str:
    """Run the stale-capacity sweep at ``now`` and return the link in the e-mail it wrote."""

    async def sweep_and_render() -> str:
        assert await remind_stale_capacity(now, settings) == 1
        row = await Notification.select().where(Notification.kind == "capacity_stale", Notification.channel == "email").order_by(
            Notification.id, ascending=False
        ).first()
        assert row is not None
        key = await signing.instance_key(settings.secret_key)
        return await email.render_text(row, settings, now, key)

    text = in_app(client, sweep_and_render)
    assert "/api/v1/services/" not in text.split("Programs can")[0]  # the link a person clicks is not an API URL
    links = re.findall(r"https?://\S+/respond/capacity/\S+", text)
    assert len(links) == 1, text
    assert links[0].startswith(PUBLIC + "/respond/capacity/")  # REFERRALNET_PUBLIC_URL is the base of the link
    return links[0].removeprefix(PUBLIC)


async def capacity(client: Any, admin: dict[str, str], service_id: int) -> dict[str, Any]:
    return (await client.get(f"/api/v1/services/{service_id}", headers=admin)).json()["capacity"]  # type: ignore[no-any-return]


async def history(client: Any, admin: dict[str, str], service_id: int) -> list[dict[str, Any]]:
    return (await client.get(f"/api/v1/services/{service_id}/capacity/history", headers=admin)).json()["items"]  # type: ignore[no-any-return]


async def test_reminder_link_confirms_once_then_sets_free_places(client: Any, settings: Settings, clock: Any, tokens: Tokens) -> None:
    settings = msgspec.structs.replace(settings, public_url=PUBLIC + "/")
    admin = tokens.make("admin")
    org = await make_org(client, admin, "Asociația Ghiocel", referral_email="coord@ghiocel.test")
    service = await make_service(client, admin, org["id"], shelter())
    now = clock.advance(days=settings.capacity_stale_days + 1)
    path = await remind(client, settings, now)

    page = await client.get(path)
    assert page.status_code == 200, page.text
    assert "Casa Ghiocel" in page.text and "Still correct: 2 free beds" in page.text and 'name="available"' in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and page.headers["cache-control"] == "no-store"
    assert dt.datetime.fromisoformat((await capacity(client, admin, service["id"]))["updated_at"]) == START  # GET changed nothing
    # In the reader's language, the unit in words (an NGO's people mostly read Romanian).
    ro = await client.get(path, headers={"Accept-Language": "ro"})
    assert '<html lang="ro">' in ro.text and "Mai este corect? Casa Ghiocel" in ro.text and "Încă este corect: 2 (paturi) libere" in ro.text
    assert "Still correct" not in ro.text and "beds" not in ro.text

    done = await client.post(path, data={"answer": "confirm"})
    assert done.status_code == 200, done.text
    assert "2 free beds recorded" in done.text
    figures = await capacity(client, admin, service["id"])
    assert figures["available"] == 2 and dt.datetime.fromisoformat(figures["updated_at"]) == now
    assert (await history(client, admin, service["id"]))[0]["actor"] == "link:Asociația Ghiocel"

    again = await client.post(path, data={"answer": "set", "available": "7"})  # the link answers once
    assert again.status_code == 409 and "Nothing was changed" in again.text
    assert (await capacity(client, admin, service["id"]))["available"] == 2
    assert (await client.get(path)).status_code == 409

    # The next reminder's link sets a new figure; a bad number is refused and changes nothing.
    later = clock.advance(days=settings.capacity_stale_days + 1)
    path = await remind(client, settings, later)
    bad = await client.post(path, data={"answer": "set", "available": "three"})
    assert bad.status_code == 422 and "whole number" in bad.text and "three" not in bad.text
    bad_ro = await client.post(path, data={"answer": "set", "available": "three"}, headers={"Accept-Language": "ro"})
    assert bad_ro.status_code == 422 and "ca număr întreg" in bad_ro.text
    over = await client.post(path, data={"answer": "set", "available": "11"})  # more than the 10 beds in total
    assert over.status_code == 422 and "cannot be more than the total (10)" in over.text
    over_ro = await client.post(path, data={"answer": "set", "available": "11"}, headers={"Accept-Language": "ro"})
    assert "nu pot fi mai multe decât totalul (10)" in over_ro.text
    assert (await capacity(client, admin, service["id"]))["available"] == 2
    done = await client.post(path, data={"answer": "set", "available": "5"})
    assert done.status_code == 200 and "5 free beds recorded" in done.text
    assert (await capacity(client, admin, service["id"]))["available"] == 5


async def test_tampered_expired_and_offer_links_are_refused(client: Any, settings: Settings, clock: Any, tokens: Tokens) -> None:
    settings = msgspec.structs.replace(settings, public_url=PUBLIC)
    admin = tokens.make("admin")
    org = await make_org(client, admin, "Asociația Ghiocel", referral_email="coord@ghiocel.test")
    service = await make_service(client, admin, org["id"], shelter())
    now = clock.advance(days=settings.capacity_stale_days + 1)
    path = await remind(client, settings, now)
    sid, _, issued, expires, mac = path.rsplit("/", 1)[1].split(".")

    other = f"/respond/capacity/{int(sid) + 1}.capacity.{issued}.{expires}.{mac}"  # another service, same signature
    for bad in (other, path[:-2] + "xx", "/respond/capacity/1.accept.1.2"):
        resp = await client.post(bad, data={"answer": "set", "available": "9"})
        assert resp.status_code == 400 and "not valid" in resp.text, bad
    clock.advance(days=15)
    late = await client.post(path, data={"answer": "confirm"})
    assert late.status_code == 400 and "expired" in late.text
    assert (await capacity(client, admin, service["id"]))["available"] == 2
