"""The NGO's pages: its services' places (−1, +1, a number, "still correct") and its open offers to answer.

Handlers call the same services as the API (``PUT /services/{id}/capacity``, ``POST /offers/{id}/accept``
and ``/decline``); a refused change is shown beside its service or offer in the page's language.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Response, Template

from referralnet.directory import capacity
from referralnet.directory.listing import list_services
from referralnet.directory.schemas import CapacityUpdate
from referralnet.directory.services import get_service
from referralnet.errors import Conflict, DomainError, InvalidInput, PrivacyViolation
from referralnet.params import CurrentClock, FromPath
from referralnet.referrals import accepting, offers
from referralnet.referrals import inbox as offer_inbox
from referralnet.referrals.schemas import DeclineBody
from referralnet.texts import N_
from referralnet.vocabulary.codes import DECLINE_REASONS
from referralnet.web.institution import LIVE_HEADERS, NotYours, _page
from referralnet.web.session import signed_in

NOT_A_NUMBER = N_("give the number of free places as a whole number (0 when full)")
NONE_LEFT = N_("there is no free place left to take away (0 free places)")
TOO_MANY = N_("free places cannot be more than the total places")
NO_FIGURE = N_("no figure is recorded yet; give the number of free places")
NOT_YOURS = N_("this belongs to another organisation")
CHANGED = N_("the free places changed meanwhile (an offer was accepted or a colleague changed them); look at the new figure and try again")
ANSWERED = N_("this offer was already answered or withdrawn; reload the page")
TOO_LATE = N_("the deadline of this offer has passed; it has expired")
NO_REASON = N_("choose a reason for declining")
IDENTIFIER = N_("the text looks like it names or identifies a person; remove it")
TEXT_TOO_LONG = N_("the text is too long: 500 characters at most")
# How often the inbox asks for new offers (htmx; the page works without it: reload).
INBOX_POLL_SECONDS = 10


async def ngo_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Signed in as a person of an NGO; otherwise to /sign-in, or refused."""
    await signed_in(connection, _)
    actor = connection.scope["user"]
    if actor.role != "ngo" or actor.organisation_id is None:
        raise NotYours(N_("these pages are for people of an NGO"))


def _form(form: Any) -> dict[str, str]:
    return {key: str(value).strip() for key, value in form.items()}


def seen_figure(form: dict[str, str], available: int | None) -> int | None:
    """The free places the person saw on the page (sent with the buttons), else the current figure."""
    seen = form.get("seen", "")
    return int(seen) if seen.isdigit() else available


def capacity_update(form: dict[str, str], available: int | None) -> CapacityUpdate:
    """The button pressed as the API's body: −1, +1, "still correct" (the same figure again) or a number.

    ``available`` is the figure the relative buttons start from (what the person saw).
    """
    action = form.get("action", "set")
    if action in ("minus", "plus", "confirm") and available is None:
        raise InvalidInput(NO_FIGURE, field="available")
    if action == "minus":
        if available == 0:
            raise InvalidInput(NONE_LEFT, field="available")
        wanted: Any = available - 1  # type: ignore[operator]
    elif action == "plus":
        wanted = available + 1  # type: ignore[operator]
    elif action == "confirm":
        wanted = available
    else:
        raw = form.get("available", "")
        wanted = int(raw) if raw.isdigit() else -1
    try:
        return msgspec.convert({"available": wanted}, CapacityUpdate)
    except msgspec.ValidationError:
        raise InvalidInput(NOT_A_NUMBER, field="available") from None


def _capacity_error(exc: DomainError) -> str:
    """A refusal as a catalogue text (the services' own messages are English)."""
    if isinstance(exc, InvalidInput) and "exceed" in exc.detail:
        return TOO_MANY
    if isinstance(exc, Conflict):
        return CHANGED
    if exc.status_code == 403:
        return NOT_YOURS
    return exc.detail


def _offer_error(exc: DomainError) -> str:
    if isinstance(exc, PrivacyViolation):
        return IDENTIFIER
    if isinstance(exc, Conflict) and exc.field == "deadline":
        return TOO_LATE
    if isinstance(exc, Conflict):
        return ANSWERED
    if exc.status_code == 403:
        return NOT_YOURS
    return exc.detail


async def _services(actor: Any) -> list[Any]:
    found = await list_services(actor, type=None, county=None, exploitation_form=None, has_capacity=None,
                                organisation_id=actor.organisation_id, limit=500, offset=0)  # fmt: skip
    return found.items


async def _home(request: Request[Any, Any, Any], now: dt.datetime, code: int = 200, **context: Any) -> Template:
    stale = dt.timedelta(days=request.app.state.settings.capacity_stale_days)
    return _page("ngo/home.html", code, services=await _services(request.scope["user"]), now=now, stale=stale,
                 **{"errors": {}, "typed": {}, **context})  # fmt: skip


def inbox_ids(pairs: list[Any]) -> str:
    """The open offers a page shows, as the polling request names them (``known``)."""
    return ",".join(str(o.id) for _, o in pairs)


async def _inbox(request: Request[Any, Any, Any], now: dt.datetime, code: int = 200, **context: Any) -> Template:
    open_offers = await offer_inbox.open_offers(request.scope["user"], now)
    errors: dict[int, str] = context.pop("errors", {})
    shown = {o.id for _, o in open_offers}
    elsewhere = [(offer_id, text) for offer_id, text in errors.items() if offer_id not in shown]  # no longer open: said above the list
    return _page("ngo/offers.html", code, headers=LIVE_HEADERS, offers=open_offers, known=inbox_ids(open_offers), now=now,
                 poll=INBOX_POLL_SECONDS, reasons=DECLINE_REASONS, errors=errors, elsewhere=elsewhere, **context)  # fmt: skip


