"""service_county and service_form: what the directory's list filters look up, filled for existing services."""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-06T05:10:59:000000"
VERSION = "1.38.0"
DESCRIPTION = "service_county and service_form lookup tables for the directory list filters"


def _decode(value):
    return json.loads(value) if isinstance(value, (str, bytes)) else value


async def _create():
    engine = engine_finder()  # the engine being migrated (read at run time, never at import)
    sqlite = engine.engine_type == "sqlite"
    key = "INTEGER PRIMARY KEY AUTOINCREMENT" if sqlite else "SERIAL PRIMARY KEY"
    for table, column, length in (("service_county", "county", 8), ("service_form", "form", 30)):
        await engine.run_ddl(
            f"CREATE TABLE IF NOT EXISTS {table} (id {key}, "
            f"service INTEGER NOT NULL REFERENCES service (id) ON DELETE CASCADE, {column} VARCHAR({length}) NOT NULL)"
        )
        await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {table}_{column}_service ON {table} ({column}, service)")
        await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {table}_service ON {table} (service)")

    async def run(sql, *args):
        return await engine.run_querystring(QueryString(sql, *args))

    sites = {}
    for row in await run("SELECT service, county FROM site"):
        sites.setdefault(row["service"], set()).add(row["county"])
    for row in await run("SELECT id, area_national, area_counties, eligibility FROM service ORDER BY id"):
        counties = set(_decode(row["area_counties"]) or []) | sites.get(row["id"], set())
        if row["area_national"]:
            counties.add("*")
        forms = (_decode(row["eligibility"]) or {}).get("exploitation_forms")
        for county in sorted(counties):
            await run("INSERT INTO service_county (service, county) VALUES ({}, {})", row["id"], county)
        for form in ["*"] if forms is None else sorted(set(forms)):
            await run("INSERT INTO service_form (service, form) VALUES ({}, {})", row["id"], form)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_create)
    return manager
