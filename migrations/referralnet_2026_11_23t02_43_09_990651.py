from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz

ID = "2026-11-23T02:43:09:990651"
VERSION = "1.38.0"
DESCRIPTION = "index updated_at for directory versioning"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="referralnet", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Organisation",
        tablename="organisation",
        column_name="updated_at",
        db_column_name="updated_at",
        params={"index": True},
        old_params={"index": False},
        column_class=Timestamptz,
        old_column_class=Timestamptz,
        schema=None,
    )

    manager.alter_column(
        table_class_name="Service",
        tablename="service",
        column_name="updated_at",
        db_column_name="updated_at",
        params={"index": True},
        old_params={"index": False},
        column_class=Timestamptz,
        old_column_class=Timestamptz,
        schema=None,
    )

    return manager
