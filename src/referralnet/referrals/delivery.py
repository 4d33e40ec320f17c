"""How each offer reached its provider, and the secretariat's tasks when it did not.

An offer is ``sent`` when its message went to an e-mail or webhook; ``phone`` when the organisation
has only a phone (the secretariat calls it); ``failed`` when it has no channel at all, or when every
message of the offer failed for good. A phone or failed offer is a task for the secretariat ("call this
provider"), which may answer on the provider's behalf; a failed one is escalated at once to the
secretariat and the referring officer, not after the deadline. ``delivered`` is shown once a message
of the offer was sent.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from referralnet import sql
from referralnet.db import write_transaction
from referralnet.dialect.lists import in_ids
from referralnet.errors import one
from referralnet.notifications.outbox import notify_address
from referralnet.referrals.schemas import TaskList, TaskOut
from referralnet.settings import Settings
from referralnet.tables import Offer, Organisation, Referral

TASK_STATES = ("phone", "failed")
ACTION = "call this provider"

# Pending offers whose every message failed for good (a claim below makes each escalate once).
_FAILED_SQL = (
    "SELECT o.id FROM offer o WHERE o.status = 'pending' AND o.delivery = 'sent' "
    "AND EXISTS (SELECT 1 FROM notification n WHERE n.offer = o.id AND n.kind = 'offer_new' AND n.status = 'failed') "
    "AND NOT EXISTS (SELECT 1 FROM notification n WHERE n.offer = o.id AND n.kind = 'offer_new' AND n.status <> 'failed') "
    "ORDER BY o.id LIMIT {}"
)


async def after_send(referral: dict[str, Any], offer_id: int, organisation_id: int, channels: set[str], now: dt.datetime, settings: Settings) -> str:
    """Record how the new offer goes out; an offer nobody can receive becomes a task, a failed one escalates now."""
    if channels & {"email", "webhook"}:
        state = "sent"
    else:
        org = await Organisation.select(Organisation.referral_phone, Organisation.phone_24h).where(Organisation.id == organisation_id).first()
        state = "phone" if org and (org["referral_phone"] or org["phone_24h"]) else "failed"
    await sql.fetch("UPDATE offer SET delivery = {} WHERE id = {}", state, offer_id)
    if state != "sent":
        await _task(referral, offer_id, state, now, settings)
    return state


async def _task(referral: dict[str, Any], offer_id: int, state: str, now: dt.datetime, settings: Settings) -> None:
    """Tell the secretariat (and, for a failure, the referring officer) now; the offer's ``delivery`` shows it."""
    why = "the provider can be reached only by phone" if state == "phone" else "the offer could not be delivered to the provider"
    subject = f"Referral {referral['id']}: {ACTION} (offer {offer_id})"
    payload = {"referral_id": referral["id"], "offer_id": offer_id, "urgency": referral["urgency"], "summary": referral["summary"], "reason": why}
    await notify_address(
        "offer_undelivered", settings.secretariat_email, now=now, subject=subject, payload=payload, referral_id=referral["id"], offer_id=offer_id
    )
    if state == "failed":
        await notify_address(
            "offer_undelivered", referral["notify_email"], now=now, subject=f"Referral {referral['id']}: an offer could not be delivered",
            payload={**payload, "reason": f"{why}; the secretariat was told and will call it"}, referral_id=referral["id"], offer_id=offer_id,
        )  # fmt: skip


async def escalate_failed(now: dt.datetime, settings: Settings, *, batch: int = 200) -> int:
    """Turn offers whose every message failed into secretariat tasks, each once (a claim), and tell both sides."""
    count = 0
    for row in await Offer.raw(_FAILED_SQL, batch):
        async with write_transaction():
            claimed = await Offer.update({Offer.delivery: "failed"}).where(
                Offer.id == row["id"], Offer.delivery == "sent", Offer.status == "pending"
            ).returning(Offer.referral)
            if not claimed:
                continue
            referral = one(await Referral.select().where(Referral.id == claimed[0]["referral"]).first(), f"referral {claimed[0]['referral']}")
            await _task(referral, row["id"], "failed", now, settings)
            count += 1
    return count


async def delivered(offer_ids: list[int]) -> set[int]:
    """Those of ``offer_ids`` with a message that was sent."""
    if not offer_ids:
        return set()
    ids, args = in_ids("offer", offer_ids)
    rows = await sql.fetch(f"SELECT offer FROM notification WHERE {ids} AND kind = 'offer_new' AND status = 'sent'", *args)
    return {r["offer"] for r in rows}


async def open_tasks(limit: int, offset: int, organisations: frozenset[int] | None = None) -> TaskList:
    """Pending offers the secretariat must phone (no e-mail or webhook, or delivery failed), soonest deadline first.

    ``organisations`` limits them to a secretariat's networks' members (None: all).
    """
    if organisations is not None and not organisations:
        return TaskList(items=[], total=0)
    query = Offer.select(
        Offer.id, Offer.referral, Offer.need, Offer.delivery, Offer.deadline, Offer.service.name, Offer.organisation,
        Offer.organisation.name, Offer.organisation.referral_phone, Offer.organisation.phone_24h, Offer.referral.urgency,
    ).where(Offer.status == "pending", Offer.delivery.is_in(list(TASK_STATES)))  # fmt: skip
    if organisations is not None:
        query = query.where(Offer.organisation.is_in(sorted(organisations)))
    rows = await query.order_by(Offer.deadline).order_by(Offer.id)
    items = [
        TaskOut(
            action=ACTION, offer_id=r["id"], referral_id=r["referral"], need_id=r["need"], urgency=r["referral.urgency"],
            deadline=r["deadline"], delivery=r["delivery"], service_name=r["service.name"], organisation_id=r["organisation"],
            organisation_name=r["organisation.name"], referral_phone=r["organisation.referral_phone"], phone_24h=r["organisation.phone_24h"],
        )  # fmt: skip
        for r in rows[offset : offset + limit]
    ]
    return TaskList(items=items, total=len(rows))
