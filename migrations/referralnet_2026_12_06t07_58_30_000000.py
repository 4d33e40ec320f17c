"""``person.org_admin``: a person of an NGO who invites and deactivates the organisation's people."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-06T07:58:30:000000"
VERSION = "1.38.0"
DESCRIPTION = "person.org_admin (the organisation's administrator among its people)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Person",
        tablename="person",
        column_name="org_admin",
        db_column_name="org_admin",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": False,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )
    return manager
