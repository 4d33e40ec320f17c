"""Parameter markers shared by the controllers, built on Litestar's explicit ones."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.connection import Request
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, PathParameter, QueryParameter

from referralnet.accounts.schemas import Actor
from referralnet.clock import Clock

Id = Annotated[int, PathParameter(ge=1, le=2**63 - 1, description="Numeric id")]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size")]
Offset = Annotated[int, QueryParameter(ge=0, description="Items to skip")]
CurrentActor = NamedDependency[Actor]
CurrentClock = NamedDependency[Clock]


def query(description: str, **constraints: Any) -> QueryParameter:
    """A documented, optional query parameter."""
    return QueryParameter(description=description, required=False, **constraints)


async def provide_actor(request: Request[Any, Any, Any]) -> Actor:
    return request.user  # type: ignore[no-any-return]


async def provide_clock(request: Request[Any, Any, Any]) -> Clock:
    return request.app.state.clock  # type: ignore[no-any-return]


__all__ = ["CurrentActor", "CurrentClock", "FromPath", "FromQuery", "Id", "JSONBody", "Limit", "Offset", "query"]
