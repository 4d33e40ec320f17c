"""The NGO's page of one offer: the anonymised profile, the time left, accept or decline (posted to the
inbox's handlers), and once accepted the arrival and the outcome (the API's services; the NGO is a party
to the placement). Opening it records the offer as seen."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from referralnet.errors import DomainError, NotFound, PrivacyViolation
from referralnet.params import CurrentClock, FromPath
from referralnet.referrals import inbox, placement
from referralnet.referrals.schemas import ArrivalBody, OutcomeBody
from referralnet.texts import N_
from referralnet.vocabulary.codes import DECLINE_REASONS, OUTCOMES, URGENCIES
from referralnet.web import forms
from referralnet.web.institution import LIVE_HEADERS, NEED_LABELS, NO_ARRIVAL, NO_CLOSING, NOTE_TOO_LONG, _page
from referralnet.web.ngo import ngo_only

NO_SUCH_OFFER = N_("there is no such offer to your organisation")
PRIORITIES = (N_("required"), N_("desired"))  # a need's priority, as the page names it


def _missing() -> Template:
    return _page("institution/missing.html", 404, message=NO_SUCH_OFFER)


def _placed_by(view: Any) -> Any:
    """The need this offer placed (its acceptance), or None."""
    return next((n for n in view.referral.needs if n.placed_offer_id == view.offer.id), None)


async def offer_page(request: Request[Any, Any, Any], offer_id: int, now: dt.datetime, code: int = 200, **context: Any) -> Template:
    """The offer's page (or the not-found page: another organisation's offer is answered as an unknown id)."""
    try:
        view = await inbox.open_offer(offer_id, request.scope["user"], now)
    except NotFound:
        return _missing()
    own = _placed_by(view)
    return _page("ngo/offer.html", code, headers=LIVE_HEADERS, view=view, o=view.offer, referral=view.referral, now=now,
                 reasons=DECLINE_REASONS, outcomes=OUTCOMES, urgencies=URGENCIES, need_labels=NEED_LABELS,
                 may_arrive=own is not None and placement.may_record_arrival(view.referral.status, [own]),
                 arrived_at=own.arrived_at if own is not None else None,
                 may_close=placement.provider_may_close(view.referral.status, view.referral.needs),
                 **{"errors": {}, "kinds": {}, "kept": {}, **context})  # fmt: skip


class NgoOfferPages(Controller):
    path = "/ngo/offers"
    include_in_schema = False
    guards = [ngo_only]

    @get("/{offer_id:int}", operation_id="ngoOfferPage", include_in_schema=False)
    async def offer(self, request: Request[Any, Any, Any], offer_id: FromPath[int], clock: CurrentClock) -> Template:
        """One offer: the anonymised profile, the time left, accept or decline; once accepted, arrival and outcome."""
        return await offer_page(request, offer_id, clock.now())

    @post("/{offer_id:int}/arrival", operation_id="ngoRecordArrivalPage", include_in_schema=False, status_code=303)
    async def arrival(self, request: Request[Any, Any, Any], offer_id: FromPath[int], clock: CurrentClock) -> Template | Redirect:
        """Record that the person arrived (the API's service); the optional note is refused if it holds an identifier."""
        now = clock.now()
        note = str((await request.form()).get("note") or "").strip() or None
        try:
            view = await inbox.open_offer(offer_id, request.scope["user"], now)
            body = msgspec.convert({"note": note}, ArrivalBody)
        except NotFound:
            return _missing()
        except msgspec.ValidationError:
            return await offer_page(request, offer_id, now, 422, errors={"arrival-note": NOTE_TOO_LONG})
        try:
            own = _placed_by(view)  # the arrival at this offer's placement, not at the organisation's others
            await placement.record_arrival(view.referral.id, request.scope["user"], clock, body.note, own.service_type if own else None)
        except PrivacyViolation as exc:
            return await offer_page(request, offer_id, now, 422, errors={"arrival-note": forms.field_errors(exc).errors["note"]},
                                    kinds={"arrival-note": exc.kind})  # fmt: skip
        except DomainError as exc:
            return await offer_page(request, offer_id, now, exc.status_code if exc.status_code != 404 else 409, errors={"page": NO_ARRIVAL})
        return Redirect(f"/ngo/offers/{offer_id}?done=arrived", status_code=303)

    @post("/{offer_id:int}/close", operation_id="ngoCloseReferralPage", include_in_schema=False, status_code=303)
    async def close(self, request: Request[Any, Any, Any], offer_id: FromPath[int], clock: CurrentClock) -> Template | Redirect:
        """Record the outcome and close (the API's service); before arrival this releases the reserved place."""
        now = clock.now()
        form = await request.form()
        try:
            view = await inbox.open_offer(offer_id, request.scope["user"], now)
            body = msgspec.convert({"outcome": str(form.get("outcome") or "")}, OutcomeBody)
        except NotFound:
            return _missing()
        except msgspec.ValidationError:
            return await offer_page(request, offer_id, now, 422, errors={"outcome": forms.CHOOSE_ONE})
        try:
            await placement.close_referral(view.referral.id, body, request.scope["user"], clock)
        except DomainError as exc:
            return await offer_page(request, offer_id, now, exc.status_code if exc.status_code != 404 else 409, errors={"page": NO_CLOSING})
        return Redirect(f"/ngo/offers/{offer_id}?done=closed", status_code=303)
