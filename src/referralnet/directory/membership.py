"""Which networks an organisation belongs to after a secretariat person's choice on the members pages.

A bound secretariat sees and changes only its own networks' memberships: the others are kept as they are,
and the organisation must stay in (or, when new, join) at least one of its networks, or it would vanish
from the person's view. An unbound secretariat or an admin sets the networks as chosen.
"""

from __future__ import annotations

from referralnet.accounts.schemas import Actor
from referralnet.errors import Forbidden, InvalidInput

OUTSIDE = "you may choose only the networks you review"
NONE_OF_YOURS = "choose at least one of the networks you review"


def bound_networks(actor: Actor) -> tuple[str, ...]:
    """The networks the actor is limited to; () when it sees everything (unbound, or an admin)."""
    return actor.networks if actor.role != "admin" else ()


def networks_after(actor: Actor, current: list[str], chosen: list[str]) -> list[str]:
    """The organisation's networks once ``chosen`` (among those the actor sees) replace the actor's part of ``current``."""
    bound = bound_networks(actor)
    if not bound:
        return sorted(set(chosen))
    if not set(chosen) <= set(bound):
        raise Forbidden(OUTSIDE, field="networks")
    if not chosen:
        raise InvalidInput(NONE_OF_YOURS, field="networks")
    return sorted((set(current) - set(bound)) | set(chosen))


def check_change(actor: Actor, current: list[str], wanted: list[str]) -> None:
    """Through the API (which sets the whole list): a bound secretariat changes only its own networks of an
    organisation and keeps it in at least one of them, as on the members pages."""
    bound = bound_networks(actor)
    if not bound:
        return
    if not (set(current) ^ set(wanted)) <= set(bound):
        raise Forbidden(OUTSIDE, field="networks")
    if not set(wanted) & set(bound):
        raise InvalidInput(NONE_OF_YOURS, field="networks")
