"""The referral and offer state machines: every allowed transition, in one place."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from referralnet.errors import Conflict

ReferralStatus = Literal["open", "placed", "arrived", "closed", "unplaced", "cancelled"]
OfferStatus = Literal["pending", "accepted", "declined", "expired", "withdrawn"]
Mode = Literal["parallel", "cascade"]

REFERRAL_TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"placed", "unplaced", "cancelled"}),
    # Cancelling or closing before arrival releases the reserved place.
    "placed": frozenset({"arrived", "cancelled", "closed"}),
    "arrived": frozenset({"closed"}),
    "unplaced": frozenset({"cancelled", "closed"}),
    "closed": frozenset(),
    "cancelled": frozenset(),
}

OFFER_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"accepted", "declined", "expired", "withdrawn"}),
    "accepted": frozenset(),
    "declined": frozenset(),
    "expired": frozenset(),
    "withdrawn": frozenset(),
}

OPEN_OFFER: OfferStatus = "pending"
FINAL_REFERRAL = frozenset({"closed", "cancelled"})

DeclineReason = Literal["no_capacity", "not_eligible", "safety", "other"]
Outcome = Literal["services_started", "person_left", "transferred", "completed", "other"]

DEFAULT_DEADLINES = {
    "emergency": dt.timedelta(hours=1),
    "urgent": dt.timedelta(hours=24),
    "planned": dt.timedelta(hours=72),
}
# By default an emergency asks several providers at once; planned cases ask one at a time.
DEFAULT_MODE: dict[str, Mode] = {"emergency": "parallel", "urgent": "parallel", "planned": "cascade"}


def check_referral_transition(current: str, target: str) -> None:
    if target not in REFERRAL_TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"a referral that is {current} cannot become {target}", field="status")


def check_offer_transition(current: str, target: str) -> None:
    if target not in OFFER_TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"this offer is {current}; it cannot be {target}", field="status")


def referrals_from(target: str) -> list[str]:
    """The referral states from which ``target`` may be reached (for conditional updates)."""
    return sorted(s for s, targets in REFERRAL_TRANSITIONS.items() if target in targets)
