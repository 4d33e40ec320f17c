"""Sessions for the pages: the cookie, the middleware that resolves it to an Actor, and the sign-in guard.

Pages are authenticated by the session cookie only and the API by bearer tokens only, so a cookie can
never carry an API call (the API needs no CSRF token) and a token never reaches a page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from referralnet.accounts.schemas import Actor
from referralnet.accounts.sessions import TOTAL, actor_for_session
from referralnet.directory.networks import in_scope
from referralnet.errors import DomainError

COOKIE = "rn_session"
# Paths of pages (session-authenticated); the bearer-token middleware skips them. issue-16 adds /ngo, /secretariat.
PAGE_PATHS = [r"^/$", r"^/sign-in", r"^/sign-out", r"^/home$", r"^/password/", r"^/language/", r"^/institution", r"^/ngo", r"^/secretariat"]


class SignInRequired(DomainError):
    """No live session: the page handler answers with a redirect to /sign-in and back."""

    status_code = 401

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in to see this page")
        self.next_path = next_path


class SessionMiddleware(AbstractAuthenticationMiddleware):
    """Resolves the session cookie to an :class:`Actor`, or leaves the visitor anonymous (``None``)."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        token = connection.cookies.get(COOKIE)
        # htmx's polling (HX-Trigger "every") is not the person at work: it does not count against the idle limit.
        polling = connection.headers.get("hx-request") == "true" and connection.url.path.endswith("/live")
        actor = await actor_for_session(token, connection.app.state.clock.now(), touch=not polling) if token else None
        if actor is not None:
            actor = await in_scope(actor)
        return AuthenticationResult(user=actor, auth=token if actor else None)


def safe_next(value: str | None) -> str:
    """A local path to return to after sign-in; anything else (another host, ``//host``, ``\\``) is ``/``."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard of every page that needs a person: anonymous visitors go to /sign-in and back."""
    if not isinstance(connection.scope.get("user"), Actor):
        if connection.scope.get("method", "GET") in ("GET", "HEAD"):
            path = connection.url.path + (f"?{connection.url.query}" if connection.url.query else "")
        else:  # a form's action has no page of its own: back to the page it belongs to
            path = connection.url.path.rstrip("/").rsplit("/", 1)[0] or "/"
        raise SignInRequired(path)


def sign_in_url(next_path: str) -> str:
    return "/sign-in" if next_path == "/" else f"/sign-in?next={quote(next_path, safe='/')}"


def cookie_kwargs(secure: bool) -> dict[str, Any]:
    """The session cookie's flags: never readable by scripts, not sent on cross-site posts."""
    return {"httponly": True, "samesite": "lax", "secure": secure, "path": "/", "max_age": int(TOTAL.total_seconds())}
