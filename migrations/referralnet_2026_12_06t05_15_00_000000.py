"""Retention: ``referral.purged_at``, and a referral history whose free text may be erased.

The history stays append-only except for one change: setting ``reason`` (free text) to NULL while
every other column stays as it was. That is what the retention sweep does; nothing else can update
or delete a history row.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod
from piccolo.engine import engine_finder

ID = "2026-12-06T05:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral.purged_at; referral_event.reason may be erased (retention), nothing else changes"

# Every column of referral_event but ``reason`` (SQLite has no generic row comparison).
KEPT = ("id", "referral", "offer", "at", "kind", "actor", "from_status", "to_status", "data")


async def _erasable_history():
    engine = engine_finder()
    if engine.engine_type == "sqlite":
        unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in KEPT)
        await engine.run_ddl("DROP TRIGGER IF EXISTS referral_event_no_update")
        await engine.run_ddl(
            "CREATE TRIGGER referral_event_no_update BEFORE UPDATE ON referral_event "
            f"WHEN NOT (NEW.reason IS NULL AND {unchanged}) "
            "BEGIN SELECT RAISE(ABORT, 'referral_event is append-only (only its free text may be erased)'); END"
        )
    else:
        await engine.run_ddl("DROP TRIGGER IF EXISTS referral_event_append_only ON referral_event")
        await engine.run_ddl(
            "CREATE TRIGGER referral_event_append_only BEFORE DELETE ON referral_event "
            "FOR EACH ROW EXECUTE FUNCTION referralnet_append_only()"
        )
        await engine.run_ddl(
            "CREATE TRIGGER referral_event_erase_only BEFORE UPDATE ON referral_event FOR EACH ROW "
            "WHEN (NEW.reason IS NOT NULL OR (to_jsonb(NEW) - 'reason') IS DISTINCT FROM (to_jsonb(OLD) - 'reason')) "
            "EXECUTE FUNCTION referralnet_append_only()"
        )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_column(
        table_class_name="Referral",
        tablename="referral",
        column_name="purged_at",
        db_column_name="purged_at",
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
    manager.add_raw(_erasable_history)
    return manager
