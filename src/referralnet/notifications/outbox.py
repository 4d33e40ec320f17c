"""Writing notifications into the outbox, inside the caller's transaction.

A row per channel: e-mail to the organisation's referral contact, and a webhook where the
organisation set one. An organisation with no contact at all still gets a row, marked failed
with the reason, so the secretariat sees that it could not be told.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, NamedTuple, get_args

from referralnet import sql
from referralnet.dialect.lists import in_ids
from referralnet.directory.views import dumps
from referralnet.notifications.schemas import NotificationKind

# Kinds of message; payloads carry the anonymised summary only.
KINDS: tuple[str, ...] = get_args(NotificationKind)

# A fixed statement (referralnet.sql): every referral change writes a few of these rows.
_INSERT = (
    "INSERT INTO notification (kind, channel, recipient, organisation, referral, offer, subject, payload, delivery_id, "
    "status, attempts, next_attempt_at, last_error, created_at) VALUES "
)
_VALUES = "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, 0, {}, {}, {})"

# A notice to an organisation with no channel: its row's last_error (the secretariat's review page shows it translated).
NO_CHANNEL = "the organisation has no referral e-mail or webhook"


class Written(NamedTuple):
    """One outbox row as written: its channel (email, webhook, none), recipient and status."""

    kind: str
    channel: str
    recipient: str
    status: str


class Notice(NamedTuple):
    """One message: to an organisation (on its channels), or with ``address`` to a person's e-mail; ``kind`` for :func:`notify_all`."""

    organisation_id: int | None
    subject: str
    payload: dict[str, Any]
    referral_id: int | None = None
    offer_id: int | None = None
    kind: str = ""
    address: str | None = None


def _values(kind: str, channel: str, recipient: str, now: dt.datetime, notice: Notice, organisation_id: int | None,
            status: str = "pending", error: str | None = None) -> list[Any]:  # fmt: skip
    payload = dumps({**notice.payload, "kind": kind})
    return [kind, channel, recipient, organisation_id, notice.referral_id, notice.offer_id, notice.subject, payload,
            str(uuid.uuid4()), status, now, error, now]  # fmt: skip


def reachable(contact: dict[str, Any]) -> bool:
    """Whether an organisation's contact (``referral_email``, ``webhook_url``) gets a message sent (else a failed row)."""
    return bool(contact["referral_email"] or contact["webhook_url"])


async def notify_all(notices: list[Notice], *, now: dt.datetime, contacts: dict[int, dict[str, Any]] | None = None) -> list[list[Written]]:
    """Several messages (each with its ``kind``): one read of the organisations' contacts, one insert, rows in the
    notices' order. A notice to an empty address writes nothing. Returns each notice's rows.

    ``contacts``: the organisations' ``referral_email`` and ``webhook_url`` by id, read in this transaction already."""
    orgs = sorted({n.organisation_id for n in notices if n.address is None and n.organisation_id is not None} - set(contacts or {}))
    contacts = dict(contacts or {})
    if orgs:
        ids, args = in_ids("id", orgs)
        contacts.update({r["id"]: r for r in await sql.fetch(f"SELECT id, referral_email, webhook_url FROM organisation WHERE {ids}", *args)})
    statement, values, written = notify_sql(notices, now=now, contacts=contacts)
    if statement:
        await sql.fetch(statement, *values)
    return written


def notify_sql(notices: list[Notice], *, now: dt.datetime, contacts: dict[int, dict[str, Any]]) -> tuple[str, list[Any], list[list[Written]]]:
    """:func:`notify_all`'s insert as text (empty when nothing is written) and its arguments, with each notice's rows:
    for a caller that runs it with other statements. ``contacts``: every organisation's the notices go to."""
    rows: list[list[Any]] = []
    written: list[list[Written]] = []
    for notice in notices:
        kind, mine = notice.kind, []
        if notice.address is not None or notice.organisation_id is None:
            if notice.address:
                mine.append(Written(kind, "email", notice.address, "pending"))
                rows.append(_values(kind, "email", notice.address, now, notice, None))
            written.append(mine)
            continue
        org = contacts.get(notice.organisation_id)
        if org and org["referral_email"]:
            mine.append(Written(kind, "email", org["referral_email"], "pending"))
        if org and org["webhook_url"]:
            mine.append(Written(kind, "webhook", org["webhook_url"], "pending"))
        for w in mine:
            rows.append(_values(kind, w.channel, w.recipient, now, notice, notice.organisation_id))
        if not mine:
            error = NO_CHANNEL
            mine.append(Written(kind, "none", "", "failed"))
            rows.append(_values(kind, "none", "", now, notice, notice.organisation_id, status="failed", error=error))
        written.append(mine)
    if not rows:
        return "", [], written
    return _INSERT + ", ".join([_VALUES] * len(rows)), [value for row in rows for value in row], written


async def notify_organisation(
    kind: str,
    organisation_id: int,
    *,
    now: dt.datetime,
    subject: str,
    payload: dict[str, Any],
    referral_id: int | None = None,
    offer_id: int | None = None,
) -> list[Written]:
    """A message to an organisation on every channel it has (a failed row when it has none)."""
    return (await notify_all([Notice(organisation_id, subject, payload, referral_id, offer_id, kind=kind)], now=now))[0]


async def notify_address(
    kind: str,
    email: str | None,
    *,
    now: dt.datetime,
    subject: str,
    payload: dict[str, Any],
    referral_id: int | None = None,
    offer_id: int | None = None,
) -> list[Written]:
    """A message to a person's work address (the referring officer, the secretariat), if known."""
    return (await notify_all([Notice(None, subject, payload, referral_id, offer_id, kind, email or "")], now=now))[0]
