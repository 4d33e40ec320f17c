"""A second round: more providers asked for a need that is still open or unplaced, after a fresh match.

The referring institution (or the secretariat on its behalf) adds offers; those who already declined
this referral and services already waiting on it are left out; an unplaced need (and so an unplaced
referral) reopens. Everything is checked before anything is written, in one transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from referralnet.accounts.schemas import Actor
from referralnet.audit import record
from referralnet.db import write_transaction
from referralnet.errors import Conflict, Forbidden, InvalidInput
from referralnet.jsoncol import dumps, load
from referralnet.matching.cache import DirectoryCache
from referralnet.matching.profile import Profile
from referralnet.matching.services import not_eligible_reason, ranked_services
from referralnet.referrals.creation import CHOICE_LIMIT
from referralnet.referrals.lifecycle import move_need
from referralnet.referrals.offers import send_offers
from referralnet.referrals.records import lock_referral, needs_rows, referral_out, referral_row
from referralnet.referrals.schemas import AddOffers, ReferralOut
from referralnet.referrals.services import _own_institution, _readable_row
from referralnet.referrals.settling import settle
from referralnet.settings import Settings
from referralnet.tables import Offer, ReferralNeed, Service

# A referral in these states can still take offers (once arrived too: a need still open or unplaced is asked for
# while the person is at the placed service); a need in these states can still be placed.
OPEN_REFERRAL = frozenset({"open", "partially_placed", "placed", "arrived", "unplaced"})
OPEN_NEED = frozenset({"not_requested", "open", "unplaced"})


class NoProviderLeft(Conflict):
    """A fresh match found nobody new to ask: those who fit already declined or are already asked."""


async def _left_out(referral_id: int, need_id: int) -> dict[int, str]:
    """Services that may not be asked again for this need, with why: they declined or are already waiting."""
    rows = await Offer.select(Offer.service, Offer.status, Offer.need).where(Offer.referral == referral_id)
    out: dict[int, str] = {}
    for r in rows:
        if r["status"] == "declined":
            out[r["service"]] = "already declined this referral"
        elif r["need"] == need_id and r["status"] in ("pending", "accepted"):
            out.setdefault(r["service"], "is already asked for this need")
    return out


async def _check_chosen(
    service_ids: list[int], eligible: list[int], left_out: dict[int, str], institution: int | None, why: Callable[[int], Awaitable[str]]
) -> None:
    """Each chosen service exists, is a provider's, may be asked for this need and fits it now (``why`` says why not)."""
    for i, service_id in enumerate(service_ids):
        field = f"service_ids[{i}]"
        service = await Service.select(Service.organisation, Service.organisation.kind).where(Service.id == service_id).first()
        if service is None:
            raise InvalidInput(f"service {service_id} does not exist", field=field)
        if service["organisation"] == institution or service["organisation.kind"] == "institution":
            raise InvalidInput(f"service {service_id} belongs to a referring institution, not a provider", field=field)
        if service_id in left_out:
            raise InvalidInput(f"service {service_id} {left_out[service_id]}", field=field)
        if service_id not in eligible:
            raise InvalidInput(f"service {service_id} {await why(service_id)}", field=field)
    if len(set(service_ids)) != len(service_ids):
        raise InvalidInput("a service may be asked once per referral", field="service_ids")


async def add_offers(
    referral_id: int, body: AddOffers, actor: Actor, clock: Any, settings: Settings, cache: DirectoryCache
) -> ReferralOut:
    """Ask more providers for one need of a referral (a second round); returns the referral."""
    now = clock.now()
    row = await _readable_row(referral_id, actor, now, "add_offers")
    if not (actor.is_staff or _own_institution(actor, row)):
        raise Forbidden("only the referring institution or the secretariat can ask more providers")
    if row["status"] not in OPEN_REFERRAL:
        raise Conflict(f"a referral that is {row['status']} takes no more offers", field="status")
    needs = {n["service_type"]: n for n in await needs_rows(referral_id)}
    need = needs.get(body.need)
    if need is None:
        raise InvalidInput(f"this referral has no need {body.need!r}; its needs: {', '.join(needs) or 'none'}", field="need")
    if need["status"] not in OPEN_NEED:
        raise Conflict(f"the need {body.need} is {need['status']}; only an open or unplaced need takes more offers", field="need")
    profile = msgspec.convert(load(row["profile"]), Profile)
    ranked = await ranked_services(profile, cache, clock, stale_days=settings.capacity_stale_days, limit=CHOICE_LIMIT)
    eligible = [service_id for service_id, service_type in ranked if service_type == body.need]
    left_out = await _left_out(referral_id, need["id"])
    if actor.bound:  # a secretariat bound to networks asks its networks' members only, as it acts for them only
        members = sorted(actor.members or ()) or [0]
        outside = await Service.select(Service.id).where(Service.id.is_in(eligible or [0]), Service.organisation.not_in(members))
        left_out |= {r["id"]: "belongs to an organisation outside your networks" for r in outside}
    if body.service_ids is not None:
        async def why(service_id: int) -> str:
            service_type = await Service.select(Service.type).where(Service.id == service_id).first()
            if service_type is not None and service_type["type"] != body.need:
                return f"is a {service_type['type']} service, not one for the need {body.need}"
            return await not_eligible_reason(profile, service_id, cache, clock)

        await _check_chosen(list(body.service_ids), eligible, left_out, row["institution"], why)
        chosen = list(body.service_ids)
    else:
        institutions = await Service.select(Service.id).where(
            Service.id.is_in(eligible or [0]), Service.organisation.kind == "institution"
        )  # fmt: skip
        left_out |= {r["id"]: "belongs to a referring institution" for r in institutions}
        chosen = [s for s in eligible if s not in left_out][: settings.auto_offers]
        if not chosen:
            raise NoProviderLeft(f"no other provider can be asked for {body.need}: those who fit already declined or are asked", field="need")
    who = actor.label
    async with write_transaction():
        await lock_referral(referral_id)
        current = await referral_row(referral_id)
        fresh = await ReferralNeed.select().where(ReferralNeed.id == need["id"]).first()
        if current is None or current["status"] not in OPEN_REFERRAL or fresh is None or fresh["status"] not in OPEN_NEED:
            raise Conflict("the referral changed meanwhile; reload it", field="status")
        if fresh["status"] != "open":
            await move_need(fresh["id"], "open")
        waiting = await Offer.exists().where(Offer.need == fresh["id"], Offer.status == "pending")
        rest: list[int]
        if current["mode"] == "parallel":
            first, rest = chosen, []
        else:  # a cascade asks one at a time: the new services queue behind an offer still waiting
            first, rest = ([], chosen) if waiting else (chosen[:1], chosen[1:])
        queue = load(fresh["queue"], list[int]) + rest
        await ReferralNeed.update({ReferralNeed.queue: dumps(queue)}).where(ReferralNeed.id == fresh["id"])
        on_behalf = None if _own_institution(actor, row) else "the referring institution"
        await record(
            referral_id, "offers_added", who, now, need_id=fresh["id"], service_type=body.need, from_status=fresh["status"],
            to_status="open", service_ids=chosen, on_behalf=on_behalf,
        )  # fmt: skip
        position = await Offer.count().where(Offer.referral == referral_id)
        await send_offers(current, fresh, first, position, now, settings, who)
        await settle(referral_id, now, settings, who)
    return await referral_out(await referral_row(referral_id))  # type: ignore[arg-type]
