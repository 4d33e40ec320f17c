"""Retention: finished referrals lose their free text after ``REFERRALNET_RETENTION_DAYS`` (default 180).

A referral that is closed or cancelled (counted from ``closed_at``) or unplaced with no need placed
(from its last change) keeps its coded fields (age band, gender, nationality group, needs, county and locality,
exploitation forms, statuses, times, decline and outcome codes), which statistics and the
coverage review need, and loses the text a person typed: the profile's note, the outcome text,
decline texts, the provider's arrival instructions, the free-text reasons in its history, and the
referring officer's work contact (name, phone, and the e-mail address on the referral and on the
messages already sent to it).
Each referral is claimed by one conditional ``UPDATE ... WHERE purged_at IS NULL ... RETURNING``
and erased in that same transaction, with an audit-log row saying that the purge happened.
See docs/data-protection.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from piccolo.columns.combination import WhereRaw

from referralnet.db import write_transaction
from referralnet.settings import Settings
from referralnet.tables import AuditLog, Notification, Offer, Referral, ReferralEvent

# History events whose ``reason`` is what a person typed (the others hold the system's own words).
FREE_TEXT_EVENTS = ("offer_declined", "decline_contested", "arrival_recorded", "referral_cancelled", "referral_closed")
ACTOR = "system:retention"
# What a delivered message to a person's address (not an organisation's) keeps as its recipient.
ERASED = "(erased)"
ACTION = "purge_free_text"


def cutoff(now: dt.datetime, settings: Settings) -> dt.datetime:
    return now - dt.timedelta(days=settings.retention_days)


# An unplaced referral with a need placed is not finished: the person may go there, and the case is followed up.
_NOTHING_PLACED = WhereRaw("NOT EXISTS (SELECT 1 FROM referral_need n WHERE n.referral = referral.id AND n.status = 'placed')")


def _due(before: dt.datetime) -> tuple[Any, ...]:
    """Finished, not yet purged, and finished before ``before`` (an unplaced referral has no closed_at)."""
    return (
        Referral.status.is_in(["closed", "cancelled"]) | ((Referral.status == "unplaced") & _NOTHING_PLACED),
        Referral.purged_at.is_null(),
        (Referral.closed_at < before) | (Referral.closed_at.is_null() & (Referral.updated_at < before)),
    )


def without_note(profile: Any) -> str:
    """The stored profile with its free text emptied; every coded field as it was."""
    data = msgspec.json.decode(profile) if isinstance(profile, (str, bytes)) else dict(profile or {})
    if data.get("note"):
        data["note"] = ""
    return msgspec.json.encode(data).decode()


async def purge_one(referral_id: int, now: dt.datetime, before: dt.datetime) -> bool:
    """Claim one referral and erase its free text, in one transaction; False when it is not (or no longer) due."""
    async with write_transaction():
        claimed = await Referral.update({Referral.purged_at: now}).where(Referral.id == referral_id, *_due(before)).returning(
            Referral.id, Referral.profile
        )
        if not claimed:
            return False
        await Referral.update(
            {
                Referral.profile: without_note(claimed[0]["profile"]),
                Referral.outcome_text: None,
                Referral.notify_email: None,
                Referral.officer_name: None,
                Referral.officer_phone: None,
            }
        ).where(Referral.id == referral_id)
        await Offer.update({Offer.decline_text: None, Offer.arrival_instructions: None}).where(Offer.referral == referral_id)
        await ReferralEvent.update({ReferralEvent.reason: None}).where(
            ReferralEvent.referral == referral_id,
            ReferralEvent.kind.is_in(list(FREE_TEXT_EVENTS)),
            ReferralEvent.reason.is_not_null(),
        )
        # Messages to the referring officer (or the secretariat) keep their kind and delivery state only.
        await Notification.update({Notification.recipient: ERASED}).where(
            Notification.referral == referral_id,
            Notification.organisation.is_null(),
            Notification.status.is_in(["sent", "failed", "held"]),
        )
        await AuditLog.insert(
            AuditLog(at=now, actor=ACTOR, token=None, role="system", organisation=None, object_type="referral",
                     object_id=referral_id, action=ACTION, outcome="done")  # fmt: skip
        )
    return True


async def purge_due(now: dt.datetime, settings: Settings, *, batch: int = 200) -> int:
    """Purge up to ``batch`` referrals whose retention period has ended; returns how many this call purged."""
    before = cutoff(now, settings)
    due = await Referral.select(Referral.id).where(*_due(before)).order_by(Referral.id).limit(batch)
    count = 0
    for row in due:
        if await purge_one(row["id"], now, before):
            count += 1
    return count
