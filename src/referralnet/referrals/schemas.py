"""Request and response Structs of referrals (the events are in :mod:`referralnet.referrals.events`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
from msgspec import Meta

from referralnet.base import Input, Output
from referralnet.directory.schemas import Email, Phone
from referralnet.matching.profile import Profile
from referralnet.referrals.events import Event
from referralnet.referrals.lifecycle import Mode, Outcome
from referralnet.vocabulary.codes import DeclineReason, ServiceType, Urgency

ShortText = Annotated[str, Meta(max_length=500)]


class ReferralCreate(Input):
    profile: Profile
    # The person agreed to be referred; recorded with the time. Required to be true.
    consent: bool
    urgency: Urgency | None = None  # default: the profile's urgency
    mode: Mode | None = None  # default by urgency: parallel for emergency/urgent, cascade for planned
    # Services chosen from a match, in order; null: the top candidates are asked automatically.
    service_ids: Annotated[list[Annotated[int, Meta(ge=1, le=2**31 - 1)]], Meta(min_length=1, max_length=10)] | None = None
    # The referring officer's work e-mail, name (as given) and work phone; shown to a provider once it accepts.
    notify_email: Email | None = None
    officer_name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    officer_phone: Phone | None = None


class AddOffers(Input):
    """A second round for one need: the services to ask, or null for the top candidates of a fresh match."""

    need: ServiceType
    service_ids: Annotated[list[Annotated[int, Meta(ge=1, le=2**31 - 1)]], Meta(min_length=1, max_length=10)] | None = None


class AcceptBody(Input):
    """What the accepting provider tells the institution about bringing the person (a meeting point for a
    confidential site; an address only if the provider chooses to give it for this referral)."""

    arrival_instructions: Annotated[str, Meta(min_length=1, max_length=1000)] | None = None


class DeclineBody(Input):
    reason: DeclineReason
    text: ShortText | None = None


class CancelBody(Input):
    reason: ShortText | None = None


class ArrivalBody(Input):
    note: ShortText | None = None
    # The need the person arrived for; without it, every placed need not arrived yet (a provider: its own).
    need: ServiceType | None = None


class OutcomeBody(Input):
    outcome: Outcome
    text: ShortText | None = None


class ContestBody(Input):
    note: ShortText | None = None


class OfferOut(Output):
    id: int
    referral_id: int
    service_id: int
    service_name: str
    organisation_id: int
    organisation_name: str
    position: int
    status: str
    sent_at: dt.datetime
    deadline: dt.datetime
    reminded_at: dt.datetime | None
    responded_at: dt.datetime | None
    decline_reason: str | None
    decline_text: str | None
    contested: bool
    reserved: bool
    seen_at: dt.datetime | None = None
    need_id: int | None = None
    # How the offer reached the provider: sent, delivered, failed, or phone (the secretariat calls it).
    delivery: str | None = None


class OfficerContact(Output):
    """The referring officer's work contact as entered with the referral (never the person's)."""

    name: str | None
    phone: str | None
    email: str | None


class ProviderContact(Output):
    """An accepting provider's referral contact and its arrival instructions for this referral."""

    offer_id: int
    need: str
    organisation_id: int
    organisation_name: str
    referral_phone: str | None
    phone_24h: str | None
    referral_email: str | None
    arrival_instructions: str | None


class NeedOut(Output):
    """One need of the person, placed on its own: its state, its offers and the services still queued."""

    id: int
    service_type: str
    priority: str
    status: str
    placed_offer_id: int | None
    placed_at: dt.datetime | None
    queued_service_ids: list[int]
    offers: list[OfferOut]
    # When the person arrived at the provider that placed this need.
    arrived_at: dt.datetime | None = None




class ReferralOut(Output):
    id: int
    status: str
    urgency: str
    mode: str
    county: str
    summary: str
    profile: Profile
    consent_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime
    placed_at: dt.datetime | None
    arrived_at: dt.datetime | None
    closed_at: dt.datetime | None
    outcome: str | None
    outcome_text: str | None
    placed_offer_id: int | None
    queued_service_ids: list[int]
    offers: list[OfferOut]
    history: list[Event]
    # Each need with its offers and state (the offers above, grouped).
    needs: list[NeedOut] = msgspec.field(default_factory=list)
    # Once an offer is accepted: the officer's contact (to the accepting provider and the secretariat) and the
    # accepting providers' contacts (to the referring institution and the secretariat); never to anyone else.
    officer_contact: OfficerContact | None = None
    provider_contacts: list[ProviderContact] = msgspec.field(default_factory=list)


class NeedState(Output):
    """A need's state in a list of referrals (a need left with nobody shows even once the person arrived elsewhere)."""

    service_type: str
    priority: str
    status: str
    arrived_at: dt.datetime | None = None


class ReferralSummary(Output):
    id: int
    status: str
    urgency: str
    mode: str
    county: str
    summary: str
    created_at: dt.datetime
    updated_at: dt.datetime
    offers: list[OfferOut] = msgspec.field(default_factory=list)
    needs: list[NeedState] = msgspec.field(default_factory=list)


class ReferralList(Output):
    items: list[ReferralSummary]
    total: int


class TaskOut(Output):
    """A secretariat task: call a provider an offer could not reach, then record its answer on its behalf."""

    action: str
    offer_id: int
    referral_id: int
    need_id: int | None
    urgency: str
    deadline: dt.datetime
    delivery: str
    service_name: str
    organisation_id: int
    organisation_name: str
    referral_phone: str | None
    phone_24h: str | None


class TaskList(Output):
    items: list[TaskOut]
    total: int


class DeclineItem(Output):
    offer_id: int
    referral_id: int
    organisation_id: int
    organisation_name: str
    service_id: int
    reason: str | None
    text: str | None
    at: dt.datetime | None
    contested: bool


class DeclinePattern(Output):
    """A provider that declined several times for the same reason in the period."""

    organisation_id: int
    organisation_name: str
    reason: str
    count: int


class DeclineReview(Output):
    items: list[DeclineItem]
    total: int
    repeated: list[DeclinePattern]
