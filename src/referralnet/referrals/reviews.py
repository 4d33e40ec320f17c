"""The secretariat's review of declines (each decline, and providers declining repeatedly for one reason) and of the
needs left with nobody to ask."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from referralnet import sql
from referralnet.referrals.records import in_networks_sql
from referralnet.referrals.schemas import DeclineItem, DeclinePattern, DeclineReview
from referralnet.tables import Offer

# A provider with at least this many declines for the same reason in the period is flagged.
REPEAT_THRESHOLD = 3


async def review_declines(
    *, since: dt.datetime | None, organisation_id: int | None, contested: bool | None, limit: int, offset: int,
    organisations: frozenset[int] | None = None,
) -> DeclineReview:
    """Declines newest first; ``organisations`` limits them to a secretariat's networks' members (None: all)."""
    if organisations is not None and not organisations:
        return DeclineReview(items=[], total=0, repeated=[])
    query = Offer.select(
        Offer.id, Offer.referral, Offer.organisation, Offer.organisation.name, Offer.service,
        Offer.decline_reason, Offer.decline_text, Offer.responded_at, Offer.contested,
    ).where(Offer.status == "declined").order_by(Offer.responded_at, ascending=False)  # fmt: skip
    if since is not None:
        query = query.where(Offer.responded_at >= since)
    if organisation_id is not None:
        query = query.where(Offer.organisation == organisation_id)
    if contested is not None:
        query = query.where(Offer.contested == contested)
    if organisations is not None:
        query = query.where(Offer.organisation.is_in(sorted(organisations)))
    rows = await query
    counts = Counter((r["organisation"], r["organisation.name"], r["decline_reason"]) for r in rows)
    repeated = [
        DeclinePattern(organisation_id=org, organisation_name=name, reason=reason or "unknown", count=n)
        for (org, name, reason), n in counts.most_common()
        if n >= REPEAT_THRESHOLD
    ]
    items = [
        DeclineItem(
            offer_id=r["id"], referral_id=r["referral"], organisation_id=r["organisation"],
            organisation_name=r["organisation.name"], service_id=r["service"], reason=r["decline_reason"],
            text=r["decline_text"], at=r["responded_at"], contested=r["contested"],
        )  # fmt: skip
        for r in rows[offset : offset + limit]
    ]
    return DeclineReview(items=items, total=len(rows), repeated=repeated)


# Referrals still followed up: a need of theirs left with nobody can be asked for again (a second round).
_LIVE = "('open', 'partially_placed', 'placed', 'arrived', 'unplaced')"


async def unplaced_needs(organisations: frozenset[int] | None, limit: int) -> list[dict[str, Any]]:
    """Needs left with nobody to ask in live referrals, the most recently changed first: what the secretariat's
    ``referral_unplaced`` and ``need_unplaced`` alerts are about. ``organisations``: a bound secretariat's members
    (referrals offered to one of them, or to nobody, as in its referral list); None: all."""
    scope = ""
    args: list[Any] = []
    if organisations is not None:
        condition, args = in_networks_sql("r.id", organisations)
        scope = f" AND {condition}"
    return await sql.fetch(
        "SELECT r.id AS referral_id, r.status, r.urgency, r.county, r.summary, r.updated_at, n.service_type, n.priority "
        f"FROM referral_need n JOIN referral r ON r.id = n.referral WHERE n.status = 'unplaced' AND r.status IN {_LIVE}{scope} "
        "ORDER BY r.updated_at DESC, r.id DESC, n.position LIMIT {}",
        *args, limit,
    )  # fmt: skip
