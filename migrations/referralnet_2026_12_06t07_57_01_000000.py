"""Today's networks become records: the two networks of the vocabulary (ProTECT, the 15-NGO network)
are inserted with their English and Romanian names, and each organisation's ``networks`` strings
become ``network_member`` rows (a code no network has yet becomes a network named by its code, so
nothing is lost). Each pair (network, organisation), (person, network) and (token, network) is made
unique. Runs once: existing networks and memberships are left as they are.
"""

import json

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.querystring import QueryString

ID = "2026-12-06T07:57:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "the vocabulary's networks as rows; organisations' networks strings as memberships"

# As in vocabulary/codes.py NETWORKS when this migration was written (a migration imports no app code).
NETWORKS = {
    "protect": ("ProTECT platform", "Platforma ProTECT"),
    "ngo15": ("Informal network of 15 NGOs (2020)", "Rețeaua informală a 15 ONG-uri (2020)"),
}
UNIQUE = {"network_member": ("network", "organisation"), "person_network": ("person", "network"),
          "token_network": ("token", "network")}  # fmt: skip


def _decoded(value: object) -> object:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


async def _memberships():
    engine = engine_finder()  # the engine being migrated (read at run time, never at import)

    async def run(sql: str, *args: object) -> list[dict]:
        return await engine.run_querystring(QueryString(sql, *args))

    for table, (a, b) in UNIQUE.items():
        await engine.run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_pair ON {table} ({a}, {b})")
    ids = {r["code"]: r["id"] for r in await run("SELECT id, code FROM network")}

    async def network_id(code: str) -> int:
        if code not in ids:
            name_en, name_ro = NETWORKS.get(code, (code, code))
            rows = await run(
                "INSERT INTO network (code, name_en, name_ro, active) VALUES ({}, {}, {}, {}) RETURNING id",
                code, name_en, name_ro, True,
            )  # fmt: skip
            ids[code] = rows[0]["id"]
        return ids[code]

    for code in NETWORKS:
        await network_id(code)
    members = {(r["network"], r["organisation"]) for r in await run("SELECT network, organisation FROM network_member")}
    for org in await run("SELECT id, networks FROM organisation ORDER BY id"):
        codes = _decoded(org["networks"]) or []
        for code in dict.fromkeys(c for c in codes if isinstance(c, str) and c.strip()):
            pair = (await network_id(code), org["id"])
            if pair not in members:
                await run("INSERT INTO network_member (network, organisation) VALUES ({}, {})", *pair)
                members.add(pair)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="referralnet", description=DESCRIPTION)
    manager.add_raw(_memberships)
    return manager
