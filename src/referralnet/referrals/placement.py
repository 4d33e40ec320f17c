"""Arrival and closing (cancelling: ``services.py``). The person arrives at each placed need's provider on its own (``referral_need.arrived_at``);
the first arrival moves the referral to ``arrived``, and needs still open or unplaced can still be asked for. The
referral is closed once, by the referring institution, the secretariat, or a provider holding every placement of it;
closing gives back the places of the needs the person never arrived at and tells the other accepting providers."""

from __future__ import annotations

from typing import Any

from referralnet import sql
from referralnet.accounts.schemas import Actor
from referralnet.audit import record
from referralnet.db import write_transaction
from referralnet.dialect.lists import in_ids
from referralnet.errors import Conflict, Forbidden, InvalidInput
from referralnet.matching.privacy import screen
from referralnet.referrals.lifecycle import move_need, move_referral
from referralnet.referrals.offers import withdraw_pending
from referralnet.referrals.records import lock_referral, needs_rows, referral_out, referral_row
from referralnet.referrals.schemas import OutcomeBody, ReferralOut
from referralnet.referrals.services import _as_seen, _own_institution, _readable_row, _release_places, _transition, tell_placements
from referralnet.tables import Offer, Referral, ReferralNeed

# A referral whose placed needs can record an arrival: any live state (a desired need may be placed while a required
# one is still open); the first arrival moves it to ``arrived``, later ones at other needs leave it there.
ARRIVAL_FROM = frozenset({"open", "partially_placed", "placed", "unplaced", "arrived"})
# States in which the referral's parties (not only the secretariat) close it, once a need is placed (open: a desired
# need placed while the required ones are still asked).
CLOSE_BY_PARTIES = frozenset({"open", "placed", "partially_placed", "arrived", "unplaced"})


def _get(need: Any, key: str) -> Any:
    return need[key] if isinstance(need, dict) else getattr(need, {"placed_offer": "placed_offer_id"}.get(key, key))


def somewhere_placed(needs: Any) -> bool:
    """Whether a need of the referral is placed (needs as rows or as the view's Structs)."""
    return any(_get(n, "status") == "placed" for n in needs)


def may_record_arrival(status: str, needs: Any) -> bool:
    """Whether an arrival can be recorded now: a placed need the person has not arrived at, in a live referral."""
    return status in ARRIVAL_FROM and any(_get(n, "status") == "placed" and _get(n, "arrived_at") is None for n in needs)


def parties_may_close(status: str, needs: Any) -> bool:
    """Whether the referral's parties (the institution, a provider holding every placement) may close it now."""
    return status in CLOSE_BY_PARTIES and (status == "arrived" or somewhere_placed(needs))


def provider_may_close(status: str, needs: Any) -> bool:
    """:func:`parties_may_close` for a provider, from its view: it holds every placement of the referral and no need is
    still being asked for (another provider's placement, or a search still going, is not its to end)."""
    placed = [n for n in needs if _get(n, "status") == "placed"]
    return (parties_may_close(status, needs) and bool(placed) and all(_get(n, "placed_offer") is not None for n in placed)
            and not any(_get(n, "status") == "open" for n in needs))  # fmt: skip


def _check_provider_closes(needs: list[dict[str, Any]], accepted: dict[int, int], actor: Actor) -> None:
    """A provider closes a referral only when it holds every placement and no need is still being asked for."""
    if not all(actor.owns(org) for org in accepted.values()):
        raise Forbidden("other providers hold places in this referral: the referring institution or the secretariat closes it")
    asked = [n["service_type"] for n in needs if n["status"] == "open"]
    if asked:
        raise Forbidden(f"providers are still being asked for {', '.join(asked)}: the referring institution or the secretariat closes it")


async def _accepted_by(referral_id: int) -> dict[int, int]:
    """The referral's accepted offers: offer id -> organisation."""
    rows = await Offer.select(Offer.id, Offer.organisation).where(Offer.referral == referral_id, Offer.status == "accepted")
    return {r["id"]: r["organisation"] for r in rows}


def _arriving(needs: list[dict[str, Any]], accepted: dict[int, int], actor: Actor, need: str | None, referral_id: int) -> list[dict[str, Any]]:
    """The placed needs this arrival is for: the actor's own placements for a provider, ``need`` when given; refused
    with the reason when there is none."""
    placed = [n for n in needs if n["status"] == "placed"]
    if actor.role == "ngo":
        placed = [n for n in placed if actor.owns(accepted.get(n["placed_offer"], 0))]
    if need is not None:
        if need not in {n["service_type"] for n in needs}:
            raise InvalidInput(f"this referral has no need {need!r}; its needs: {', '.join(n['service_type'] for n in needs)}", field="need")
        status = next(n["status"] for n in needs if n["service_type"] == need)
        placed = [n for n in placed if n["service_type"] == need]
        if not placed:
            whose = "" if status != "placed" else " by another provider"
            raise Conflict(f"the need {need} is {status}{whose}: the person arrives at a need you placed", field="need")
    waiting = [n for n in placed if n["arrived_at"] is None]
    if waiting:
        return waiting
    if placed:
        raise Conflict(f"the arrival at {', '.join(n['service_type'] for n in placed)} is already recorded", field="status")
    raise Conflict(f"referral {referral_id} has no placed need yet: the person arrives at a service that accepted", field="status")


