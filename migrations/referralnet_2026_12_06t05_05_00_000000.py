"""People who sign in: accounts, sessions, single-use links and failed sign-ins (for the rate limit)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns import Boolean, ForeignKey, OnDelete, Serial, Timestamptz, Varchar
from piccolo.table import Table

ID = "2026-12-06T05:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "person, person_session, person_link, sign_in_failure"


# The tables as of this migration (frozen here so later model changes do not alter it).
class Organisation(Table, tablename="organisation"):
    id = Serial(primary_key=True)


class Person(Table, tablename="person"):
    email = Varchar(length=254, unique=True)
    name = Varchar(length=200)
    role = Varchar(length=20)
    organisation = ForeignKey(Organisation, on_delete=OnDelete.restrict, null=True, default=None)
    password_hash = Varchar(length=200, null=True, default=None)
    active = Boolean(default=True)
    created_at = Timestamptz()
    changed_at = Timestamptz()


class PersonSession(Table, tablename="person_session"):
    person = ForeignKey(Person, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    seen_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)


class PersonLink(Table, tablename="person_link"):
    person = ForeignKey(Person, on_delete=OnDelete.cascade, index=True)
    purpose = Varchar(length=10)
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class SignInFailure(Table, tablename="sign_in_failure"):
    email = Varchar(length=254, index=True)
    address = Varchar(length=64, index=True)
    at = Timestamptz(index=True)


async def _create():
    from piccolo.engine import engine_finder

    engine = engine_finder()
    for table in (Person, PersonSession, PersonLink, SignInFailure):
        table._meta.db = engine
        await table.create_table()


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_create)
    return manager
