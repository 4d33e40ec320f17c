"""Delivering the outbox: claim due rows, deliver them outside any transaction, record the outcome.

A claim is one conditional ``UPDATE ... RETURNING`` that sets a lease (``claimed_until``), so two
workers never take the same row; a worker that dies mid-delivery loses its lease and the row comes
due again. Delivery is at least once: receivers drop repeats by the delivery id.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import msgspec

from referralnet.db import current_engine, is_sqlite, write_transaction
from referralnet.notifications import DeliveryError, email, webhook
from referralnet.notifications.sealing import SecretUnreadable, unseal
from referralnet.notifications.signing import instance_key
from referralnet.settings import Settings
from referralnet.tables import Notification, Organisation

log = logging.getLogger(__name__)

BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=6)
# Longer than any one round of deliveries can take (each has its own timeout).
LEASE = dt.timedelta(minutes=10)
CONCURRENCY = 10
ERROR_LIMIT = 500

_COLUMNS = ("id", "kind", "channel", "recipient", "organisation", "referral", "offer", "subject", "payload",
            "delivery_id", "attempts", "created_at", "claimed_until")  # fmt: skip

# PostgreSQL: the candidate rows are picked once, in a materialised CTE. With ``id IN (SELECT ...
# LIMIT n FOR UPDATE SKIP LOCKED)`` the planner may rescan the subquery for each row, skip the rows
# this very statement has just updated, and so claim more than ``n`` rows.
_PG_CLAIM = """
WITH picked AS MATERIALIZED (
    SELECT id FROM notification
    WHERE status = ANY({}) AND channel = ANY({}) AND next_attempt_at <= {}
      AND (claimed_until IS NULL OR claimed_until < {})
    ORDER BY next_attempt_at, id
    LIMIT {}
    FOR UPDATE SKIP LOCKED
)
UPDATE notification AS n SET %s
FROM picked WHERE n.id = picked.id
RETURNING %s
"""


class DispatchReport(msgspec.Struct, kw_only=True):
    """What one round did: rows claimed, delivered, rescheduled, given up on, and held for SMTP."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0


def backoff(attempts: int) -> dt.timedelta:
    """Wait before try ``attempts + 1``: 1, 2, 4, 8 ... minutes, at most 6 hours."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


async def _claim(now: dt.datetime, *, statuses: list[str], channels: list[str], limit: int, hold: bool) -> list[dict[str, Any]]:
    """Take up to ``limit`` due rows: mark them held (``hold``), or lease them and count the attempt."""
    lease = now + LEASE
    async with write_transaction():
        if not is_sqlite(current_engine()):
            sets, args = ("status = 'held', claimed_until = NULL", []) if hold else ("attempts = n.attempts + 1, claimed_until = {}", [lease])
            sql = _PG_CLAIM % (sets, ", ".join(f"n.{c}" for c in _COLUMNS))
            rows = await Notification.raw(sql, statuses, channels, now, now, limit, *args)
        else:
            due = (
                Notification.status.is_in(statuses),
                Notification.channel.is_in(channels),
                Notification.next_attempt_at <= now,
                Notification.claimed_until.is_null() | (Notification.claimed_until < now),
            )
            pick = Notification.select(Notification.id).where(*due).order_by(Notification.next_attempt_at, Notification.id).limit(limit)
            values: dict[Any, Any] = (
                {Notification.status: "held", Notification.claimed_until: None}
                if hold
                else {Notification.attempts: Notification.attempts + 1, Notification.claimed_until: lease}
            )
            columns = [getattr(Notification, c) for c in _COLUMNS]
            rows = await Notification.update(values).where(Notification.id.is_in(pick), *due).returning(*columns)
    return sorted(rows, key=lambda r: r["id"])  # type: ignore[no-any-return]


async def _settle(
    row: dict[str, Any], outcome: DeliveryError | None, now: dt.datetime, settings: Settings, report: DispatchReport
) -> None:
    """Record one outcome, only while this worker still holds the row's lease; a permanent refusal fails at once."""
    error = None if outcome is None else str(outcome)
    if error is None:
        values: dict[Any, Any] = {Notification.status: "sent", Notification.sent_at: now, Notification.last_error: None}
        report.sent += 1
    elif outcome is not None and outcome.permanent or row["attempts"] >= settings.notification_max_attempts:
        values = {Notification.status: "failed", Notification.last_error: error[:ERROR_LIMIT]}
        report.failed += 1
        log.warning("notification %s (%s to %s) failed after %s attempts: %s", row["id"], row["kind"], row["recipient"], row["attempts"], error)
    else:
        values = {
            Notification.status: "pending",
            Notification.next_attempt_at: now + backoff(row["attempts"]),
            Notification.last_error: error[:ERROR_LIMIT],
        }
        report.retried += 1
    values[Notification.claimed_until] = None
    done = await Notification.update(values).where(
        Notification.id == row["id"], Notification.claimed_until == row["claimed_until"]
    ).returning(Notification.id)
    if not done:
        log.warning("notification %s: lease lost before its outcome was recorded (%s)", row["id"], error or "sent")


