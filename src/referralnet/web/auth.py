"""Pages of people's accounts: sign-in, sign-out, the home page by role, password reset and set-password links."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from typing import Any

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template

from referralnet.accounts import sessions
from referralnet.accounts.schemas import Actor
from referralnet.directory.services import get_organisation
from referralnet.errors import DomainError
from referralnet.notifications import DeliveryError, email
from referralnet.params import CurrentClock, FromPath
from referralnet.settings import Settings
from referralnet.texts import N_
from referralnet.web import i18n
from referralnet.web.controllers import SECURITY_HEADERS
from referralnet.web.session import COOKIE, cookie_kwargs, safe_next, signed_in

log = logging.getLogger(__name__)
# Each role's own pages: where a person lands after signing in.
HOME = {"institution": "/institution/referrals", "ngo": "/ngo", "secretariat": "/secretariat", "admin": "/secretariat"}
# The pages each role has so far, linked from the account page.
HOME_LINKS: dict[str, list[tuple[str, str]]] = {
    "institution": [("/institution/referrals", N_("Your institution's referrals")), ("/institution/referrals/new", N_("New referral"))],
    "ngo": [("/ngo", N_("Your organisation's services")), ("/ngo/offers", N_("Open offers")), ("/ngo/organisation", N_("Your organisation")),
            ("/ngo/people", N_("People"))],
    "secretariat": [("/secretariat", N_("Coverage")), ("/secretariat/gaps", N_("Gaps")), ("/secretariat/review", N_("Review")),
                    ("/secretariat/members", N_("Members")), ("/secretariat/people", N_("People"))],
    "admin": [("/secretariat", N_("Coverage")), ("/secretariat/gaps", N_("Gaps")), ("/secretariat/review", N_("Review")),
                    ("/secretariat/members", N_("Members")), ("/secretariat/people", N_("People"))],
}


ROLE_NAMES = {"institution": N_("Institution"), "ngo": N_("NGO"), "secretariat": N_("Secretariat"), "admin": N_("Administrator")}


def page(name: str, status: int = 200, **context: Any) -> Template:
    """A page in the visitor's language (chosen in the template from the request) with the security headers."""
    return Template(template_name=name, context=context, status_code=status, headers=SECURITY_HEADERS)


def client_address(request: Request[Any, Any, Any]) -> str:
    return request.client.host if request.client else "unknown"


async def form_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in (await request.form()).items()}


async def send_link(settings: Settings, to: str, subject: str, text: str) -> bool:
    """E-mail a set-password link now; without an SMTP host nothing is sent and ``False`` returned."""
    if not settings.smtp_host:
        log.warning("no SMTP host configured: the e-mail %r was not sent", subject)
        return False
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.mail_from, to, subject
    message.set_content(text)
    await email.send_one(message, settings)
    return True


def link_text(settings: Settings, token: str, hours: int) -> str:
    url = f"{settings.base_url.rstrip('/')}/password/set/{token}"
    return f"Choose your referralnet password here (the link works once, for {hours} hour{'s' if hours != 1 else ''}):\n\n{url}\n"


