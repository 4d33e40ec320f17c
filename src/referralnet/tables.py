"""Piccolo tables of the ``referralnet`` app. Migrations live in the top-level ``migrations/`` folder.

JSON columns hold msgspec-encoded lists and Structs; rows that history depends on
(capacity changes, tokens) refer to their parents with ``ON DELETE RESTRICT``.
"""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table


class Organisation(Table, tablename="organisation"):
    slug = Varchar(length=64, unique=True)
    name = Varchar(length=300)
    short_name = Varchar(length=80, null=True, default=None)
    aliases = JSON(default="[]")
    legal_form = Varchar(length=40, null=True, default=None)
    networks = JSON(default="[]")
    website = Varchar(length=500, null=True, default=None)
    referral_email = Varchar(length=254, null=True, default=None)
    webhook_url = Varchar(length=500, null=True, default=None)
    webhook_secret = Varchar(length=100, null=True, default=None)
    description = Text(null=True, default=None)
    places = JSON(default="[]")
    sources = JSON(default="[]")
    fictional = Boolean(default=False)
    active = Boolean(default=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Service(Table, tablename="service"):
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
    type = Varchar(length=40, index=True)
    name = Varchar(length=300)
    description = Text(null=True, default=None)
    licence = Varchar(length=500, null=True, default=None)
    eligibility = JSON(default="{}")
    area_national = Boolean(default=False)
    area_counties = JSON(default="[]")
    capacity_unit = Varchar(length=30, null=True, default=None)
    capacity_total = Integer(null=True, default=None)
    capacity_available = Integer(null=True, default=None)
    capacity_updated_at = Timestamptz(null=True, default=None)
    active = Boolean(default=True)
    sources = JSON(default="[]")
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Site(Table, tablename="site"):
    service = ForeignKey(Service, on_delete=OnDelete.cascade, index=True)
    county = Varchar(length=8, index=True)
    locality = Varchar(length=300, null=True, default=None)
    address = Varchar(length=500, null=True, default=None)
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    confidential = Boolean(default=False)


class ApiToken(Table, tablename="api_token"):
    name = Varchar(length=200)
    role = Varchar(length=20)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, null=True, default=None)
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=16)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


class CapacityChange(Table, tablename="capacity_change"):
    service = ForeignKey(Service, on_delete=OnDelete.restrict, index=True)
    token = ForeignKey(ApiToken, on_delete=OnDelete.restrict, null=True, default=None)
    actor = Varchar(length=200)
    previous_available = Integer(null=True, default=None)
    available = Integer(null=True, default=None)
    previous_total = Integer(null=True, default=None)
    total = Integer(null=True, default=None)
    at = Timestamptz()


class InstanceSecret(Table, tablename="instance_secret"):
    """A generated signing key, so links stay valid across restarts when no secret is configured."""

    name = Varchar(length=40, unique=True)
    value = Varchar(length=200)


TABLES: list[type[Table]] = [Organisation, Service, Site, ApiToken, CapacityChange, InstanceSecret]
