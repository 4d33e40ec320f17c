"""Providers nobody can reach are shown last, marked with why; the ranking holds within each group."""

from __future__ import annotations

from referralnet.matching.reach import NO_CONTACT, demote_unreachable
from referralnet.matching.schemas import Excluded, MatchCandidate, MatchResult, Reason

FIT = Reason(code="covers_need", kind="fit", text="covers the required need")


def candidate(service_id: int, organisation_id: int) -> MatchCandidate:
    return MatchCandidate(
        service_id=service_id, organisation_id=organisation_id, organisation_name=f"org {organisation_id}", service_type="residential_shelter",
        service_name=f"service {service_id}", priority="required", score=10.0 - service_id, distance_km=None, site_county=None,
        available=None, total=None, capacity_unit=None, capacity_updated_at=None, capacity_stale=False, reasons=[FIT],
    )  # fmt: skip


def result(*candidates: MatchCandidate) -> MatchResult:
    return MatchResult(candidates=list(candidates), bundles=[], excluded=Excluded(by_constraint={}, by_need={}, messages=[]), total_considered=len(candidates))


def test_unreachable_candidates_move_after_reachable_ones_with_the_caveat() -> None:
    out = demote_unreachable(result(candidate(1, 10), candidate(2, 20), candidate(3, 10), candidate(4, 30)), {10})
    assert [c.service_id for c in out.candidates] == [2, 4, 1, 3]
    assert [c.reasons for c in out.candidates] == [[FIT], [FIT], [FIT, NO_CONTACT], [FIT, NO_CONTACT]]


def test_nothing_changes_when_everyone_can_be_reached() -> None:
    before = result(candidate(1, 10), candidate(2, 20))
    assert demote_unreachable(before, set()) is before and demote_unreachable(before, {99}) is before
