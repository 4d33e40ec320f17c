"""Reading the outbox and managing an organisation's webhook secret."""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet.accounts.schemas import Actor
from referralnet.audit import audit
from referralnet.db import write_transaction
from referralnet.errors import Conflict, Forbidden, NotFound
from referralnet.notifications.schemas import NotificationList, NotificationOut, WebhookSecretOut
from referralnet.notifications.sealing import seal
from referralnet.notifications.signing import SIGNATURE_HEADER, instance_key, new_secret
from referralnet.settings import Settings
from referralnet.tables import Notification, Organisation

_COLUMNS = (
    Notification.id, Notification.kind, Notification.channel, Notification.recipient, Notification.subject,
    Notification.status, Notification.attempts, Notification.last_error, Notification.delivery_id,
    Notification.organisation, Notification.referral, Notification.offer, Notification.created_at,
    Notification.next_attempt_at, Notification.sent_at,
)  # fmt: skip


def _out(row: dict[str, Any]) -> NotificationOut:
    return NotificationOut(
        id=row["id"],
        kind=row["kind"],
        channel=row["channel"],
        recipient=row["recipient"],
        subject=row["subject"],
        status=row["status"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        delivery_id=row["delivery_id"],
        organisation_id=row["organisation"],
        referral_id=row["referral"],
        offer_id=row["offer"],
        created_at=row["created_at"],
        next_attempt_at=row["next_attempt_at"],
        sent_at=row["sent_at"],
    )


async def list_notifications(
    actor: Actor,
    *,
    status: str | None,
    kind: str | None,
    channel: str | None,
    referral_id: int | None,
    limit: int,
    offset: int,
) -> NotificationList:
    """Newest first; the secretariat sees every row, an NGO only those addressed to its organisation."""
    where: list[Any] = []
    if actor.bound:  # its networks' members' notifications only
        if not actor.members:
            return NotificationList(items=[], total=0)
        where.append(Notification.organisation.is_in(sorted(actor.members)))
    elif not actor.is_staff:
        if actor.role != "ngo" or actor.organisation_id is None:
            raise Forbidden("only an NGO, the secretariat or an admin can read notifications")
        where.append(Notification.organisation == actor.organisation_id)
    if status is not None:
        where.append(Notification.status == status)
    if kind is not None:
        where.append(Notification.kind == kind)
    if channel is not None:
        where.append(Notification.channel == channel)
    if referral_id is not None:
        where.append(Notification.referral == referral_id)
    query = Notification.select(*_COLUMNS).order_by(Notification.id, ascending=False).limit(limit).offset(offset)
    count = Notification.count()
    if where:
        query, count = query.where(*where), count.where(*where)
    return NotificationList(items=[_out(r) for r in await query], total=await count)


async def rotate_webhook_secret(org_id: int, actor: Actor, now: dt.datetime, settings: Settings) -> WebhookSecretOut:
    """Create or replace the organisation's webhook secret and return it (the only time it is shown).

    It is stored encrypted (:mod:`referralnet.notifications.sealing`), never in clear.
    """
    if not await Organisation.exists().where(Organisation.id == org_id):
        raise NotFound(f"organisation {org_id} not found", field="org_id")
    if not actor.can_manage(org_id):
        await audit(actor, now, object_type="organisation", object_id=org_id, action="rotate_webhook_secret", outcome="denied")
        raise Forbidden("an NGO can set the webhook secret of its own organisation only")
    secret = new_secret()
    stored = seal(await instance_key(settings.secret_key), org_id, secret)
    async with write_transaction():
        # updated_at stays: the secret is not part of the directory and must not invalidate matching caches.
        await Organisation.update({Organisation.webhook_secret: stored}).where(Organisation.id == org_id)
        await audit(actor, now, object_type="organisation", object_id=org_id, action="rotate_webhook_secret", outcome="allowed")
    return WebhookSecretOut(organisation_id=org_id, secret=secret, signature_header=SIGNATURE_HEADER, created_at=now)


async def retry_notification(
    notification_id: int, actor: Actor, now: dt.datetime, *, organisations: frozenset[int] | None = None
) -> NotificationOut:
    """Put a failed notification back in the outbox (pending, due now, attempts counted afresh); audited.

    A conditional update from ``failed``, so a double click retries once. An organisation's message goes to
    its current address (the usual fix is correcting it first); one with no channel cannot be retried.
    ``organisations`` is a secretariat's scope: another network's message, or one to a person's address
    for a bound secretariat, is NotFound.
    """
    row = await Notification.select(Notification.organisation, Notification.channel).where(Notification.id == notification_id).first()
    if row is None or (organisations is not None and row["organisation"] not in organisations):
        raise NotFound(f"notification {notification_id} not found", field="notification_id")
    if row["channel"] == "none":
        raise Conflict("this organisation has no e-mail or webhook to send to; add one first", field="channel")
    values: dict[Any, Any] = {Notification.status: "pending", Notification.attempts: 0, Notification.next_attempt_at: now,
                              Notification.claimed_until: None}  # fmt: skip
    if row["organisation"] is not None:
        org = await Organisation.select(Organisation.referral_email, Organisation.webhook_url).where(
            Organisation.id == row["organisation"]).first()  # fmt: skip
        current = (org or {}).get("referral_email" if row["channel"] == "email" else "webhook_url")
        if current:
            values[Notification.recipient] = current
    async with write_transaction():
        done = await Notification.update(values).where(
            Notification.id == notification_id, Notification.status == "failed"
        ).returning(*_COLUMNS)
        if not done:
            raise Conflict("this message is no longer failed: it was retried already", field="status")
        await audit(actor, now, object_type="notification", object_id=notification_id, action="retry", outcome="allowed")
    return _out(done[0])
