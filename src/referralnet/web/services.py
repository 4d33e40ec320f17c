"""One-click answers: a signed link resolved to its offer, and the answer made through the referrals services.

The link stands in for the organisation's token: it allows one action on one offer until the deadline,
and the history records the organisation as ``link:<organisation name>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import msgspec

from referralnet.accounts.schemas import Actor
from referralnet.errors import BadLink, Conflict, InvalidInput
from referralnet.notifications import signing
from referralnet.referrals import accepting, offers
from referralnet.referrals.records import OFFER_COLUMNS, offer_out
from referralnet.referrals.schemas import DeclineBody, OfferOut
from referralnet.referrals.seen import record_seen
from referralnet.settings import Settings
from referralnet.tables import Offer, Referral
from referralnet.texts import N_

# Why an offer that is no longer pending cannot be answered; every such page says nothing changed.
CLOSED = {
    "accepted": N_("This offer has already been answered: it was accepted."),
    "declined": N_("This offer has already been answered: it was declined."),
    "withdrawn": N_("This offer was withdrawn: another provider took the referral, or it was cancelled."),
    "expired": N_("The deadline to answer has passed; this offer expired."),
}


class LinkView(msgspec.Struct, frozen=True, kw_only=True):
    """What the confirmation page shows: the offer and its referral's anonymised summary."""

    action: str
    offer: OfferOut
    urgency: str
    summary: str

    @property
    def pending(self) -> bool:
        return self.offer.status == "pending"


async def link_key(state: Any) -> str:
    """The instance signing key, read once per app (a generated key otherwise costs a write per request)."""
    key = state.get("link_key")
    if key is None:
        key = state["link_key"] = await signing.instance_key(state["settings"].secret_key)
    return str(key)


async def open_link(key: str, token: str, now: dt.datetime) -> LinkView:
    """The offer a valid token points to; raises BadLink for a tampered, foreign or expired token."""
    link = signing.read_offer_token(key, token, now)
    row = await Offer.select(*OFFER_COLUMNS).where(Offer.id == link.offer_id).first()
    if row is None:
        raise BadLink("this link is not valid")
    # Opening the page is the organisation reading its offer (a valid token is sent only to it).
    if await record_seen([row["id"]], row["organisation"], now):
        row["seen_at"] = now
    referral = await Referral.select(Referral.urgency, Referral.summary).where(Referral.id == row["referral"]).first()
    assert referral is not None
    return LinkView(action=link.action, offer=offer_out(row), urgency=referral["urgency"], summary=referral["summary"])


def decline_body(form: Mapping[str, str]) -> DeclineBody:
    """The decline form as the API's body; an empty text is no text. Raises InvalidInput naming the field."""
    text = (form.get("text") or "").strip() or None
    try:
        return msgspec.convert({"reason": form.get("reason") or "", "text": text}, type=DeclineBody)
    except msgspec.ValidationError as exc:
        field = "text" if "text" in str(exc) else "reason"
        message = "choose one of the listed reasons" if field == "reason" else "at most 500 characters"
        raise InvalidInput(f"{field}: {message}", field=field) from exc


async def answer(view: LinkView, form: Mapping[str, str], now: dt.datetime, settings: Settings) -> OfferOut:
    """Accept or decline once, exactly as the API does; an offer no longer pending raises Conflict."""
    if not view.pending:
        raise Conflict(CLOSED.get(view.offer.status, N_("This offer is no longer open.")), field="status")
    actor = Actor(token_id=None, name=view.offer.organisation_name, role="ngo", organisation_id=view.offer.organisation_id, via="link")
    if view.action == "accept":
        return await accepting.accept_offer(view.offer.id, actor, now, settings)
    return await offers.decline_offer(view.offer.id, decline_body(form), actor, now, settings)
