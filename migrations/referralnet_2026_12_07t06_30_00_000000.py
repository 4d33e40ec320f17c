"""``service.capacity_version`` as a 64-bit integer: on PostgreSQL a capacity stamp is now its writer's
transaction id (``directory/places.py``), which passes 2^31 on a busy server within weeks.

SQLite's integers are 64-bit already, and its stamps stay the ``capacity`` counter's values.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-07T06:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "service.capacity_version as BIGINT (PostgreSQL stamps capacity writes with transaction ids)"


async def _widen():
    engine = engine_finder()  # the engine being migrated (read at run time, never at import)
    if engine.engine_type != "sqlite":
        await engine.run_ddl("ALTER TABLE service ALTER COLUMN capacity_version TYPE BIGINT")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_widen)
    return manager
