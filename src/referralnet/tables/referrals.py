"""Tables of referrals: a referral, its needs and the offers made to providers."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)

from referralnet.tables.accounts import ApiToken
from referralnet.tables.base import Table
from referralnet.tables.directory import Organisation, Service


class Referral(Table, tablename="referral"):
    """A request by an institution to place one person; holds the anonymised profile only."""

    created_by = ForeignKey(ApiToken, on_delete=OnDelete.restrict, index=True)
    created_by_label = Varchar(length=200)
    # The referring institution: every token of it sees and acts on the referral (null when staff referred).
    institution = ForeignKey(Organisation, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    profile = JSON()
    summary = Text()
    county = Varchar(length=8, index=True)
    urgency = Varchar(length=20)
    mode = Varchar(length=10)
    status = Varchar(length=20, index=True)
    consent_at = Timestamptz()
    # The referring officer's work address for status messages (never the person's).
    notify_email = Varchar(length=254, null=True, default=None)
    # Services still to be asked, in order (cascade mode); empty in parallel mode once all are sent.
    queue = JSON(default="[]")
    placed_offer = Integer(null=True, default=None)
    # The referring officer's work contact, shown to a provider once it accepted (never the person's).
    officer_name = Varchar(length=200, null=True, default=None)
    officer_phone = Varchar(length=40, null=True, default=None)
    outcome = Varchar(length=40, null=True, default=None)
    outcome_text = Text(null=True, default=None)
    created_at = Timestamptz(index=True)
    updated_at = Timestamptz()
    placed_at = Timestamptz(null=True, default=None)
    arrived_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    # When the retention sweep erased the free text (referrals/retention.py); null until then.
    purged_at = Timestamptz(null=True, default=None)


class ReferralNeed(Table, tablename="referral_need"):
    """One need of the referred person (from the profile), placed on its own: its offers, queue and placement."""

    referral = ForeignKey(Referral, on_delete=OnDelete.restrict, index=True)
    position = Integer()
    service_type = Varchar(length=40)
    priority = Varchar(length=10)  # required needs decide the referral's state; desired ones never block
    status = Varchar(length=20, index=True)
    # Services still to be asked for this need, in order (cascade mode).
    queue = JSON(default="[]")
    placed_offer = Integer(null=True, default=None)
    placed_at = Timestamptz(null=True, default=None)
    # When the person arrived at the service that placed this need (each placed need on its own).
    arrived_at = Timestamptz(null=True, default=None)


class Offer(Table, tablename="offer"):
    """One provider asked to take the person of a referral, with a deadline."""

    referral = ForeignKey(Referral, on_delete=OnDelete.restrict, index=True)
    service = ForeignKey(Service, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    position = Integer()
    status = Varchar(length=20, index=True)
    sent_at = Timestamptz()
    deadline = Timestamptz(index=True)
    remind_at = Timestamptz(null=True, default=None, index=True)
    reminded_at = Timestamptz(null=True, default=None)
    responded_at = Timestamptz(null=True, default=None)
    responded_by = Varchar(length=200, null=True, default=None)
    decline_reason = Varchar(length=30, null=True, default=None)
    decline_text = Text(null=True, default=None)
    contested = Boolean(default=False)
    # True while this offer holds a place of a capacity-bound service.
    reserved = Boolean(default=False)
    # First time the offered organisation read the offer (API, one-click page or its offer page); FHIR Task "received".
    seen_at = Timestamptz(null=True, default=None)
    # The referral need this offer is for.
    need = Integer(null=True, default=None, index=True)
    # How the offer reached the provider: sent, delivered, failed, or phone (the secretariat calls).
    delivery = Varchar(length=20, null=True, default=None)
    # What the accepting provider tells the institution about bringing the person (never an address unless it chooses).
    arrival_instructions = Text(null=True, default=None)
