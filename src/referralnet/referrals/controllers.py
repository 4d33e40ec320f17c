"""HTTP handlers for referrals and offers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from referralnet.accounts.guards import any_role, directory_editor, referrer, staff
from referralnet.directory.networks import scope_for
from referralnet.params import MAX_ID, CurrentActor, CurrentClock, Id, JSONBody, Limit, Offset, query
from referralnet.referrals import accepting, creation, delivery, offers, placement, reviews, rounds, services
from referralnet.referrals.lifecycle import ReferralStatus
from referralnet.referrals.schemas import (
    AcceptBody,
    AddOffers,
    ArrivalBody,
    CancelBody,
    ContestBody,
    DeclineBody,
    DeclineReview,
    OfferOut,
    OutcomeBody,
    ReferralCreate,
    ReferralList,
    ReferralOut,
    TaskList,
)


class ReferralController(Controller):
    path = "/api/v1/referrals"
    tags = ["referrals"]
    guards = [any_role]

    @post("/", operation_id="createReferral", guards=[referrer], status_code=HTTP_201_CREATED)
    async def create(
        self, request: Request[Any, Any, Any], data: JSONBody[ReferralCreate], actor: CurrentActor, clock: CurrentClock
    ) -> ReferralOut:
        """Refer a person (anonymised profile, recorded consent) to chosen or automatically matched providers."""
        state = request.app.state
        return await creation.create_referral(data, actor, clock, state.settings, state.matching_cache)

    @get("/", operation_id="listReferrals")
    async def list_referrals(
        self,
        actor: CurrentActor,
        clock: CurrentClock,
        status: Annotated[ReferralStatus | None, query("Only referrals in this state")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> ReferralList:
        """Referrals the caller may see: an institution its own, an NGO those offered to it, the secretariat all."""
        return await services.list_referrals(actor, clock.now(), status=status, limit=limit, offset=offset)

    @get("/{referral_id:int}", operation_id="getReferral")
    async def get_referral(self, referral_id: Id, actor: CurrentActor, clock: CurrentClock) -> ReferralOut:
        """One referral with its offers and history; every read is recorded in the audit log."""
        return await services.get_referral(referral_id, actor, clock.now())

    @post("/{referral_id:int}/offers", operation_id="addReferralOffers", guards=[referrer], status_code=HTTP_200_OK)
    async def add_offers(
        self, request: Request[Any, Any, Any], referral_id: Id, data: JSONBody[AddOffers], actor: CurrentActor, clock: CurrentClock
    ) -> ReferralOut:
        """A second round: ask more providers for a need still open or unplaced (not those who declined)."""
        state = request.app.state
        return await rounds.add_offers(referral_id, data, actor, clock, state.settings, state.matching_cache)

    @post("/{referral_id:int}/cancel", operation_id="cancelReferral", status_code=HTTP_200_OK)
    async def cancel(
        self, referral_id: Id, actor: CurrentActor, clock: CurrentClock, data: JSONBody[CancelBody | None] = None
    ) -> ReferralOut:
        """Cancel: pending offers are withdrawn and a reserved place is released."""
        return await services.cancel_referral(referral_id, data or CancelBody(), actor, clock)

    @post("/{referral_id:int}/arrival", operation_id="recordArrival", status_code=HTTP_200_OK)
    async def arrival(
        self, referral_id: Id, actor: CurrentActor, clock: CurrentClock, data: JSONBody[ArrivalBody | None] = None
    ) -> ReferralOut:
        """The accepting provider or the referring institution records that the person arrived (at one need or every placed one)."""
        body = data or ArrivalBody()
        return await placement.record_arrival(referral_id, actor, clock, body.note, body.need)

    @post("/{referral_id:int}/close", operation_id="closeReferral", status_code=HTTP_200_OK)
    async def close(self, referral_id: Id, data: JSONBody[OutcomeBody], actor: CurrentActor, clock: CurrentClock) -> ReferralOut:
        """The referring institution or a provider holding every placement records the outcome and closes; unused places are released."""
        return await placement.close_referral(referral_id, data, actor, clock)


class DeclineController(Controller):
    path = "/api/v1/declines"
    tags = ["referrals"]
    guards = [staff]

    @get("/", operation_id="reviewDeclines")
    async def review(
        self,
        actor: CurrentActor,
        since: Annotated[dt.datetime | None, query("Only declines answered at or after this time")] = None,
        organisation_id: Annotated[int | None, query("Only this organisation", ge=1, le=MAX_ID)] = None,
        contested: Annotated[bool | None, query("Only contested (true) or uncontested (false) declines")] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> DeclineReview:
        """Every decline with its reason, and providers that declined repeatedly for the same reason."""
        scope = await scope_for(actor)
        return await reviews.review_declines(
            since=since, organisation_id=organisation_id, contested=contested, limit=limit, offset=offset, organisations=scope.organisations
        )


class TaskController(Controller):
    path = "/api/v1/tasks"
    tags = ["referrals"]
    guards = [staff]

    @get("/", operation_id="listTasks")
    async def list_tasks(self, actor: CurrentActor, limit: Limit = 50, offset: Offset = 0) -> TaskList:
        """Offers the secretariat must phone (provider reachable only by phone, or delivery failed), soonest deadline first."""
        return await delivery.open_tasks(limit, offset, (await scope_for(actor)).organisations)


class OfferController(Controller):
    path = "/api/v1/offers"
    tags = ["referrals"]

    @post("/{offer_id:int}/accept", operation_id="acceptOffer", guards=[directory_editor], status_code=HTTP_200_OK)
    async def accept(
        self, request: Request[Any, Any, Any], offer_id: Id, actor: CurrentActor, clock: CurrentClock, data: JSONBody[AcceptBody | None] = None
    ) -> OfferOut:
        """Accept an offer (optionally with arrival instructions): a place is reserved, this need's other offers withdrawn."""
        instructions = (data or AcceptBody()).arrival_instructions
        return await accepting.accept_offer(offer_id, actor, clock.now(), request.app.state.settings, arrival_instructions=instructions)

    @post("/{offer_id:int}/decline", operation_id="declineOffer", guards=[directory_editor], status_code=HTTP_200_OK)
    async def decline(
        self, request: Request[Any, Any, Any], offer_id: Id, data: JSONBody[DeclineBody], actor: CurrentActor, clock: CurrentClock
    ) -> OfferOut:
        """Decline with a reason; a cascade then asks the next provider."""
        return await offers.decline_offer(offer_id, data, actor, clock.now(), request.app.state.settings)

    @post("/{offer_id:int}/contest", operation_id="contestDecline", guards=[staff], status_code=HTTP_200_OK)
    async def contest(
        self, offer_id: Id, actor: CurrentActor, clock: CurrentClock, data: JSONBody[ContestBody | None] = None
    ) -> OfferOut:
        """The secretariat marks a decline as contested, to follow it up with the provider."""
        return await offers.contest_decline(offer_id, actor, clock.now(), (data or ContestBody()).note)
