"""The tagged union of referral events: one Struct per kind of history row, tagged by ``kind``."""

from __future__ import annotations

import datetime as dt

import msgspec

from referralnet.base import Output


class _Event(Output, tag_field="kind"):
    at: dt.datetime
    actor: str
    offer_id: int | None = None
    need_id: int | None = None
    service_type: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    reason: str | None = None


class ReferralCreated(_Event, tag="referral_created"):
    mode: str = ""
    urgency: str = ""


class OfferSent(_Event, tag="offer_sent"):
    service_id: int = 0
    organisation_id: int = 0
    deadline: dt.datetime | None = None


class OfferReminded(_Event, tag="offer_reminded"):
    pass


class OfferAccepted(_Event, tag="offer_accepted"):
    reserved: bool = False
    # Who was sent the two sides' contacts in the "placed" messages.
    contact_sent_to: list[str] = msgspec.field(default_factory=list)


class OfferDeclined(_Event, tag="offer_declined"):
    decline_reason: str | None = None


class OfferExpired(_Event, tag="offer_expired"):
    pass


class OfferWithdrawn(_Event, tag="offer_withdrawn"):
    pass


class DeclineContested(_Event, tag="decline_contested"):
    pass


class ReferralPlaced(_Event, tag="referral_placed"):
    service_id: int = 0


class ReferralUnplaced(_Event, tag="referral_unplaced"):
    pass


class ReferralPartiallyPlaced(_Event, tag="referral_partially_placed"):
    pass


class ReferralReopened(_Event, tag="referral_reopened"):
    pass


class NeedUnplaced(_Event, tag="need_unplaced"):
    pass


class OffersAdded(_Event, tag="offers_added"):
    service_ids: list[int] = msgspec.field(default_factory=list)
    on_behalf: str | None = None


class ReferralCancelled(_Event, tag="referral_cancelled"):
    pass


class PlaceReleased(_Event, tag="place_released"):
    service_id: int = 0


class ArrivalRecorded(_Event, tag="arrival_recorded"):
    pass


class ReferralClosed(_Event, tag="referral_closed"):
    outcome: str | None = None


Event = (
    ReferralCreated
    | OfferSent
    | OfferReminded
    | OfferAccepted
    | OfferDeclined
    | OfferExpired
    | OfferWithdrawn
    | DeclineContested
    | ReferralPlaced
    | ReferralUnplaced
    | ReferralPartiallyPlaced
    | ReferralReopened
    | NeedUnplaced
    | OffersAdded
    | ReferralCancelled
    | PlaceReleased
    | ArrivalRecorded
    | ReferralClosed
)
EVENT_KINDS: frozenset[str] = frozenset(t.__struct_config__.tag for t in Event.__args__)  # type: ignore[attr-defined]
