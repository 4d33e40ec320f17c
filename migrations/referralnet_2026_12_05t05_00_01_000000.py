"""Referrals belong to an institution: bind the existing ones.

Each referral stays visible to exactly the tokens that saw it before: an institution token made
without an institution gets a placeholder institution of its own (named as such), then each
referral gets its creating token's institution. Staff-made referrals keep none (staff see all).
"""

import datetime as dt

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-05T05:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "bind existing referrals to an institution (placeholder per unbound institution token)"


PLACEHOLDER_DESCRIPTION = (
    "Placeholder made when referrals became the institution's: token {id} had no institution. "
    "Rename it to the real institution, or bind new tokens to the real institution."
)


async def _bind_referrals():
    """A placeholder institution per unbound institution token; each referral gets its token's institution."""
    engine = engine_finder()  # the engine being migrated (read at run time, never at import)

    async def run(sql: str, *args: object) -> list[dict]:
        return await engine.run_querystring(QueryString(sql, *args))

    now = dt.datetime.now(dt.timezone.utc)
    tokens = await run(
        "SELECT id, name FROM api_token WHERE role = 'institution' AND organisation IS NULL ORDER BY id"
    )
    for token in tokens:
        slug = f"placeholder-token-{token['id']}"
        name = f"Placeholder institution of token {token['id']} ({token['name']})"[:300]
        await run(
            "INSERT INTO organisation (slug, name, aliases, networks, places, sources, fictional, active, "
            "created_at, updated_at, kind, institution_type, city_inferred, description) "
            "VALUES ({}, {}, '[]', '[]', '[]', '[]', {}, {}, {}, {}, 'institution', 'other', {}, {})",
            slug, name, False, True, now, now, False, PLACEHOLDER_DESCRIPTION.format(id=token["id"]),
        )  # fmt: skip
        await run(
            "UPDATE api_token SET organisation = (SELECT id FROM organisation WHERE slug = {}) WHERE id = {}", slug, token["id"]
        )
    await run(
        "UPDATE referral SET institution = (SELECT t.organisation FROM api_token t WHERE t.id = referral.created_by "
        "AND t.role = 'institution') WHERE institution IS NULL"
    )


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_bind_referrals)
    return manager
