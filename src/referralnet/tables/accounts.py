"""Tables of who acts: API tokens, people and their sessions, links and failed sign-ins, and their bindings to networks."""

from __future__ import annotations

from piccolo.columns import (
    Boolean,
    ForeignKey,
    OnDelete,
    Timestamptz,
    Varchar,
)

from referralnet.tables.base import Table
from referralnet.tables.directory import Network, Organisation


class ApiToken(Table, tablename="api_token"):
    name = Varchar(length=200)
    role = Varchar(length=20)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, null=True, default=None)
    token_hash = Varchar(length=64, unique=True)
    prefix = Varchar(length=16)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)


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


class PersonNetwork(Table, tablename="person_network"):
    """A secretariat person bound to a network: their views default to, and are limited to, its members."""

    person = ForeignKey(Person, on_delete=OnDelete.cascade, index=True)
    network = ForeignKey(Network, on_delete=OnDelete.restrict)


class TokenNetwork(Table, tablename="token_network"):
    """A secretariat token bound to a network (as ``PersonNetwork``); carried by the token cache's actor."""

    token = ForeignKey(ApiToken, on_delete=OnDelete.restrict, index=True)
    network = ForeignKey(Network, on_delete=OnDelete.restrict)
