"""``POST /api/v1/matches``: rank providers for an anonymised need profile."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.status_codes import HTTP_200_OK
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


class MatchController(Controller):
    path = "/api/v1/matches"
    tags = ["matching"]
    guards = [referrer]

    @post("/", operation_id="matchProfile", status_code=HTTP_200_OK)
    async def match(self, request: Request[Any, Any, Any], data: JSONBody[MatchRequest], clock: CurrentClock) -> MatchResult:
        """Candidates ranked with reasons, provider bundles covering all required needs, and what was excluded."""
        state = request.app.state
        return await match_profile(
            data.profile, state.matching_cache, clock, stale_days=state.settings.capacity_stale_days, limit=data.limit
        )
