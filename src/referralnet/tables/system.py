"""The service's own bookkeeping: the notification outbox, sweep leases, generated secrets and change counters."""

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

from referralnet.tables.base import Table
from referralnet.tables.directory import Organisation
from referralnet.tables.referrals import Referral


class Notification(Table, tablename="notification"):
    """Outbox: written in the transaction of the event it reports, delivered later with retries."""

    kind = Varchar(length=30)
    channel = Varchar(length=10)
    recipient = Varchar(length=500)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, null=True, default=None)
    referral = ForeignKey(Referral, on_delete=OnDelete.restrict, null=True, default=None, index=True)
    offer = Integer(null=True, default=None)
    subject = Varchar(length=300)
    payload = JSON(default="{}")
    delivery_id = Varchar(length=36, unique=True)
    status = Varchar(length=10, index=True)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    claimed_until = Timestamptz(null=True, default=None)
    last_error = Text(null=True, default=None)
    created_at = Timestamptz()
    sent_at = Timestamptz(null=True, default=None)


class SweepLock(Table, tablename="sweep_lock"):
    """Leases for scheduled sweeps, so one instance runs a given sweep at a time (both engines)."""

    name = Varchar(length=40, unique=True)
    holder = Varchar(length=100, null=True, default=None)
    until = Timestamptz(null=True, default=None)


class InstanceSecret(Table, tablename="instance_secret"):
    """A generated signing key, so links stay valid across restarts when no secret is configured."""

    name = Varchar(length=40, unique=True)
    value = Varchar(length=200)


class ChangeCounter(Table, tablename="change_counter"):
    """Counters bumped in the transactions of the changes they announce (see ``referralnet.counters``)."""

    name = Varchar(length=40, unique=True)
    value = Integer(default=0)
