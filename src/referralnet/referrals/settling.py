"""A referral's state from its needs: placed, partially placed, unplaced or open again, with the event and the
messages of each move (:func:`settle`, called in the transaction that moved a need or an offer)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from referralnet import sql
from referralnet.audit import event, record_all
from referralnet.errors import one
from referralnet.notifications.outbox import Notice, notify_all
from referralnet.referrals.lifecycle import ReferralStatus, move_referral, referral_state
from referralnet.referrals.records import needs_rows, referral_row
from referralnet.settings import Settings
from referralnet.tables import Referral
from referralnet.vocabulary.codes import need_label


@dataclass
class Known:
    """What an acceptance read in its transaction already, for :func:`settle`; and the events and messages it will write."""

    referral: dict[str, Any]
    needs: list[dict[str, Any]]
    service_id: int
    events: list[tuple[Any, ...]] = field(default_factory=list)
    messages: list[Notice] = field(default_factory=list)


def referral_payload(referral: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"referral_id": referral["id"], "summary": referral["summary"], "urgency": referral["urgency"], **extra}


# The states settle moves a referral on from (its needs decide).
SETTLING = frozenset({"open", "partially_placed", "unplaced"})


def settling_target(current: str, needs: list[dict[str, Any]]) -> ReferralStatus | None:
    """The state :func:`settle` moves a referral in ``current`` to, given its needs; ``None`` when it stays."""
    if current not in SETTLING:
        return None
    target = referral_state(needs)
    return None if target == current else target


async def settle(
    referral_id: int, now: dt.datetime, settings: Settings, actor: str, *, offer_id: int | None = None, known: Known | None = None
) -> str:
    """Give the referral the state its needs make (placed, partially placed, unplaced, open); returns it.

    ``known``: what the caller read in this transaction already (the referral row, its needs, the offer's service),
    and the list its events go to (written by the caller, in order)."""
    referral = known.referral if known else one(await referral_row(referral_id), f"referral {referral_id}")
    current = referral["status"]
    if current == "arrived":
        await _mark_late_placement(referral, known.needs if known else await needs_rows(referral_id), now, actor, offer_id, known)
    if current not in SETTLING:
        return current  # type: ignore[no-any-return]
    needs = known.needs if known else await needs_rows(referral_id)
    target = settling_target(current, needs)
    if target is None:
        return current  # type: ignore[no-any-return]
    if not await move_referral(referral_id, target, now, current=current, values=settled_values(target, now)):
        return current  # type: ignore[no-any-return]
    service_id = 0
    if target == "placed":
        if known:
            service_id = known.service_id
        else:
            service = await sql.first("SELECT service FROM offer WHERE id = {}", offer_id) if offer_id else None
            service_id = service["service"] if service else 0
    events, messages = settled_notes(referral, current, target, now, settings, actor, offer_id, service_id, needs=needs)
    if known:
        known.events += events
        known.messages += messages
    else:
        await record_all(events)
        await notify_all(messages, now=now)
    return target


# Marks an arrived referral placed (its required needs all placed after the person arrived at one of them).
LATE_PLACED_SQL = "UPDATE referral SET placed_at = {} WHERE id = {} AND placed_at IS NULL"


def late_placement(referral: dict[str, Any], needs: list[dict[str, Any]]) -> bool:
    """The referral arrived before its required needs were all placed, and now they are: it was never marked placed
    (``placed_at``, which the statistics read), since an arrived referral no longer changes state."""
    return referral["status"] == "arrived" and referral.get("placed_at") is None and referral_state(needs) == "placed"


def late_placement_event(referral_id: int, now: dt.datetime, actor: str, offer_id: int | None) -> tuple[Any, ...]:
    return event(referral_id, "referral_placed", actor, now, offer_id=offer_id, from_status="arrived", to_status="arrived")


async def _mark_late_placement(
    referral: dict[str, Any], needs: list[dict[str, Any]], now: dt.datetime, actor: str, offer_id: int | None, known: Known | None
) -> None:
    if late_placement(referral, needs) and await sql.fetch(LATE_PLACED_SQL + " RETURNING id", now, referral["id"]):
        note = late_placement_event(referral["id"], now, actor, offer_id)
        if known:
            known.events.append(note)
        else:
            await record_all([note])


def settled_values(target: str, now: dt.datetime) -> dict[Any, Any]:
    return {Referral.placed_at: now} if target == "placed" else {}


def settled_notes(
    referral: dict[str, Any], current: str, target: str, now: dt.datetime, settings: Settings, actor: str, offer_id: int | None, service_id: int,
    *, needs: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> tuple[list[tuple[Any, ...]], list[Notice]]:
    """The event and the messages of settle's move from ``current`` to ``target`` (``needs``: the referral's, to name
    the ones left with nobody)."""
    referral_id = referral["id"]
    events: list[tuple[Any, ...]] = []
    messages: list[Notice] = []
    if target == "placed":
        events.append(event(referral_id, "referral_placed", actor, now, offer_id=offer_id, from_status=current, to_status="placed",
                            service_id=service_id))  # fmt: skip
    elif target == "unplaced":
        events.append(event(referral_id, "referral_unplaced", actor, now, from_status=current, to_status="unplaced",
                            reason="a required need has no provider left"))  # fmt: skip
        subject = f"Referral {referral_id} could not be placed"
        left = [n["service_type"] for n in needs if n["status"] == "unplaced" and n["priority"] == "required"]
        if left:
            subject += f": no provider left for {', '.join(need_label(t) for t in left)}"
        extra = {"need": ", ".join(t.replace("_", " ") for t in left)} if left else {}
        for address in (settings.secretariat_email, referral["notify_email"]):
            messages.append(Notice(None, subject, referral_payload(referral, **extra), referral_id, None, "referral_unplaced", address or ""))
    else:
        kind = "referral_partially_placed" if target == "partially_placed" else "referral_reopened"
        events.append(event(referral_id, kind, actor, now, offer_id=offer_id, from_status=current, to_status=target))
    return events, messages
