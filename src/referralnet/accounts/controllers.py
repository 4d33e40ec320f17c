"""HTTP handlers for ending access: admins list and revoke tokens."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get
from litestar.status_codes import HTTP_200_OK

from referralnet.accounts import services
from referralnet.accounts.guards import admin
from referralnet.accounts.schemas import TokenList, TokenOut
from referralnet.params import CurrentClock, Id, query


class TokenController(Controller):
    path = "/api/v1/tokens"
    tags = ["accounts"]
    guards = [admin]

    @get("/", operation_id="listTokens")
    async def list_tokens(
        self, include_revoked: Annotated[bool, query("Include revoked tokens")] = True
    ) -> TokenList:
        """Every token with its holder, role, organisation and revocation (never the secret)."""
        return await services.list_tokens(include_revoked=include_revoked)

    @delete("/{token_id:int}", operation_id="revokeToken", status_code=HTTP_200_OK)
    async def revoke_token(self, token_id: Id, clock: CurrentClock) -> TokenOut:
        """Revoke a token: its next request is refused (401)."""
        return await services.revoke_token(token_id, clock)
