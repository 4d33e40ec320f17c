"""The history tables: a service's capacity changes, a referral's events and the audit log."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)

from referralnet.tables.accounts import ApiToken
from referralnet.tables.base import Table
from referralnet.tables.directory import Service
from referralnet.tables.referrals import Referral


class CapacityChange(Table, tablename="capacity_change"):
    service = ForeignKey(Service, on_delete=OnDelete.restrict, index=True)
    token = ForeignKey(ApiToken, on_delete=OnDelete.restrict, null=True, default=None)
    actor = Varchar(length=200)
    previous_available = Integer(null=True, default=None)
    available = Integer(null=True, default=None)
    previous_total = Integer(null=True, default=None)
    total = Integer(null=True, default=None)
    # Why the figure changed when it was not the NGO's update: offer_accepted, offer_declined, place_released.
    cause = Varchar(length=30, null=True, default=None)
    offer = Integer(null=True, default=None)
    at = Timestamptz()


class ReferralEvent(Table, tablename="referral_event"):
    """Append-only history of a referral: who did what, when, from which state to which."""

    referral = ForeignKey(Referral, on_delete=OnDelete.restrict, index=True)
    offer = Integer(null=True, default=None)
    at = Timestamptz()
    kind = Varchar(length=40)
    actor = Varchar(length=200)
    from_status = Varchar(length=20, null=True, default=None)
    to_status = Varchar(length=20, null=True, default=None)
    reason = Text(null=True, default=None)
    data = JSON(default="{}")


class AuditLog(Table, tablename="audit_log"):
    """Every read of a referral's profile and every refused access; never the profile's content.

    Triggers installed by the migration make it append-only for the application.
    """

    at = Timestamptz(index=True)
    actor = Varchar(length=200)
    token = ForeignKey(ApiToken, on_delete=OnDelete.restrict, null=True, default=None)
    role = Varchar(length=20)
    organisation = Integer(null=True, default=None)
    object_type = Varchar(length=20)
    object_id = Integer(null=True, default=None)
    action = Varchar(length=40)
    outcome = Varchar(length=20)