async def _secrets(rows: list[dict[str, Any]], settings: Settings) -> dict[int, str | DeliveryError | None]:
    """Each webhook organisation's secret, decrypted; a DeliveryError where it does not open."""
    ids = sorted({r["organisation"] for r in rows if r["channel"] == "webhook" and r["organisation"] is not None})
    if not ids:
        return {}
    key = await instance_key(settings.secret_key)
    found = await Organisation.select(Organisation.id, Organisation.webhook_secret).where(Organisation.id.is_in(ids))
    out: dict[int, str | DeliveryError | None] = {}
    for r in found:
        try:
            out[r["id"]] = unseal(key, r["id"], r["webhook_secret"]) if r["webhook_secret"] else None
        except SecretUnreadable as exc:
            out[r["id"]] = DeliveryError(
                f"organisation {r['id']}: {exc} (was REFERRALNET_SECRET_KEY changed?); "
                f"create a new one with POST /api/v1/organisations/{r['id']}/webhook-secret"
            )
    return out


async def dispatch_due(settings: Settings, now: dt.datetime, *, worker_id: str, limit: int = 50) -> DispatchReport:
    """Deliver up to ``limit`` due notifications; with no SMTP host, due e-mails are held and logged.

    Held e-mails become due again as soon as an SMTP host is configured.
    """
    report = DispatchReport()
    smtp = bool(settings.smtp_host)
    if not smtp:
        held = await _claim(now, statuses=["pending"], channels=["email"], limit=limit, hold=True)
        if held:
            key = await instance_key(settings.secret_key)
            for row in held:
                try:
                    text = await email.render_text(row, settings, now, key)
                except DeliveryError as exc:  # e.g. an invitation sealed under another key: said in the log
                    text = str(exc)
                log.info("e-mail held (no REFERRALNET_SMTP_HOST); notification %s\nTo: %s\nSubject: %s\n\n%s",
                         row["id"], row["recipient"], row["subject"], text)  # fmt: skip
            report.held = len(held)
    rows = await _claim(
        now,
        statuses=["pending", "held"] if smtp else ["pending"],
        channels=["email", "webhook"] if smtp else ["webhook"],
        limit=limit,
        hold=False,
    )
    report.claimed = len(rows)
    if not rows:
        return report
    key = await instance_key(settings.secret_key) if any(r["channel"] == "email" for r in rows) else ""
    secrets = await _secrets(rows, settings)
    gate = asyncio.Semaphore(CONCURRENCY)
    mailer = email.Mailer(settings)

    async def guarded(row: dict[str, Any], attempt: Any) -> DeliveryError | None:
        try:
            await attempt()
        except DeliveryError as exc:
            return exc
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the others
            log.exception("notification %s: unexpected delivery error", row["id"])
            return DeliveryError(f"unexpected error: {type(exc).__name__}: {exc}")
        return None

    async def hook(row: dict[str, Any]) -> DeliveryError | None:
        async def attempt() -> None:
            secret = secrets.get(row["organisation"])
            if isinstance(secret, DeliveryError):
                raise secret
            await webhook.deliver(row, secret, settings)

        async with gate:
            return await guarded(row, attempt)

    async def mails(batch: list[dict[str, Any]]) -> list[DeliveryError | None]:
        """E-mails one after another over one SMTP connection."""
        out = []
        try:
            for row in batch:

                async def attempt(row: dict[str, Any] = row) -> None:
                    await mailer.send(await email.compose(row, settings, now, key))

                out.append(await guarded(row, attempt))
        finally:
            await mailer.close()
        return out

    emails = [r for r in rows if r["channel"] == "email"]
    hooks = [r for r in rows if r["channel"] != "email"]
    mail_outcomes, *hook_outcomes = await asyncio.gather(mails(emails), *(hook(r) for r in hooks))
    mail_ids = [r["id"] for r in emails]
    outcomes = dict(zip(mail_ids, mail_outcomes)) | dict(zip((r["id"] for r in hooks), hook_outcomes))  # type: ignore[arg-type]
    for row in rows:
        await _settle(row, outcomes[row["id"]], now, settings, report)
    log.info("notifications dispatched by %s: %s (%s SMTP connection(s))", worker_id, report, mailer.connections)
    return report
