"""HTML pages of the one-click offer links: GET shows a confirmation page, POST from it answers once.

GET never changes anything, because mail scanners and link previews open links on their own.
Every page is served with headers that keep the token out of Referer headers, caches and frames.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Controller, Request, get, post
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from referralnet.errors import DomainError, InvalidInput
from referralnet.params import CurrentClock, FromPath
from referralnet.referrals.schemas import OfferOut
from referralnet.texts import N_
from referralnet.vocabulary.codes import DECLINE_REASONS
from referralnet.web import i18n, services
from referralnet.web.services import CLOSED, LinkView

TEMPLATE_DIR = Path(__file__).parent / "templates"
SECURITY_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
HEADINGS = {"accept": N_("Accept this referral?"), "decline": N_("Decline this referral?")}
CANNOT_USE = N_("This link cannot be used")
NOT_OPEN = N_("This offer is no longer open.")


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja templates from ``web/templates`` with autoescaping on for every file, in Romanian and English."""
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(default=True, default_for_string=True))
    i18n.install(env)
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def _page(status: int, heading: str, *, view: LinkView | None = None, offer: OfferOut | None = None, **context: Any) -> Template:
    """``heading`` and ``messages`` are catalogue texts (a domain error's own detail is shown as raised)."""
    offer = offer or (view.offer if view else None)
    deadline = offer.deadline.astimezone(dt.timezone.utc) if offer else None
    return Template(
        template_name="respond.html",
        context={
            "heading": heading, "offer": offer, "deadline": deadline,
            "urgency": view.urgency if view else None, "summary": view.summary if view else None,
            "action": view.action if view else None, "can_act": False, "messages": [], "unchanged": False,
            "tone": "", "decline_reasons": DECLINE_REASONS, **context,
        },
        status_code=status,
        headers=SECURITY_HEADERS,
    )  # fmt: skip


def _closed_page(view: LinkView) -> Template:
    answered = view.offer.status in ("accepted", "declined")
    messages = [CLOSED.get(view.offer.status, NOT_OPEN)]
    return _page(409, N_("Already answered") if answered else N_("No longer open"), view=view, messages=messages,
                 unchanged=True, tone="error")  # fmt: skip


class RespondController(Controller):
    path = "/respond"
    include_in_schema = False

    @get("/{token:str}", operation_id="showOfferLink", include_in_schema=False)
    async def show(self, request: Request[Any, Any, Any], token: FromPath[str], clock: CurrentClock) -> Template:
        """The confirmation page of a one-click link; it changes nothing."""
        try:
            view = await services.open_link(await services.link_key(request.app.state), token, clock.now())
        except DomainError as exc:
            return _page(exc.status_code, CANNOT_USE, messages=[exc.detail], tone="error")
        if not view.pending:
            return _closed_page(view)
        return _page(200, HEADINGS[view.action], view=view, can_act=True, action_url=token)

    @post("/{token:str}", operation_id="answerOfferLink", include_in_schema=False, status_code=200)
    async def confirm(self, request: Request[Any, Any, Any], token: FromPath[str], clock: CurrentClock) -> Template:
        """Answer the offer once, as the organisation the link was sent to."""
        now = clock.now()
        try:
            view = await services.open_link(await services.link_key(request.app.state), token, now)
        except DomainError as exc:
            return _page(exc.status_code, CANNOT_USE, messages=[exc.detail], tone="error")
        if not view.pending:
            return _closed_page(view)
        form = {key: str(value) for key, value in (await request.form()).items()}
        try:
            offer = await services.answer(view, form, now, request.app.state.settings)
        except InvalidInput as exc:  # the decline form again, naming the field; the text is never echoed
            return _page(exc.status_code, HEADINGS[view.action], view=view, can_act=True, action_url=token,
                         not_sent=exc.detail, tone="error", reason=form.get("reason"))  # fmt: skip
        except DomainError as exc:  # e.g. another provider accepted a moment ago, or no place is left
            return _page(exc.status_code, N_("Not answered"), view=view, messages=[exc.detail], unchanged=True, tone="error")
        if offer.status == "accepted":
            messages = [N_("Thank you: your organisation accepted this referral.")]
            if offer.reserved:
                messages.append(N_("One place is reserved for the person."))
            messages.append(N_("The referral is now placed with your service."))
            return _page(200, N_("Accepted"), view=view, offer=offer, messages=messages, tone="ok")
        return _page(200, N_("Declined"), view=view, offer=offer, messages=[N_("Thank you: the referral was declined and moves on.")], tone="ok")
