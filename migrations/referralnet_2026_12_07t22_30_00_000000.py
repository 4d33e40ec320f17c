"""``referral_need.arrived_at``: the person's arrival is recorded per placed need (each at its own provider).

The next migration fills it for referrals that arrived before (Piccolo runs a migration's raw steps before its
column changes, so the fill cannot be a step of this one)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T22:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral_need.arrived_at (arrival per placed need)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_column(
        table_class_name="ReferralNeed",
        tablename="referral_need",
        column_name="arrived_at",
        db_column_name="arrived_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
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
