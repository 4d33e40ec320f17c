"""``service.capacity_version``: which capacity change last wrote a service's figures, so that matching
re-reads only the services changed since it last looked.

Each capacity writer (``directory/places.py``) bumps the ``capacity`` change counter and stamps the
service with the new value in its own transaction; the counter's row lock makes the values commit in
order on PostgreSQL too (serial ids do not). Existing rows start at 0, and so does the counter.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-06T08:15:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "service.capacity_version (indexed) and the capacity change counter"


async def _create():
    engine = engine_finder()  # the engine being migrated (read at run time, never at import)
    await engine.run_ddl("ALTER TABLE service ADD COLUMN capacity_version INTEGER NOT NULL DEFAULT 0")
    await engine.run_ddl("CREATE INDEX IF NOT EXISTS service_capacity_version ON service (capacity_version)")
    await engine.run_ddl("INSERT INTO change_counter (name, value) VALUES ('capacity', 0) ON CONFLICT (name) DO NOTHING")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_create)
    return manager
