"""Networks and the secretariat's scope. TEMP stand-in until branch net16 lands the real module."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from referralnet.accounts.schemas import Actor
from referralnet.vocabulary.codes import NETWORKS


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """What a secretariat view covers: the networks in view and their member organisations."""

    networks: tuple[str, ...] = ()  # network codes in view; () = every network, no filter
    organisations: frozenset[int] | None = None  # ids of the member organisations in view; None = no limit

    def allows(self, organisation_id: int | None) -> bool:
        return self.organisations is None or organisation_id in self.organisations


async def scope_for(actor: Actor, network: str | None = None) -> Scope:
    """The actor's view (stand-in: everything, until net16 binds secretariats to networks)."""
    return Scope()


async def codes() -> dict[str, dict[str, Any]]:
    """Every network by code (names); stand-in: the vocabulary's list, until net16's network records."""
    return {code: {"code": code, "name_en": en, "name_ro": ro, "active": True} for code, (en, ro) in sorted(NETWORKS.items())}


def visible_codes(actor: Actor, every: Iterable[str]) -> list[str]:
    """The network codes a network choice offers the actor (stand-in: every one)."""
    return list(every)
