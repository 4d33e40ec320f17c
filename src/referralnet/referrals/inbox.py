"""An NGO's view of its offers: the open ones (the inbox) and one offer with its referral, read as the API reads them."""

from __future__ import annotations

import datetime as dt

import msgspec

from referralnet.accounts.schemas import Actor
from referralnet.audit import audit
from referralnet.errors import NotFound
from referralnet.referrals import services
from referralnet.referrals.schemas import OfferOut, ReferralOut, ReferralSummary
from referralnet.tables import Offer


class OfferView(msgspec.Struct, frozen=True, kw_only=True):
    """One offer to the organisation and its referral (anonymised profile, status, history)."""

    offer: OfferOut
    referral: ReferralOut

    @property
    def placed_here(self) -> bool:
        """This organisation accepted the offer and so is a party to the placement (arrival, outcome)."""
        return self.offer.status == "accepted"


async def open_offer(offer_id: int, actor: Actor, now: dt.datetime) -> OfferView:
    """The offer if it was made to the actor's organisation (else 404, as an unknown id; audited).

    Reading it is the organisation opening its offer: ``get_referral`` stamps ``seen_at`` on the
    organisation's offers of the referral the first time (``referrals.seen``), as the API read does.
    """
    row = await Offer.select(Offer.referral, Offer.organisation).where(Offer.id == offer_id).first()
    if row is None or actor.organisation_id is None or not actor.owns(row["organisation"]):
        await audit(actor, now, object_type="offer", object_id=offer_id, action="read", outcome="denied")
        raise NotFound(f"offer {offer_id} not found", field="id")
    referral = await services.get_referral(row["referral"], actor, now)
    mine = next(o for o in referral.offers if o.id == offer_id)
    # Another provider's offers are not this organisation's business: only its own stay in the view.
    own = [o for o in referral.offers if o.organisation_id == actor.organisation_id]
    return OfferView(offer=mine, referral=msgspec.structs.replace(referral, offers=own, provider_contacts=[]))


# The most referrals with an offer waiting that an inbox shows at once (the newest; then sorted by deadline).
INBOX_LIMIT = 500


async def open_offers(actor: Actor, now: dt.datetime) -> list[tuple[ReferralSummary, OfferOut]]:
    """The organisation's pending offers with their referral's summary, soonest deadline first."""
    listed = await services.list_referrals(actor, now, status=None, limit=INBOX_LIMIT, offset=0, pending_only=True)
    pending = [(r, o) for r in listed.items for o in r.offers if o.status == "pending" and o.organisation_id == actor.organisation_id]
    return sorted(pending, key=lambda pair: (pair[1].deadline, pair[1].id))