async def record_arrival(referral_id: int, actor: Actor, clock: Any, note: str | None, need: str | None = None) -> ReferralOut:
    """Record that the person arrived at the placed needs' providers (a provider: its own; ``need``: that one only)."""
    now = clock.now()
    row = await _readable_row(referral_id, actor, now, "arrival")
    await _party_to_placement(row, actor)
    screen(note, "note", today=now.date())  # the note is kept in the history: no identifiers
    if row["status"] not in ARRIVAL_FROM:
        raise Conflict(f"a referral that is {row['status']} takes no arrival", field="status")
    arriving = _arriving(await needs_rows(referral_id), await _accepted_by(referral_id), actor, need, referral_id)
    async with write_transaction():
        await lock_referral(referral_id)
        current = await referral_row(referral_id)
        if current is None or current["status"] not in ARRIVAL_FROM:
            raise Conflict("the referral changed meanwhile; reload it", field="status")
        ids, args = in_ids("id", [n["id"] for n in arriving])
        claimed = await sql.fetch(
            f"UPDATE referral_need SET arrived_at = {{}} WHERE {ids} AND status = 'placed' AND arrived_at IS NULL RETURNING id", now, *args
        )
        if not claimed:
            raise Conflict("the arrival was recorded meanwhile; reload the referral", field="status")
        before = current["status"]
        if before != "arrived" and not await move_referral(referral_id, "arrived", now, current=before, values={Referral.arrived_at: now}):
            raise Conflict("the referral changed meanwhile; reload it", field="status")
        done = {r["id"] for r in claimed}
        for n in arriving:
            if n["id"] in done:
                await record(referral_id, "arrival_recorded", actor.label, now, from_status=before, to_status="arrived", reason=note,
                             need_id=n["id"], service_type=n["service_type"])  # fmt: skip
    return _as_seen(await referral_out(await referral_row(referral_id)), actor)  # type: ignore[arg-type]


async def _party_to_placement(row: dict[str, Any], actor: Actor) -> None:
    """The accepting provider, the referring institution (its officer often goes with the person and follows
    the case) or the secretariat may record arrival and the outcome."""
    if actor.is_staff or _own_institution(actor, row):
        return
    if not any(actor.owns(org) for org in (await _accepted_by(row["id"])).values()):
        raise Forbidden("only a provider that accepted this referral, the referring institution or the secretariat can record this")


async def close_referral(referral_id: int, body: OutcomeBody, actor: Actor, clock: Any) -> ReferralOut:
    """Record the outcome and close; places of needs the person never arrived at are released."""
    now = clock.now()
    row = await _readable_row(referral_id, actor, now, "close")
    if row["status"] in ("closed", "cancelled"):
        raise Conflict(f"referral {referral_id} is already {row['status']}", field="status")
    if parties_may_close(row["status"], await needs_rows(referral_id)):
        await _party_to_placement(row, actor)  # a provider's full check runs under the referral's lock below
    elif not actor.is_staff:
        raise Forbidden("only the secretariat can close a referral that was not placed")
    screen(body, "", today=now.date())  # the outcome's text is kept in the history: no identifiers
    who = actor.label
    async with write_transaction():
        if actor.role == "ngo":  # under the referral's lock: another provider may be accepting meanwhile
            await lock_referral(referral_id)
            _check_provider_closes(await needs_rows(referral_id), await _accepted_by(referral_id), actor)
        before = await _transition(
            referral_id, actor, now, "closed", allowed=CLOSE_BY_PARTIES,
            values={Referral.closed_at: now, Referral.outcome: body.outcome, Referral.outcome_text: body.text},
        )  # fmt: skip
        await record(
            referral_id, "referral_closed", who, now, from_status=before["status"], to_status="closed", reason=body.text, outcome=body.outcome
        )
        await withdraw_pending(before, now, who, reason="the referral was closed")
        needs = await needs_rows(referral_id)
        for need in needs:
            if need["status"] in ("open", "not_requested"):  # never decided: an unplaced need stays (unmet demand)
                await move_need(need["id"], "cancelled", values={ReferralNeed.queue: "[]"})
        arrived = {n["placed_offer"] for n in needs if n["status"] == "placed" and n["arrived_at"] is not None}
        await _release_places(referral_id, now, who, keep=arrived)
        await tell_placements(before, actor, now, f"Referral {referral_id} was closed", outcome=body.outcome)
    return _as_seen(await referral_out(await referral_row(referral_id)), actor)  # type: ignore[arg-type]
