"""Authentication middleware and per-role guards.

Guards are ``async`` functions: Litestar runs a synchronous guard on a worker thread, a thread hop
on every request for a check of a few attribute reads. They read only the operation id of the route handler they are
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
from referralnet.audit import audit
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


async def _require(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler, *roles: str) -> None:
    actor = actor_of(connection)
    if actor.role not in roles:
        await _audit_refusal(connection, handler, actor)
        raise Forbidden(f"the {actor.role} role may not do this; allowed: {', '.join(roles)}")


async def _audit_refusal(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler, actor: Actor) -> None:
    """A call refused to the caller's role is audited like every other refused access: the kind of object
    (``offer`` of ``/api/v1/offers/7/accept``), its id and the operation."""
    parts = [p for p in connection.scope["path"].split("/") if p]
    kind = parts[2].removesuffix("s")[:20] if len(parts) > 2 and parts[:2] == ["api", "v1"] else "route"
    ids = [v for v in connection.path_params.values() if isinstance(v, int)]
    operation = getattr(handler, "operation_id", None)
    action = operation if isinstance(operation, str) else str(connection.scope.get("method", "")).lower()
    await audit(actor, connection.app.state.clock.now(), object_type=kind, object_id=ids[0] if ids else None, action=action[:40],
                outcome="denied")  # fmt: skip


async def any_role(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Any authenticated actor (the middleware has already refused anonymous calls)."""
    await _require(connection, handler, "institution", "ngo", "secretariat", "admin")


async def directory_editor(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """NGOs (for their own organisation, checked per object), the secretariat and admins."""
    await _require(connection, handler, "ngo", "secretariat", "admin")


async def referrer(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Those who search for providers: identifying institutions, the secretariat and admins."""
    await _require(connection, handler, "institution", "secretariat", "admin")


async def staff(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """The network secretariat and admins."""
    await _require(connection, handler, "secretariat", "admin")


async def admin(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Admins only (managing access)."""
    await _require(connection, handler, "admin")


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
