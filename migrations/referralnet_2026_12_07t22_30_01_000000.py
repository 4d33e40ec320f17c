"""A referral that had arrived before arrival was recorded per need gets its arrival time on each need placed by then,
as that arrival was recorded for the referral's whole placement (a desired need placed after it keeps none)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-12-07T22:30:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "referral_need.arrived_at filled from the referral's arrival"


async def _fill():
    engine = engine_finder()  # the engine being migrated (read at run time, never at import)
    await engine.run_ddl(
        "UPDATE referral_need SET arrived_at = (SELECT r.arrived_at FROM referral r WHERE r.id = referral_need.referral) "
        "WHERE status = 'placed' AND arrived_at IS NULL "
        "AND EXISTS (SELECT 1 FROM referral r WHERE r.id = referral_need.referral AND r.arrived_at IS NOT NULL "
        "AND (referral_need.placed_at IS NULL OR referral_need.placed_at <= r.arrived_at))"
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_fill)
    return manager