class NgoPages(Controller):
    path = "/ngo"
    include_in_schema = False
    guards = [ngo_only]

    @get("/", operation_id="ngoHome", include_in_schema=False)
    async def home(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template:
        """The organisation's services with their free and total places and how fresh they are."""
        return await _home(request, clock.now())

    @post("/services/{service_id:int}/capacity", operation_id="ngoSetCapacityPage", include_in_schema=False, status_code=303)
    async def set_capacity(self, request: Request[Any, Any, Any], service_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """−1, +1, a number or "still correct": the API's capacity update; a refusal is shown beside the service."""
        actor = request.scope["user"]
        form = _form(await request.form())
        try:
            current = await get_service(service_id, actor)
            if current.organisation_id != actor.organisation_id:
                raise NotYours(NOT_YOURS)
            seen = seen_figure(form, current.capacity.available)
            relative = form.get("action") in ("minus", "plus", "confirm")
            await capacity.set_capacity(service_id, capacity_update(form, seen), actor, clock, expected=seen if relative else None)
        except NotYours:
            raise
        except DomainError as exc:
            if exc.status_code in (403, 404):
                return _page("institution/missing.html", exc.status_code, message=N_("there is no such service of your organisation"))
            typed = form.get("available", "")  # the refused figure comes back in its box (digits only: nothing else is echoed)
            return await _home(request, clock.now(), exc.status_code, errors={service_id: _capacity_error(exc)},
                               typed={service_id: typed[:9]} if typed.isdigit() else {})  # fmt: skip
        return Redirect(f"/ngo#service-{service_id}", status_code=303)

    @get("/offers", operation_id="ngoOffersPage", include_in_schema=False)
    async def inbox(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template:
        """Open offers to the organisation: the anonymised summary, the deadline, accept or decline."""
        return await _inbox(request, clock.now())

    @get("/offers/live", operation_id="ngoOffersLive", include_in_schema=False)
    async def inbox_live(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template | Response[bytes]:
        """The inbox's list alone, for htmx polling; 204 (nothing to swap) while the open offers are those the page shows."""
        now = clock.now()
        open_offers = await offer_inbox.open_offers(request.scope["user"], now)
        known = inbox_ids(open_offers)
        if request.query_params.get("known", "") == known:
            return Response(b"", status_code=204, headers=LIVE_HEADERS)
        before = {int(i) for i in request.query_params.get("known", "").split(",") if i.isdigit()}
        new = [o for _, o in open_offers if o.id not in before]
        return _page("ngo/_inbox.html", headers=LIVE_HEADERS, offers=open_offers, known=known, now=now, poll=INBOX_POLL_SECONDS,
                     reasons=DECLINE_REASONS, errors={}, new=new, live=True)  # fmt: skip

    @post("/offers/{offer_id:int}/accept", operation_id="ngoAcceptOfferPage", include_in_schema=False, status_code=303)
    async def accept(self, request: Request[Any, Any, Any], offer_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Accept the offer (a place is reserved), with optional arrival instructions."""
        form = _form(await request.form())
        now = clock.now()
        try:
            await accepting.accept_offer(offer_id, request.scope["user"], now, request.app.state.settings,
                                      arrival_instructions=form.get("arrival_instructions") or None)  # fmt: skip
        except DomainError as exc:
            return await self._refused(request, now, offer_id, exc, form)
        return Redirect(_after(form, offer_id, "accepted"), status_code=303)

    @post("/offers/{offer_id:int}/decline", operation_id="ngoDeclineOfferPage", include_in_schema=False, status_code=303)
    async def decline(self, request: Request[Any, Any, Any], offer_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Decline the offer with a coded reason and optional text (screened for identifiers)."""
        form = _form(await request.form())
        now = clock.now()
        try:
            if form.get("reason") not in DECLINE_REASONS:
                raise InvalidInput(NO_REASON, field="reason")
            if len(form.get("text", "")) > 500:
                raise InvalidInput(TEXT_TOO_LONG, field="text")
            body = DeclineBody(reason=form["reason"], text=form.get("text") or None)
            await offers.decline_offer(offer_id, body, request.scope["user"], now, request.app.state.settings)
        except DomainError as exc:
            return await self._refused(request, now, offer_id, exc, form)
        return Redirect(_after(form, offer_id, "declined"), status_code=303)

    async def _refused(self, request: Request[Any, Any, Any], now: dt.datetime, offer_id: int, exc: DomainError, form: dict[str, str]) -> Template:
        if exc.status_code in (403, 404):
            return _page("institution/missing.html", exc.status_code, message=N_("there is no such offer to your organisation"))
        if form.get("from") == "offer":  # answered on the offer's own page: the refusal is shown there
            from referralnet.web.ngo_offer import offer_page

            # A refusal about one field of the decline sits beside it; the chosen reason is kept (a refused note is not shown again).
            field = "decline-" + exc.field if exc.field in ("reason", "text") else "answer"
            return await offer_page(request, offer_id, now, exc.status_code, errors={field: _offer_error(exc)},
                                    kept={"reason": form.get("reason", "")})  # fmt: skip
        return await _inbox(request, now, exc.status_code, errors={offer_id: _offer_error(exc)})


def _after(form: dict[str, str], offer_id: int, done: str) -> str:
    """Back to the page the answer was given on: the offer's own page, or the inbox."""
    return f"/ngo/offers/{offer_id}?done={done}" if form.get("from") == "offer" else f"/ngo/offers?done={done}"
