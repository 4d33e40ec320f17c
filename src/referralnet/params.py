"""Parameter markers shared by the controllers, built on Litestar's explicit ones."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.connection import Request
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter

from referralnet.accounts.schemas import Actor
from referralnet.clock import Clock

# Ids are 32-bit serials on PostgreSQL; a larger one is a bad parameter, not a database error.
MAX_ID = 2**31 - 1
Id = Annotated[int, PathParameter(ge=1, le=MAX_ID, description="Numeric id")]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=10**9, description="Items to skip")]
CurrentActor = NamedDependency[Actor]
CurrentClock = NamedDependency[Clock]


def query(description: str, **constraints: Any) -> QueryParameter:
    """A documented, optional query parameter."""
    return QueryParameter(description=description, required=False, **constraints)


def provide_actor(request: Request[Any, Any, Any], clock: NamedDependency[Any]) -> Actor:
    """The authenticated actor. It takes ``clock`` only so that Litestar resolves the two one after the
    other: two dependencies of the same level are resolved in an anyio task group, two tasks per request."""
    return request.user  # type: ignore[no-any-return]


def dependencies(clock: Clock) -> dict[str, Provide]:
    """``actor`` and ``clock`` for every handler: plain calls on the loop (no coroutine, no thread);
    the clock is the app's own and takes no parameters, so Litestar has nothing to parse for it."""

    def provide_clock() -> Clock:
        return clock

    return {"actor": Provide(provide_actor, sync_to_thread=False), "clock": Provide(provide_clock, sync_to_thread=False)}


__all__ = ["MAX_ID", "CurrentActor", "CurrentClock", "FromPath", "FromQuery", "Id", "JSONBody", "Limit", "Offset", "query"]
