"""Writing notifications into the outbox, inside the caller's transaction.

A row per channel: e-mail to the organisation's referral contact, and a webhook where the
organisation set one. An organisation with no contact at all still gets a row, marked failed
with the reason, so the secretariat sees that it could not be told.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, get_args

from referralnet.directory.views import dumps
from referralnet.notifications.schemas import NotificationKind
from referralnet.tables import Notification, Organisation

# Kinds of message; payloads carry the anonymised profile summary only.
KINDS: tuple[str, ...] = get_args(NotificationKind)


def _row(
    kind: str,
    channel: str,
    recipient: str,
    *,
    now: dt.datetime,
    subject: str,
    payload: dict[str, Any],
    organisation_id: int | None,
    referral_id: int | None,
    offer_id: int | None,
    status: str = "pending",
    error: str | None = None,
) -> Notification:
    return Notification(
        kind=kind,
        channel=channel,
        recipient=recipient,
        organisation=organisation_id,
        referral=referral_id,
        offer=offer_id,
        subject=subject,
        payload=dumps({**payload, "kind": kind}),
        delivery_id=str(uuid.uuid4()),
        status=status,
        attempts=0,
        next_attempt_at=now,
        last_error=error,
        created_at=now,
    )


async def notify_organisation(
    kind: str,
    organisation_id: int,
    *,
    now: dt.datetime,
    subject: str,
    payload: dict[str, Any],
    referral_id: int | None = None,
    offer_id: int | None = None,
) -> list[Notification]:
    org = await Organisation.select(Organisation.referral_email, Organisation.webhook_url).where(
        Organisation.id == organisation_id
    ).first()
    common: dict[str, Any] = {"now": now, "subject": subject, "payload": payload, "organisation_id": organisation_id,
                              "referral_id": referral_id, "offer_id": offer_id}
    rows = []
    if org and org["referral_email"]:
        rows.append(_row(kind, "email", org["referral_email"], **common))
    if org and org["webhook_url"]:
        rows.append(_row(kind, "webhook", org["webhook_url"], **common))
    if not rows:
        rows.append(_row(kind, "none", "", status="failed", error="the organisation has no referral e-mail or webhook", **common))
    await Notification.insert(*rows)
    return rows


async def notify_address(
    kind: str,
    email: str | None,
    *,
    now: dt.datetime,
    subject: str,
    payload: dict[str, Any],
    referral_id: int | None = None,
    offer_id: int | None = None,
) -> list[Notification]:
    """A message to a person's work address (the referring officer, the secretariat), if known."""
    if not email:
        return []
    row = _row(
        kind, "email", email, now=now, subject=subject, payload=payload, organisation_id=None, referral_id=referral_id, offer_id=offer_id
    )
    await Notification.insert(row)
    return [row]
