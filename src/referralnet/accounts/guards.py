"""Authentication middleware and per-role guards.

Guards are ``async`` functions: Litestar runs a synchronous guard on a worker thread, a thread hop
on every request for a check of a few attribute reads. They never look at the route handler they are
given (see :func:`guard_without_copies`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from referralnet.accounts.schemas import Actor
from referralnet.accounts.services import actor_for_token
from referralnet.directory.networks import in_scope
from referralnet.errors import Forbidden, Unauthenticated


class BearerTokenMiddleware(AbstractAuthenticationMiddleware):
    """Resolves ``Authorization: Bearer <token>`` to an :class:`Actor`; 401 when absent or invalid."""

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("missing bearer token", field="Authorization")
        actor = await actor_for_token(token.strip(), connection.app.state.get("token_cache"))
        if actor is None:
            raise Unauthenticated("invalid or revoked token", field="Authorization")
        return AuthenticationResult(user=await in_scope(actor), auth=None)


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    actor = connection.scope.get("user")
    if not isinstance(actor, Actor):  # a path the middleware skipped: never guess a role
        raise Unauthenticated("missing bearer token", field="Authorization")
    return actor


def _require(connection: ASGIConnection[Any, Any, Any, Any], *roles: str) -> None:
    actor = actor_of(connection)
    if actor.role not in roles:
        raise Forbidden(f"the {actor.role} role may not do this; allowed: {', '.join(roles)}")


async def any_role(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Any authenticated actor (the middleware has already refused anonymous calls)."""
    _require(connection, "institution", "ngo", "secretariat", "admin")


async def directory_editor(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """NGOs (for their own organisation, checked per object), the secretariat and admins."""
    _require(connection, "ngo", "secretariat", "admin")


async def referrer(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Those who search for providers: identifying institutions, the secretariat and admins."""
    _require(connection, "institution", "secretariat", "admin")


async def staff(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """The network secretariat and admins."""
    _require(connection, "secretariat", "admin")


async def admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Admins only (managing access)."""
    _require(connection, "admin")


async def _authorize(guards: list[Any], handler: BaseRouteHandler, connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    for guard in guards:
        await guard(connection, handler)


def guard_without_copies(app: Litestar) -> None:
    """Run each route's guards with its handler itself: Litestar hands every guard a fresh copy of the
    handler (``copy(self)``, about 5 % of a simple GET's CPU) in case a guard changes it, and ours don't."""
    for route in app.routes:
        for handler, _ in getattr(route, "route_handler_map", {}).values():
            if (guards := handler.resolve_guards()) and hasattr(handler, "__dict__"):  # not a bare (slotted) HTTPRouteHandler
                handler.authorize_connection = partial(_authorize, list(guards), handler)