class AccountPages(Controller):
    include_in_schema = False

    @get("/", operation_id="homeRedirect", include_in_schema=False)
    async def root(self, request: Request[Any, Any, Any]) -> Redirect:
        """Signed-out visitors to /sign-in, people to their role's home page."""
        actor = request.scope.get("user")
        return Redirect(HOME[actor.role] if isinstance(actor, Actor) else "/sign-in", status_code=303)

    @get("/sign-in", operation_id="signInPage", include_in_schema=False)
    async def sign_in_page(self, request: Request[Any, Any, Any]) -> Template:
        """The sign-in form."""
        return page("auth/sign_in.html", next=safe_next(request.query_params.get("next")), email="")

    @post("/sign-in", operation_id="signIn", include_in_schema=False, status_code=303)
    async def sign_in(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template | Redirect:
        """Check e-mail and password (rate-limited); set the session cookie and go back to the page asked for."""
        form = await form_of(request)
        target = safe_next(form.get("next"))
        try:
            session = await sessions.sign_in(form.get("email", ""), form.get("password", ""), client_address(request), clock.now())
        except sessions.TooManyAttempts as exc:
            response = page("auth/sign_in.html", 429, next=target, email=form.get("email", ""), error=exc.detail)
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except sessions.SignInFailed as exc:
            return page("auth/sign_in.html", 401, next=target, email=form.get("email", ""), error=exc.detail)
        redirect = Redirect(HOME[session.actor.role] if target == "/" else target, status_code=303, headers=SECURITY_HEADERS)
        redirect.set_cookie(COOKIE, session.token, **cookie_kwargs(request.app.state.settings.cookie_secure))
        return redirect

    @post("/sign-out", operation_id="signOut", include_in_schema=False, status_code=303)
    async def sign_out(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Redirect:
        """End the session and forget the cookie."""
        token = request.cookies.get(COOKIE)
        if token:
            await sessions.sign_out(token, clock.now())
        redirect = Redirect("/sign-in", status_code=303)
        redirect.delete_cookie(COOKIE, path="/")
        return redirect

    @get("/home", operation_id="accountHome", include_in_schema=False, guards=[signed_in])
    async def home(self, request: Request[Any, Any, Any]) -> Template:
        """Who is signed in, for which organisation, and the way out."""
        actor = request.user
        organisation = (await get_organisation(actor.organisation_id)).name if actor.organisation_id else None
        return page("auth/home.html", actor=actor, organisation=organisation, roles=ROLE_NAMES, links=HOME_LINKS.get(actor.role, []))

    @get("/language/{locale:str}", operation_id="chooseLanguage", include_in_schema=False)
    async def language(self, request: Request[Any, Any, Any], locale: FromPath[str]) -> Redirect:
        """Switch the pages' language and remember it (a cookie); back to the page it was chosen on."""
        redirect = Redirect(safe_next(request.query_params.get("next")), status_code=303, headers=SECURITY_HEADERS)
        if locale in i18n.LOCALES:
            redirect.set_cookie(i18n.COOKIE, locale, max_age=365 * 24 * 3600, path="/", httponly=True, samesite="lax",
                                secure=request.app.state.settings.cookie_secure)  # fmt: skip
        return redirect

    @get("/password/reset", operation_id="resetPage", include_in_schema=False)
    async def reset_page(self) -> Template:
        """Ask for a reset link by e-mail address."""
        return page("auth/reset.html", sent=False)

    @post("/password/reset", operation_id="requestReset", include_in_schema=False, status_code=200)
    async def request_reset(self, request: Request[Any, Any, Any], clock: CurrentClock) -> Template:
        """E-mail a reset link when the account exists; the answer is the same either way."""
        form = await form_of(request)
        address = form.get("email", "").strip()
        token = await sessions.request_reset(address, clock.now()) if address else None
        if token is not None:
            try:
                settings = request.app.state.settings
                await send_link(settings, address, "referralnet: choose a new password", link_text(settings, token, 1))
            except DeliveryError:
                log.exception("the reset e-mail could not be sent")
        return page("auth/reset.html", sent=True)

    @get("/password/set/{token:str}", operation_id="setPasswordPage", include_in_schema=False)
    async def set_page(self, token: FromPath[str]) -> Template:
        """The form to choose a password from an invite or reset link (checked when posted)."""
        return page("auth/set_password.html", token=token)

    @post("/password/set/{token:str}", operation_id="setPassword", include_in_schema=False, status_code=303)
    async def set_password(self, request: Request[Any, Any, Any], token: FromPath[str], clock: CurrentClock) -> Template | Redirect:
        """Set the password once; every session of the person ends; then sign in."""
        form = await form_of(request)
        if form.get("password", "") != form.get("confirm", ""):
            return page("auth/set_password.html", 422, token=token, error=N_("the two passwords differ"), field="confirm")
        try:
            await sessions.complete_link(token, form.get("password", ""), clock.now())
        except DomainError as exc:
            return page("auth/set_password.html", exc.status_code, token=token, error=exc.detail, field=exc.field or "password")
        return Redirect("/sign-in", status_code=303)
