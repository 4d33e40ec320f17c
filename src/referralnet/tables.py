"""Piccolo tables of the ``referralnet`` app. Migrations live in the top-level ``migrations/`` folder.

JSON columns hold msgspec-encoded lists and Structs; rows that history depends on
(capacity changes, tokens) refer to their parents with ``ON DELETE RESTRICT``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

if TYPE_CHECKING:  # Piccolo adds the ``id`` primary key at class creation; tell the type checker.
    from piccolo.columns import Serial
    from piccolo.table import Table as _Table

    class Table(_Table):
        id: Serial
else:
    from piccolo.table import Table


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
    # Why the figure changed when it was not the NGO's update: offer_accepted, offer_declined, place_released.
    cause = Varchar(length=30, null=True, default=None)
    offer = Integer(null=True, default=None)
    at = Timestamptz()


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


class Person(Table, tablename="person"):
    """A person who signs in to the pages (tokens stay for machines); the password only as argon2id."""

    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    role = Varchar(length=20)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, null=True, default=None)
    password_hash = Varchar(length=200, null=True, default=None)
    active = Boolean(default=True)
    # An NGO's administrator among its people: invites and deactivates colleagues of the same organisation.
    org_admin = Boolean(default=False)
    created_at = Timestamptz()
    # Bumped when the role, organisation, password or active flag change: sessions older than it end.
    changed_at = Timestamptz()


class PersonSession(Table, tablename="person_session"):
    """A signed-in browser; the cookie holds a random id of which only the SHA-256 is stored."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    seen_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)


class PersonLink(Table, tablename="person_link"):
    """A single-use e-mailed link: set the first password (invite, 24 h) or reset it (1 h)."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=10)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class SignInFailure(Table, tablename="sign_in_failure"):
    """One failed sign-in, counted per account and per address for the rate limit (shared by instances)."""

    email = Varchar(length=254, index=True)
    address = Varchar(length=64, index=True)
    at = Timestamptz(index=True)


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


class PersonNetwork(Table, tablename="person_network"):
    """A secretariat person bound to a network: their views default to, and are limited to, its members."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade, index=True)
    network = ForeignKey(Network, on_delete=OnDelete.restrict)


class TokenNetwork(Table, tablename="token_network"):
    """A secretariat token bound to a network (as ``PersonNetwork``); carried by the token cache's actor."""

    token = ForeignKey(ApiToken, on_delete=OnDelete.restrict, index=True)
    network = ForeignKey(Network, on_delete=OnDelete.restrict)


class ChangeCounter(Table, tablename="change_counter"):
    """Counters bumped in the transactions of the changes they announce (see ``referralnet.counters``)."""

    name = Varchar(length=40, unique=True)
    value = Integer(default=0)


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
