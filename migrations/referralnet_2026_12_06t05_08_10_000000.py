"""change_counter: counters other instances poll cheaply (token revocations for the token caches)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T05:08:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "change_counter table (access counter for the token caches)"


async def _create():
    engine = engine_finder()  # the engine being migrated (read at run time, never at import)
    key = "INTEGER PRIMARY KEY AUTOINCREMENT" if engine.engine_type == "sqlite" else "SERIAL PRIMARY KEY"
    await engine.run_ddl(
        f"CREATE TABLE IF NOT EXISTS change_counter (id {key}, name VARCHAR(40) NOT NULL UNIQUE, value INTEGER NOT NULL DEFAULT 0)"
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_create)
    return manager
