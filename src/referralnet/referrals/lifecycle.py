"""The referral and offer state machines: every allowed transition, and every status write.

A status changes only through :func:`move_referral` and :func:`move_offers`: each is one conditional
``UPDATE ... WHERE status IN (<states that may reach the target>) ... RETURNING``, built from the
tables below, so two requests or two workers never make the same move twice.
``tests/unit/test_status_writes.py`` fails if another module writes a referral's or an offer's status.
Deadlines come from the settings (:meth:`referralnet.settings.Settings.deadline`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from referralnet.errors import Conflict
from referralnet.tables import Offer, Referral

ReferralStatus = Literal["open", "placed", "arrived", "closed", "unplaced", "cancelled"]
OfferStatus = Literal["pending", "accepted", "declined", "expired", "withdrawn"]
Mode = Literal["parallel", "cascade"]

REFERRAL_START: ReferralStatus = "open"
OFFER_START: OfferStatus = "pending"

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

DeclineReason = Literal["no_capacity", "not_eligible", "safety", "other"]
Outcome = Literal["services_started", "person_left", "transferred", "completed", "other"]

# By default an emergency asks several providers at once; planned cases ask one at a time.
DEFAULT_MODE: dict[str, Mode] = {"emergency": "parallel", "urgent": "parallel", "planned": "cascade"}


def check_referral_transition(current: str, target: str) -> None:
    if target not in REFERRAL_TRANSITIONS.get(current, frozenset()):
        raise Conflict(f"a referral that is {current} cannot become {target}", field="status")


def _sources(transitions: dict[str, frozenset[str]], target: str) -> list[str]:
    return sorted(s for s, targets in transitions.items() if target in targets)


async def move_referral(
    referral_id: int, target: ReferralStatus, now: dt.datetime, *, current: str | None = None, values: dict[Any, Any] | None = None
) -> bool:
    """Move a referral to ``target`` if its state allows it (and is still ``current``, when given); sets ``updated_at``."""
    sources = _sources(REFERRAL_TRANSITIONS, target)
    if current is not None:
        sources = [current] if current in sources else []
    if not sources:
        return False
    moved = await Referral.update({Referral.status: target, Referral.updated_at: now, **(values or {})}).where(
        Referral.id == referral_id, Referral.status.is_in(sources)
    ).returning(Referral.id)
    return bool(moved)


async def move_offers(
    target: OfferStatus, now: dt.datetime, *where: Any, values: dict[Any, Any] | None = None, returning: tuple[Any, ...] = (Offer.id,)
) -> list[dict[str, Any]]:
    """Move the offers matching ``where`` that may reach ``target``; sets ``responded_at``. Returns the rows moved."""
    sources = _sources(OFFER_TRANSITIONS, target)
    rows = await Offer.update({Offer.status: target, Offer.responded_at: now, **(values or {})}).where(
        Offer.status.is_in(sources), *where
    ).returning(*returning)
    return rows  # type: ignore[no-any-return]
