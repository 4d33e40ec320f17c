"""An accepted offer's FHIR Task follows the arrival at its own need, not the referral's first arrival elsewhere."""

from __future__ import annotations

import datetime as dt

from referralnet.interop.fhir import offer_task_status
from referralnet.referrals.schemas import OfferOut

AT = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


def offer(offer_id: int, status: str = "accepted") -> OfferOut:
    return OfferOut(id=offer_id, referral_id=1, service_id=offer_id, service_name="s", organisation_id=offer_id, organisation_name="o",
                    position=0, status=status, sent_at=AT, deadline=AT, reminded_at=None, responded_at=AT, decline_reason=None,
                    decline_text=None, contested=False, reserved=False)  # fmt: skip


def test_an_accepted_offer_is_in_progress_only_once_the_person_arrived_at_its_need() -> None:
    assert offer_task_status(offer(1), "arrived", {1}) == "in-progress"
    assert offer_task_status(offer(2), "arrived", {1}) == "accepted"  # the person arrived at the other need's provider
    assert offer_task_status(offer(2), "partially_placed", set()) == "accepted"
    assert offer_task_status(offer(1), "closed", {1}) == "completed"
    assert offer_task_status(offer(2), "closed", {1}) == "cancelled"  # the referral ended before the person came
    assert offer_task_status(offer(3, "pending"), "arrived", {1}) == "requested"
