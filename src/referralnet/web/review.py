"""The secretariat's review page: declines and contested ones, stale capacity with a reminder, failed deliveries
with a retry, the open tasks for providers reachable only by phone (answered on their behalf), and needs left with
nobody to ask (a second round on the institution's behalf).

Every list is limited to the person's networks' members (``scope_for``); each has its CSV download. The
handlers call the same services as the API (declines, tasks, contest, accept, decline) or their own domain
services (``sweeps.remind_capacity``, ``notifications.services.retry_notification``, ``coverage.review``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.response import Redirect, Response, Template

from referralnet.coverage import export
from referralnet.coverage.review import failed_deliveries, stale_services
from referralnet.directory.networks import Scope, scope_for
from referralnet.errors import Conflict, DomainError, InvalidInput, NotFound, PrivacyViolation
from referralnet.notifications.services import retry_notification
from referralnet.params import CurrentClock, FromPath, FromQuery
from referralnet.referrals import accepting, delivery, offers, reviews, rounds, sweeps
from referralnet.referrals.schemas import AddOffers, DeclineBody
from referralnet.texts import N_
from referralnet.vocabulary.codes import DECLINE_REASONS
from referralnet.web.controllers import SECURITY_HEADERS
from referralnet.web.institution import LIVE_HEADERS, NEED_LABELS, NO_SUCH_NEED, _page, _round_error
from referralnet.web.secretariat import secretariat_only

TABLES = ("declines", "contested", "stale", "failed", "tasks", "unplaced")
LIMIT = 500
DONE = {
    "reminded": N_("The reminder is in the outbox; the organisation gets it within a minute."),
    "retried": N_("The message is back in the outbox and will be sent again within a minute."),
    "contested": N_("The decline is marked as contested."),
    "accepted": N_("The offer was accepted on the provider's behalf."),
    "declined": N_("The offer was declined on the provider's behalf."),
    "asked": N_("More providers were asked for the need; the referral's history names you."),
}
ALREADY_REMINDED = N_("a reminder was sent less than an hour ago; it is not sent twice")
CONFIRMED = N_("the organisation confirmed its capacity meanwhile; no reminder is needed")
ALREADY_RETRIED = N_("this message is no longer failed: it was retried already")
NO_CHANNEL = N_("the organisation has no e-mail or webhook; add one in Members first")
NOT_OPEN = N_("this offer is no longer open; reload the page")
# Delivery errors the system itself records (``notifications.outbox.NO_CHANNEL``), shown translated; others as recorded.
KNOWN_ERRORS = frozenset({N_("the organisation has no referral e-mail or webhook")})
TOO_LATE = N_("the deadline of this offer has passed; it has expired")
NO_REASON = N_("choose a reason for declining")
TEXT_TOO_LONG = N_("the text is too long: 500 characters at most")
IDENTIFIER = N_("the text looks like it names or identifies a person; remove it")
NOT_IN_VIEW = N_("there is no such item in your networks")


async def scope_of(request: Request[Any, Any, Any]) -> Scope:
    """The person's view: their networks' members (everything when unbound, or an admin)."""
    return await scope_for(request.scope["user"])


def csv_download(header: Sequence[str], rows: list[list[Any]], filename: str, excel: bool) -> Response[str]:
    """A UTF-8 CSV attachment; ``excel`` starts it with a byte order mark, as the API's exports do."""
    text = ("\ufeff" if excel else "") + export.to_csv((header, [[_plain(v) for v in row] for row in rows]))
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(text, media_type="text/csv", headers=headers)


def _plain(value: Any) -> Any:
    return value.astimezone(dt.timezone.utc).isoformat() if isinstance(value, dt.datetime) else value


def not_in_view() -> Template:
    return _page("institution/missing.html", 404, message=NOT_IN_VIEW)


async def review_lists(request: Request[Any, Any, Any], now: dt.datetime) -> dict[str, Any]:
    """The five lists of the review, each within the person's scope."""
    orgs = (await scope_of(request)).organisations
    stale_days = request.app.state.settings.capacity_stale_days
    common: dict[str, Any] = {"since": None, "organisation_id": None, "limit": LIMIT, "offset": 0, "organisations": orgs}
    return {
        "declines": await reviews.review_declines(contested=None, **common),
        "contested": await reviews.review_declines(contested=True, **common),
        "stale": await stale_services(now, stale_days, orgs),
        "failed": await failed_deliveries(orgs, limit=LIMIT),
        "tasks": await delivery.open_tasks(LIMIT, 0, orgs),
        "unplaced": await reviews.unplaced_needs(orgs, LIMIT),
        "stale_days": stale_days,
    }


