"""The trail of what happened: a referral's history events and the audit log of reads and refusals.

Referrals, notifications and the places owner all write here; this module imports none of them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet import sql
from referralnet.accounts.schemas import Actor
from referralnet.db import write_transaction
from referralnet.jsoncol import dumps

# Fixed statements (referralnet.sql): written on every referral change and read, so not rebuilt by Piccolo each time.
_EVENT = "INSERT INTO referral_event (referral, offer, at, kind, actor, from_status, to_status, reason, data) VALUES "
_EVENT_ROW = "({}, {}, {}, {}, {}, {}, {}, {}, {})"
_AUDIT = (
    "INSERT INTO audit_log (at, actor, token, role, organisation, object_type, object_id, action, outcome) "
    "VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {})"
)


async def record(referral_id: int, kind: str, actor: str, now: dt.datetime, **fields: Any) -> None:
    """Append one event to the referral's history (in the caller's transaction); ``fields`` as :func:`event`."""
    await sql.fetch(_EVENT + _EVENT_ROW, *event(referral_id, kind, actor, now, **fields))


def event(
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
) -> tuple[Any, ...]:
    """One history event as :func:`record_all` writes it (the arguments of :func:`record`)."""
    return (referral_id, offer_id, now, kind, actor, from_status, to_status, reason, dumps(data))


async def record_all(events: list[tuple[Any, ...]]) -> None:
    """Append several events (made by :func:`event`) in one statement, in their order (in the caller's transaction)."""
    if events:
        statement, args = record_sql(events)
        await sql.fetch(statement, *args)


def record_sql(events: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
    """:func:`record_all`'s insert (of at least one event) as text and its arguments, for a caller that runs it with other statements."""
    return _EVENT + ", ".join([_EVENT_ROW] * len(events)), [value for e in events for value in e]


async def audit(actor: Actor, now: dt.datetime, *, object_type: str, object_id: int | None, action: str, outcome: str) -> None:
    """Append to the audit log; never the profile's content.

    In a write transaction even when alone: on SQLite a bare insert would bypass the writers'
    queue and, under load, lose the file lock to queued writers for seconds.
    """
    async with write_transaction():
        await sql.fetch(*audit_sql(actor, now, object_type=object_type, object_id=object_id, action=action, outcome=outcome))


def audit_sql(actor: Actor, now: dt.datetime, *, object_type: str, object_id: int | None, action: str, outcome: str) -> tuple[Any, ...]:
    """:func:`audit`'s insert and its arguments (``(text, *args)``), for a caller that runs it with other statements in its transaction."""
    return (_AUDIT, now, actor.name, actor.token_id, actor.role, actor.organisation_id, object_type, object_id, action, outcome)
