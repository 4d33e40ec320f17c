"""Every existing referral becomes a single-need referral, with nothing lost.

Its need takes the type of the service it was placed with (else of its first offer, else the
profile's first need), the referral's queue (moved), its placed offer and time, and a state
following the referral's; each of its offers is bound to that need. Runs once: referrals that
already have a need are left alone.
"""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-06T05:06:22:000000"
VERSION = "1.38.0"
DESCRIPTION = "existing referrals as single-need referrals"


def _need_state(status: str, placed_at: object) -> str:
    if placed_at is not None:
        return "placed"
    return {"open": "open", "unplaced": "unplaced", "closed": "unplaced", "cancelled": "cancelled"}.get(status, "placed")


def _decoded(value: object) -> object:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


async def _single_needs():
    engine = engine_finder()  # the engine being migrated (read at run time, never at import)

    async def run(sql: str, *args: object) -> list[dict]:
        return await engine.run_querystring(QueryString(sql, *args))

    done = {r["referral"] for r in await run("SELECT DISTINCT referral FROM referral_need")}
    referrals = await run("SELECT id, status, profile, queue, placed_offer, placed_at FROM referral ORDER BY id")
    for ref in referrals:
        if ref["id"] in done:
            continue
        offers = await run(
            "SELECT o.id, s.type FROM offer o JOIN service s ON s.id = o.service WHERE o.referral = {} ORDER BY o.id", ref["id"]
        )
        types = {o["id"]: o["type"] for o in offers}
        profile = _decoded(ref["profile"]) or {}
        needs = profile.get("needs") or [] if isinstance(profile, dict) else []
        service_type = (
            types.get(ref["placed_offer"])
            or (offers[0]["type"] if offers else None)
            or (needs[0].get("service_type") if needs else None)
            or "unknown"
        )
        queue = _decoded(ref["queue"]) or []
        rows = await run(
            "INSERT INTO referral_need (referral, position, service_type, priority, status, queue, placed_offer, placed_at) "
            "VALUES ({}, 0, {}, 'required', {}, {}, {}, {}) RETURNING id",
            ref["id"], service_type, _need_state(ref["status"], ref["placed_at"]), json.dumps(queue),
            ref["placed_offer"], ref["placed_at"],
        )  # fmt: skip
        await run("UPDATE offer SET need = {} WHERE referral = {}", rows[0]["id"], ref["id"])
        await run("UPDATE referral SET queue = '[]' WHERE id = {}", ref["id"])  # the queue is the need's now


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_single_needs)
    return manager
