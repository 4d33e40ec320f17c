"""Network scope of the secretariat's views (TEMP stand-in until branch net16 lands: every network, no filter)."""

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
    """The actor's view. network=None: the actor's bound networks' members (everything if unbound, or admin).
    network=CODE: that network's members, if the actor may see it (errors.Forbidden if the actor is bound to
    other networks only; errors.InvalidInput(field="network") naming the nearest code if unknown)."""
    return Scope()
