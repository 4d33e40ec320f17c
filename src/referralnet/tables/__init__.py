"""Piccolo tables of the ``referralnet`` app, one module per concern. Migrations live in the top-level ``migrations/`` folder.

JSON columns hold msgspec-encoded lists and Structs; rows that history depends on
(capacity changes, tokens) refer to their parents with ``ON DELETE RESTRICT``.
"""

from __future__ import annotations

from referralnet.tables.accounts import ApiToken, Person, PersonLink, PersonNetwork, PersonSession, SignInFailure, TokenNetwork
from referralnet.tables.base import Table
from referralnet.tables.directory import Network, NetworkMember, Organisation, Service, ServiceCounty, ServiceForm, Site
from referralnet.tables.history import AuditLog, CapacityChange, ReferralEvent
from referralnet.tables.referrals import Offer, Referral, ReferralNeed
from referralnet.tables.system import ChangeCounter, InstanceSecret, Notification, SweepLock

TABLES: list[type[Table]] = [
    Organisation,
    Service,
    Site,
    ServiceCounty,
    ServiceForm,
    ApiToken,
    CapacityChange,
    Referral,
    ReferralNeed,
    Offer,
    ReferralEvent,
    AuditLog,
    Notification,
    SweepLock,
    InstanceSecret,
    Person,
    PersonSession,
    PersonLink,
    SignInFailure,
    ChangeCounter,
    Network,
    NetworkMember,
    PersonNetwork,
    TokenNetwork,
]

__all__ = [
    "TABLES",
    "ApiToken",
    "AuditLog",
    "CapacityChange",
    "ChangeCounter",
    "InstanceSecret",
    "Network",
    "NetworkMember",
    "Notification",
    "Offer",
    "Organisation",
    "Person",
    "PersonLink",
    "PersonNetwork",
    "PersonSession",
    "Referral",
    "ReferralEvent",
    "ReferralNeed",
    "Service",
    "ServiceCounty",
    "ServiceForm",
    "SignInFailure",
    "Site",
    "SweepLock",
    "Table",
    "TokenNetwork",
]
