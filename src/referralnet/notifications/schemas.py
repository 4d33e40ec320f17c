"""Response Structs and query codes of the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from referralnet.base import Output

NotificationStatus = Literal["pending", "held", "sent", "failed"]
NotificationKind = Literal[
    "offer_new",
    "offer_reminder",
    "offer_withdrawn",
    "offer_expired",
    "offer_accepted",
    "offer_declined",
    "referral_placed",
    "referral_unplaced",
    "need_unplaced",
    "referral_ended",
    "offer_undelivered",
    "capacity_stale",
    "person_invite",
]
Channel = Literal["email", "webhook", "none"]


class NotificationOut(Output):
    """One outbox row and its delivery state; the message body is left out (see the referral for it)."""

    id: int
    kind: str
    channel: str
    recipient: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    delivery_id: str
    organisation_id: int | None
    referral_id: int | None
    offer_id: int | None
    created_at: dt.datetime
    next_attempt_at: dt.datetime
    sent_at: dt.datetime | None


class NotificationList(Output):
    items: list[NotificationOut]
    total: int


class WebhookSecretOut(Output):
    """A new webhook secret, shown once: the receiver keeps it to check ``X-Referralnet-Signature``."""

    organisation_id: int
    secret: str
    signature_header: str
    created_at: dt.datetime
