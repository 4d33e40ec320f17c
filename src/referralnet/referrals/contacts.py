"""Contact once placed: after an acceptance each side sees the other's work contact, and nobody else does.

The accepting provider sees the referring officer's work contact as entered with the referral (name as
given, work phone and e-mail; never the person's). The referring institution (and the secretariat) sees
each accepting provider's referral contact and the arrival instructions the provider entered for this
referral (for a confidential site a meeting point; never an address unless the provider wrote one).
Every showing is recorded: a view in the audit log (action ``read_contact``), the "placed" messages in
the acceptance's history event (``contact_sent_to``) and the outbox.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet import sql
from referralnet.accounts.schemas import Actor
from referralnet.audit import audit
from referralnet.errors import one
from referralnet.notifications.outbox import Notice, notify_all
from referralnet.referrals.schemas import OfficerContact, ProviderContact
from referralnet.tables import Offer, ReferralNeed

# The accepting offer and its provider's contact, one fixed statement (referralnet.sql).
_PROVIDER = (
    "SELECT o.organisation, o.arrival_instructions, g.name, g.referral_phone, g.phone_24h, g.referral_email "
    "FROM offer o JOIN organisation g ON g.id = o.organisation WHERE o.id = {}"
)


def officer_of(referral: dict[str, Any]) -> OfficerContact:
    return OfficerContact(name=referral["officer_name"], phone=referral["officer_phone"], email=referral["notify_email"])


async def _accepted(referral_id: int) -> list[dict[str, Any]]:
    rows = await Offer.select(
        Offer.id, Offer.organisation, Offer.need, Offer.arrival_instructions, Offer.organisation.name,
        Offer.organisation.referral_phone, Offer.organisation.phone_24h, Offer.organisation.referral_email,
    ).where(Offer.referral == referral_id, Offer.status == "accepted").order_by(Offer.id)  # fmt: skip
    needs = await ReferralNeed.select(ReferralNeed.id, ReferralNeed.service_type).where(ReferralNeed.referral == referral_id)
    types = {n["id"]: n["service_type"] for n in needs}
    return [{**r, "service_type": types.get(r["need"], "")} for r in rows]


def _provider(row: dict[str, Any]) -> ProviderContact:
    return ProviderContact(
        offer_id=row["id"], need=row["service_type"], organisation_id=row["organisation"], organisation_name=row["organisation.name"],
        referral_phone=row["organisation.referral_phone"], phone_24h=row["organisation.phone_24h"],
        referral_email=row["organisation.referral_email"], arrival_instructions=row["arrival_instructions"],
    )  # fmt: skip


async def contacts_for(
    referral: dict[str, Any], actor: Actor, own_institution: bool, now: dt.datetime
) -> tuple[OfficerContact | None, list[ProviderContact]]:
    """What this actor may see of the other side's contact; each showing is audited."""
    accepted = await _accepted(referral["id"])
    if actor.is_staff:
        # A bound secretariat: its networks' members' contacts only (another's arrival instructions may locate a shelter).
        seen = [r for r in accepted if actor.in_scope(r["organisation"])]
        officer, providers = (officer_of(referral) if seen else None), [_provider(r) for r in seen]
    elif own_institution:
        officer, providers = None, [_provider(r) for r in accepted]
    else:
        mine = [r for r in accepted if actor.organisation_id is not None and actor.owns(r["organisation"])]
        officer, providers = (officer_of(referral) if mine else None), [_provider(r) for r in mine]
    if officer is not None or providers:
        await audit(actor, now, object_type="referral", object_id=referral["id"], action="read_contact", outcome="allowed")
    return officer, providers


async def announce_placement(
    referral: dict[str, Any], offer_id: int, service_type: str, payload: dict[str, Any], now: dt.datetime, *, pending: list[Notice] | None = None,
    provider_row: dict[str, Any] | None = None,
) -> list[str]:
    """The "placed" messages: the officer learns the provider's contact and arrival instructions, the provider the officer's.

    Returns to whom the contacts went, for the acceptance's history event. With ``pending`` the two messages are
    added to it for the caller to write (:func:`referralnet.notifications.outbox.notify_all`). ``provider_row``: the
    columns of ``_PROVIDER``, read by the caller in this transaction already."""
    row = provider_row or one(await sql.first(_PROVIDER, offer_id), f"offer {offer_id}")
    need = service_type.replace("_", " ")
    provider = {"provider_phone": row["referral_phone"], "provider_phone_24h": row["phone_24h"], "provider_email": row["referral_email"],
                "arrival_instructions": row["arrival_instructions"]}  # fmt: skip
    officer = {"officer_name": referral["officer_name"], "officer_phone": referral["officer_phone"], "officer_email": referral["notify_email"]}
    notices = [
        Notice(None, f"Referral {referral['id']}: {need} placed", {**payload, "organisation": row["name"], "need": need, **provider},
               referral["id"], offer_id, "referral_placed", referral["notify_email"] or ""),
        Notice(row["organisation"], f"Referral {referral['id']}: you accepted ({need}); the referring officer",
               {**payload, "offer_id": offer_id, "need": need, **officer}, referral["id"], offer_id, "offer_accepted"),
    ]  # fmt: skip
    if pending is None:
        await notify_all(notices, now=now)
    else:
        pending += notices
    return (["the referring officer's e-mail"] if referral["notify_email"] else []) + [row["name"]]
