"""When an offered organisation first read its offer (FHIR Task ``received``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from referralnet.db import write_transaction
from referralnet.tables import Offer


async def record_seen(offer_ids: Sequence[int], organisation_id: int, now: dt.datetime) -> list[int]:
    """Stamp ``seen_at`` on the organisation's offers not yet seen; returns the ids stamped now.

    A conditional ``UPDATE ... WHERE seen_at IS NULL`` keeps the first read, whoever races;
    offers of another organisation are never stamped. Callers: the API read, the one-click page
    and the NGO's pages.
    """
    ids = list(offer_ids)
    if not ids:
        return []
    unseen = await Offer.select(Offer.id).where(
        Offer.id.is_in(ids), Offer.organisation == organisation_id, Offer.seen_at.is_null()
    )
    if not unseen:  # the usual case after the first read: no write lock taken
        return []
    async with write_transaction():
        rows = await (
            Offer.update({Offer.seen_at: now})
            .where(Offer.id.is_in([r["id"] for r in unseen]), Offer.organisation == organisation_id, Offer.seen_at.is_null())
            .returning(Offer.id)
        )
    return sorted(r["id"] for r in rows)
