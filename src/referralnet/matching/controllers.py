"""``POST /api/v1/matches``: rank providers for an anonymised need profile."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, post
from litestar.status_codes import HTTP_200_OK
from litestar.types import Receive, Scope, Send
from msgspec import Meta

from referralnet.accounts.guards import referrer
from referralnet.base import Input
from referralnet.matching.profile import Profile
from referralnet.matching.schemas import MatchResult
from referralnet.matching.services import match_profile
from referralnet.params import CurrentClock, JSONBody


class MatchRequest(Input):
    profile: Profile
    limit: Annotated[int, Meta(ge=1, le=100)] = 20


_encode = msgspec.json.Encoder().encode


class EncodedJSON(Response[MatchResult]):
    """A 200 answer whose JSON is encoded here, sent with the headers Litestar would send (content type, length).

    Litestar's path for a returned Struct builds a header mapping twice (``Response``, then ``ASGIResponse``)
    around the same encoding; the answer is 20-40 kB and its headers are always these two. Where the route
    gives the answer anything more (headers, cookies, a background task), Litestar's own path is taken.
    """

    def __init__(self, result: MatchResult) -> None:
        super().__init__(result, status_code=HTTP_200_OK)

    def to_asgi_response(self, app: Any, request: Any, **kwargs: Any) -> Any:
        if kwargs.get("headers") or kwargs.get("cookies") or kwargs.get("background") or self.headers or self.cookies or self.background:
            return super().to_asgi_response(app, request, **kwargs)
        return _Answer(_encode(self.content))


class _Answer:
    """The ASGI messages of :class:`EncodedJSON`: what ``ASGIResponse`` sends for the same body and headers."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(self.body)).encode())]
        await send({"type": "http.response.start", "status": HTTP_200_OK, "headers": headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})


class MatchController(Controller):
    path = "/api/v1/matches"
    tags = ["matching"]
    guards = [referrer]

    @post("/", operation_id="matchProfile", status_code=HTTP_200_OK)
    async def match(self, request: Request[Any, Any, Any], data: JSONBody[MatchRequest], clock: CurrentClock) -> MatchResult:
        """Candidates ranked with reasons, provider bundles covering all required needs, and what was excluded."""
        state = request.app.state
        result = await match_profile(
            data.profile, state.matching_cache, clock, stale_days=state.settings.capacity_stale_days, limit=data.limit
        )
        return EncodedJSON(result)  # type: ignore[return-value]  # the schema documents the MatchResult it holds
