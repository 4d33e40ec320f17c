"""The trail of what happened: a referral's history events and the audit log of reads and refusals.

Referrals, notifications and the places owner all write here; this module imports none of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet.accounts.schemas import Actor
from referralnet.db import write_transaction
from referralnet.jsoncol import dumps
from referralnet.tables import AuditLog, ReferralEvent


async def record(
    referral_id: int,
    kind: str,
    actor: str,
    now: dt.datetime,
    *,
    offer_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    reason: str | None = None,
    **data: Any,
) -> None:
    """Append one event to the referral's history (in the caller's transaction)."""
    await ReferralEvent.insert(
        ReferralEvent(
            referral=referral_id,
            offer=offer_id,
            at=now,
            kind=kind,
            actor=actor,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            data=dumps(data),
        )
    )


async def audit(actor: Actor, now: dt.datetime, *, object_type: str, object_id: int | None, action: str, outcome: str) -> None:
    """Append to the audit log; never the profile's content.

    In a write transaction even when alone: on SQLite a bare insert would bypass the writers'
    queue and, under load, lose the file lock to queued writers for seconds.
    """
    async with write_transaction():
        await AuditLog.insert(
            AuditLog(
                at=now,
                actor=actor.name,
                token=actor.token_id,
                role=actor.role,
                organisation=actor.organisation_id,
                object_type=object_type,
                object_id=object_id,
                action=action,
                outcome=outcome,
            )
        )
