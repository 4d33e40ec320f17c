"""What a provider (an NGO) sees of a referral it was asked for: its own offers and their history, the referral's
state and needs, and nothing of the other providers asked (their offers, texts, staff) or of a placement it is not
party to (the arrival note, the outcome's text)."""

from __future__ import annotations

from typing import Any

import msgspec

from referralnet.referrals.events import OffersAdded
from referralnet.referrals.schemas import NeedOut, ReferralOut

# Events in which a provider's own people act on its own offer: their names stay.
OWN_ANSWERS = frozenset({"offer_accepted", "offer_declined"})
# Events whose reason is a placement party's free text: read by the providers that accepted only.
PARTY_TEXTS = frozenset({"arrival_recorded", "referral_closed"})
# An actor label of another provider's person or one-click link, as a provider sees it.
A_PROVIDER = "provider"


def _actor(actor: str, own_answer: bool) -> str:
    """Another provider's person (``ngo:<name>``) or link (``link:<organisation>``) is shown as a provider, unnamed; the
    secretariat acting on a provider's behalf as the secretariat, without the provider's name."""
    if own_answer:
        return actor
    if " on behalf of " in actor:
        return actor.partition(" on behalf of ")[0]
    return A_PROVIDER if actor.startswith(("ngo:", "link:")) else actor


def provider_view(view: ReferralOut, organisation_id: int) -> ReferralOut:
    """``view`` as the provider ``organisation_id`` may read it."""
    mine = {o.id for o in view.offers if o.organisation_id == organisation_id}
    foreign = {o.id for o in view.offers} - mine
    party = any(o.status == "accepted" for o in view.offers if o.id in mine)
    own_needs = {n.id for n in view.needs if n.placed_offer_id in mine}
    history: list[Any] = []
    for e in view.history:
        if e.offer_id in foreign:
            continue
        kind = type(e).__struct_config__.tag
        changes: dict[str, Any] = {"actor": _actor(e.actor, e.offer_id in mine and kind in OWN_ANSWERS)}
        # An arrival's note is about one provider's placement (an arrival recorded before arrivals were per need names
        # none: any accepting provider's); the outcome's text is about the whole referral.
        own_arrival = e.need_id in own_needs if e.need_id is not None else party
        if (kind == "arrival_recorded" and not own_arrival) or (kind in PARTY_TEXTS and not party):
            changes["reason"] = None
        if isinstance(e, OffersAdded):  # the other services asked in a second round name their providers
            changes["service_ids"] = []
        history.append(msgspec.structs.replace(e, **changes))
    return msgspec.structs.replace(
        view,
        offers=[o for o in view.offers if o.id in mine],
        needs=[_need(n, mine) for n in view.needs],
        history=history,
        queued_service_ids=[],
        placed_offer_id=view.placed_offer_id if view.placed_offer_id in mine else None,
        outcome_text=view.outcome_text if party else None,
    )


def _need(need: NeedOut, mine: set[int]) -> NeedOut:
    return msgspec.structs.replace(
        need,
        offers=[o for o in need.offers if o.id in mine],
        queued_service_ids=[],
        placed_offer_id=need.placed_offer_id if need.placed_offer_id in mine else None,
    )
