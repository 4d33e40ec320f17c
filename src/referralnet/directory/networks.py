"""Networks and the secretariat's scope. TEMP stand-in until branch net16 lands the real module."""

from __future__ import annotations

import msgspec

from referralnet.accounts.schemas import Actor


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """What a secretariat view covers: the networks in view and their member organisations."""

    networks: tuple[str, ...] = ()  # network codes in view; () = every network, no filter
    organisations: frozenset[int] | None = None  # ids of the member organisations in view; None = no limit

    def allows(self, organisation_id: int | None) -> bool:
        return self.organisations is None or organisation_id in self.organisations


async def scope_for(actor: Actor, network: str | None = None) -> Scope:
    """The actor's view (stand-in: everything, until net16 binds secretariats to networks)."""
    return Scope()
