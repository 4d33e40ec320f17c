"""Tables of the directory: organisations, their services and sites, the list filters' lookup rows, networks and their members."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    BigInt,
    Boolean,
    DoublePrecision,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)

from referralnet.tables.base import Table


class Organisation(Table, tablename="organisation"):
    slug = Varchar(length=64, unique=True)
    name = Varchar(length=300)
    short_name = Varchar(length=80, null=True, default=None)
    aliases = JSON(default="[]")
    legal_form = Varchar(length=40, null=True, default=None)
    # A read copy of the organisation's network codes, kept by directory/networks.py from network_member rows.
    networks = JSON(default="[]")
    website = Varchar(length=500, null=True, default=None)
    referral_email = Varchar(length=254, null=True, default=None)
    # The referral phone, and a line answered round the clock where the organisation has one.
    referral_phone = Varchar(length=40, null=True, default=None)
    phone_24h = Varchar(length=40, null=True, default=None)
    # "provider" (offers services) or "institution" (refers people; never matched or offered).
    kind = Varchar(length=20, default="provider")
    institution_type = Varchar(length=30, null=True, default=None)
    county = Varchar(length=8, null=True, default=None)
    city = Varchar(length=300, null=True, default=None)
    # True when the city is inferred by the source, not stated by it.
    city_inferred = Boolean(default=False)
    webhook_url = Varchar(length=500, null=True, default=None)
    webhook_secret = Varchar(length=100, null=True, default=None)
    description = Text(null=True, default=None)
    places = JSON(default="[]")
    sources = JSON(default="[]")
    fictional = Boolean(default=False)
    active = Boolean(default=True)
    created_at = Timestamptz()
    # Bumped on every change; with the highest id it versions the directory for matching caches.
    updated_at = Timestamptz(index=True)


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
    # The last capacity write's stamp (directory/places.py): the ``capacity`` counter's value on SQLite, the writing
    # transaction's id on PostgreSQL (64 bits); matching re-reads the services stamped since it last looked.
    capacity_version = BigInt(default=0, index=True)
    # When the organisation was last reminded that this figure is stale (one reminder per stale period).
    capacity_reminded_at = Timestamptz(null=True, default=None)
    active = Boolean(default=True)
    sources = JSON(default="[]")
    created_at = Timestamptz()
    # Bumped on every change except capacity (which has capacity_updated_at); versions matching caches.
    updated_at = Timestamptz(index=True)


class Site(Table, tablename="site"):
    service = ForeignKey(Service, on_delete=OnDelete.cascade, index=True)
    county = Varchar(length=8, index=True)
    locality = Varchar(length=300, null=True, default=None)
    address = Varchar(length=500, null=True, default=None)
    lat = DoublePrecision(null=True, default=None)
    lon = DoublePrecision(null=True, default=None)
    confidential = Boolean(default=False)


class ServiceCounty(Table, tablename="service_county"):
    """Where a service works, for the list filter: each area and site county, ``*`` when national.

    Written with the service (``directory.lookup``); indexed on (county, service) by its migration.
    """

    service = ForeignKey(Service, on_delete=OnDelete.cascade)
    county = Varchar(length=8)


class ServiceForm(Table, tablename="service_form"):
    """The exploitation forms a service takes, for the list filter; ``*`` when not stated."""

    service = ForeignKey(Service, on_delete=OnDelete.cascade)
    form = Varchar(length=30)


class Network(Table, tablename="network"):
    """A platform or network of organisations (ProTECT, the 15-NGO network) whose secretariat reviews its members."""

    code = Varchar(length=40, unique=True)
    name_en = Varchar(length=200)
    name_ro = Varchar(length=200)
    active = Boolean(default=True)


class NetworkMember(Table, tablename="network_member"):
    """An organisation's membership of a network; (network, organisation) is unique (its migration's index)."""

    network = ForeignKey(Network, on_delete=OnDelete.restrict, index=True)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, index=True)