def table_rows(table: str, lists: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """One review table as CSV header and rows (codes, not labels, so a spreadsheet can count them)."""
    if table in ("declines", "contested"):
        return (["offer_id", "referral_id", "organisation_id", "organisation", "service_id", "reason", "text", "declined_at", "contested"],
                [[d.offer_id, d.referral_id, d.organisation_id, d.organisation_name, d.service_id, d.reason, d.text, d.at, d.contested]
                 for d in lists[table].items])  # fmt: skip
    if table == "stale":
        return (["service_id", "service", "service_type", "organisation_id", "organisation", "available", "total", "confirmed_at", "reminded_at"],
                [[s.service_id, s.service_name, s.service_type, s.organisation_id, s.organisation_name, s.available, s.total,
                  s.updated_at, s.reminded_at] for s in lists["stale"]])  # fmt: skip
    if table == "failed":
        return (["notification_id", "kind", "channel", "recipient", "organisation_id", "organisation", "referral_id", "offer_id",
                 "attempts", "error", "created_at"],
                [[f.id, f.kind, f.channel, f.recipient, f.organisation_id, f.organisation_name, f.referral_id, f.offer_id,
                  f.attempts, f.last_error, f.created_at] for f in lists["failed"]])  # fmt: skip
    if table == "unplaced":
        # Codes only: no per-person summary in a file that leaves the service.
        return (["referral_id", "referral_status", "urgency", "county", "need", "priority", "changed_at"],
                [[u["referral_id"], u["status"], u["urgency"], u["county"], u["service_type"], u["priority"], u["updated_at"]]
                 for u in lists["unplaced"]])  # fmt: skip
    return (["offer_id", "referral_id", "urgency", "deadline", "delivery", "organisation_id", "organisation", "service",
             "referral_phone", "phone_24h"],
            [[t.offer_id, t.referral_id, t.urgency, t.deadline, t.delivery, t.organisation_id, t.organisation_name, t.service_name,
              t.referral_phone, t.phone_24h] for t in lists["tasks"].items])  # fmt: skip


def _error_text(exc: DomainError) -> str:
    """A refusal as a catalogue text (the services' own messages are English)."""
    if isinstance(exc, PrivacyViolation):
        return IDENTIFIER
    if isinstance(exc, Conflict):
        return {"reminded_at": ALREADY_REMINDED, "capacity": CONFIRMED, "channel": NO_CHANNEL, "deadline": TOO_LATE}.get(
            exc.field or "", ALREADY_RETRIED if exc.field == "status" and "retried" in exc.detail else NOT_OPEN
        )
    return exc.detail


class ReviewPages(Controller):
    path = "/secretariat/review"
    include_in_schema = False
    guards = [secretariat_only]

    async def _review(self, request: Request[Any, Any, Any], now: dt.datetime, code: int = 200, **context: Any) -> Template:
        done = request.query_params.get("done")
        return _page("secretariat/review.html", code, headers=LIVE_HEADERS, reasons=DECLINE_REASONS, now=now, tables=TABLES,
                     need_labels=NEED_LABELS, limit=LIMIT,
                     known_errors=KNOWN_ERRORS, done=DONE.get(done or ""), **await review_lists(request, now),
                     **{"errors": {}, **context})  # fmt: skip

    async def _refused(self, request: Request[Any, Any, Any], now: dt.datetime, key: str, exc: DomainError) -> Template:
        if isinstance(exc, NotFound) or exc.status_code == 403:
            return not_in_view()
        return await self._review(request, now, exc.status_code, errors={key: _error_text(exc)})

    async def _offer_in_view(self, request: Request[Any, Any, Any], offer_id: int) -> None:
        offer = await offers.get_offer(offer_id)
        if not (await scope_of(request)).allows(offer.organisation_id):
            raise NotFound(f"offer {offer_id} not found", field="offer_id")

    @get("/", operation_id="secretariatReviewPage", include_in_schema=False)
    async def review(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template:
        """Declines, contested declines, stale capacity, failed deliveries and open tasks of the networks in view."""
        return await self._review(request, clock.now())

    @get("/{download:str}", operation_id="secretariatReviewCsv", include_in_schema=False)
    async def table_csv(self, request: Request[Any, Any, Any], download: FromPath[str], clock: CurrentClock,
                        excel: FromQuery[bool] = False) -> Response[str] | Template:  # fmt: skip
        """One review table, ``<table>.csv``, as UTF-8 CSV (``?excel=true``: with a byte order mark)."""
        table = download.removesuffix(".csv")
        if table not in TABLES or not download.endswith(".csv"):
            return _page("institution/missing.html", 404, message=N_("there is no such table"))
        header, rows = table_rows(table, await review_lists(request, clock.now()))
        return csv_download(header, rows, f"review-{table}.csv", excel)

    @post("/services/{service_id:int}/remind", operation_id="secretariatRemindCapacity", include_in_schema=False, status_code=303)
    async def remind(self, request: Request[Any, Any, Any], service_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """E-mail the organisation the capacity reminder with its one-click link, once (a double click sends one)."""
        now = clock.now()
        try:
            await sweeps.remind_capacity(service_id, request.scope["user"], now, request.app.state.settings,
                                         organisations=(await scope_of(request)).organisations)  # fmt: skip
        except DomainError as exc:
            return await self._refused(request, now, f"stale-{service_id}", exc)
        return Redirect(f"/secretariat/review?done=reminded#stale-{service_id}", status_code=303)

    @post("/notifications/{notification_id:int}/retry", operation_id="secretariatRetryNotification", include_in_schema=False,
          status_code=303)  # fmt: skip
    async def retry(self, request: Request[Any, Any, Any], notification_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Put a failed message back in the outbox (to the organisation's current address)."""
        now = clock.now()
        try:
            await retry_notification(notification_id, request.scope["user"], now, organisations=(await scope_of(request)).organisations)
        except DomainError as exc:
            return await self._refused(request, now, f"failed-{notification_id}", exc)
        return Redirect("/secretariat/review?done=retried#failed", status_code=303)

    @post("/referrals/{referral_id:int}/round", operation_id="secretariatAskMoreProviders", include_in_schema=False, status_code=303)
    async def ask_more(self, request: Request[Any, Any, Any], referral_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Ask more providers for a need left with nobody, on the institution's behalf (the API's second round)."""
        now = clock.now()
        need = str((await request.form()).get("need") or "")
        try:
            body = msgspec.convert({"need": need}, AddOffers)
            state = request.app.state
            await rounds.add_offers(referral_id, body, request.scope["user"], clock, state.settings, state.matching_cache)
        except msgspec.ValidationError:
            return await self._review(request, now, 422, errors={f"unplaced-{referral_id}-{need}": NO_SUCH_NEED})
        except DomainError as exc:
            if isinstance(exc, NotFound) or exc.status_code == 403:
                return not_in_view()
            return await self._review(request, now, exc.status_code, errors={f"unplaced-{referral_id}-{need}": _round_error(exc)})
        return Redirect(f"/secretariat/review?done=asked#unplaced-{referral_id}-{need}", status_code=303)

    @post("/declines/{offer_id:int}/contest", operation_id="secretariatContestDecline", include_in_schema=False, status_code=303)
    async def contest(self, request: Request[Any, Any, Any], offer_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Mark a decline as contested, to follow it up with the provider (the API's contest)."""
        return await self._on_offer(request, offer_id, clock.now(), "decline", "contested#contested",
                                    lambda now: offers.contest_decline(offer_id, request.scope["user"], now, None))  # fmt: skip

    @post("/tasks/{offer_id:int}/accept", operation_id="secretariatAcceptOnBehalf", include_in_schema=False, status_code=303)
    async def accept(self, request: Request[Any, Any, Any], offer_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Record the provider's acceptance given on the phone (the API's accept, on its behalf)."""
        return await self._on_offer(request, offer_id, clock.now(), "task", "accepted#tasks",
                                    lambda now: accepting.accept_offer(offer_id, request.scope["user"], now, request.app.state.settings))  # fmt: skip

    @post("/tasks/{offer_id:int}/decline", operation_id="secretariatDeclineOnBehalf", include_in_schema=False, status_code=303)
    async def decline(self, request: Request[Any, Any, Any], offer_id: FromPath[int], clock: CurrentClock) -> Redirect | Template:
        """Record the provider's decline given on the phone, with its coded reason (the API's decline, on its behalf)."""
        form = {key: str(value).strip() for key, value in (await request.form()).items()}

        async def decline_it(now: dt.datetime) -> Any:
            if form.get("reason") not in DECLINE_REASONS:
                raise InvalidInput(NO_REASON, field="reason")
            if len(form.get("text", "")) > 500:
                raise InvalidInput(TEXT_TOO_LONG, field="text")
            body = DeclineBody(reason=form["reason"], text=form.get("text") or None)
            return await offers.decline_offer(offer_id, body, request.scope["user"], now, request.app.state.settings)

        return await self._on_offer(request, offer_id, clock.now(), "task", "declined#tasks", decline_it)

    async def _on_offer(self, request: Request[Any, Any, Any], offer_id: int, now: dt.datetime, row: str, done: str,
                        act: Callable[[dt.datetime], Awaitable[Any]]) -> Redirect | Template:  # fmt: skip
        """An answer about an offer in the person's view (``act``, the API's service): back to the review saying
        ``done``, or the review with the refusal beside the offer's row (``row-<id>``); out of view, not found."""
        try:
            await self._offer_in_view(request, offer_id)
            await act(now)
        except DomainError as exc:
            return await self._refused(request, now, f"{row}-{offer_id}", exc)
        return Redirect(f"/secretariat/review?done={done}", status_code=303)
