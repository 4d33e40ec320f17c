"""Make the audit log and the referral history append-only for the application."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T02:47:27:000000"
VERSION = "1.38.0"
DESCRIPTION = "append-only triggers on audit_log and referral_event"

APPEND_ONLY = ("audit_log", "referral_event")


async def _append_only():
    """Refuse UPDATE and DELETE on the audit log and the referral history, on both engines."""
    from piccolo.engine import engine_finder

    engine = engine_finder()
    if engine.engine_type == "sqlite":
        for table in APPEND_ONLY:
            for op in ("UPDATE", "DELETE"):
                await engine.run_ddl(
                    f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    else:
        await engine.run_ddl(
            "CREATE OR REPLACE FUNCTION referralnet_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            await engine.run_ddl(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION referralnet_append_only()"
            )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_append_only)
    return manager
