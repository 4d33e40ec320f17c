"""Reachability: a provider with no referral channel (no e-mail, webhook or phone) is shown last, with why.

Pure: the caller reads which organisations have no channel. Such a provider may still be chosen; its
offer then becomes a task for the secretariat, which can call it and answer on its behalf.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import TypeVar

import msgspec

from referralnet.matching.schemas import MatchResult, Reason

T = TypeVar("T")

NO_CONTACT = Reason(code="no_referral_contact", kind="caveat", text="no referral contact recorded; the network coordinators can help")


def demote_unreachable(result: MatchResult, unreachable: AbstractSet[int]) -> MatchResult:
    """Candidates of ``unreachable`` organisations marked and moved after the reachable ones (order kept within each)."""
    if not unreachable or not any(c.organisation_id in unreachable for c in result.candidates):
        return result
    marked = [
        msgspec.structs.replace(c, reasons=[*c.reasons, NO_CONTACT]) if c.organisation_id in unreachable else c
        for c in result.candidates
    ]
    return msgspec.structs.replace(result, candidates=reachable_first(marked, unreachable, lambda c: c.organisation_id))


def reachable_first(items: Iterable[T], unreachable: AbstractSet[int], organisation: Callable[[T], int]) -> list[T]:
    """``items`` with those of ``unreachable`` organisations after the others; the ranking holds within each group."""
    return sorted(items, key=lambda item: organisation(item) in unreachable)  # stable
