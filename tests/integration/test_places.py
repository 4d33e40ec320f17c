"""``places.set_figures`` on both engines: a caller that drops the service's row has it neither read nor built; the PUT's
caller gets it from the write itself on PostgreSQL (one statement)."""

from __future__ import annotations

from typing import Any

import pytest

from referralnet import sql
from referralnet.accounts.schemas import SYSTEM, Actor
from referralnet.db import write_transaction
from referralnet.dialect import sqlite
from referralnet.directory import places
from referralnet.directory.schemas import CapacityUpdate
from referralnet.directory.views import SERVICE_SQL
from referralnet.errors import Conflict, Forbidden, NotFound
from tests.conftest import in_app
from tests.integration.helpers import make_org, make_service, shelter


async def test_set_figures_without_the_row_reads_only_what_it_writes(
    client: Any, admin: dict[str, str], clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await make_org(client, admin, "Asociația Ghiocel")
    service_id = (await make_service(client, admin, org["id"], shelter(capacity={"unit": "beds", "total": 10, "available": 2})))["id"]
    other = Actor(token_id=None, name="other", role="ngo", organisation_id=org["id"] + 1000)
    statements: list[str] = []
    fetch = sql.fetch

    async def recording(statement: str, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        statements.append(statement)
        return await fetch(statement, *args, **kwargs)

    monkeypatch.setattr(sql, "fetch", recording)

    async def set_figures(service: int, available: int, **kwargs: Any) -> Any:
        async with write_transaction():
            return await places.set_figures(service, CapacityUpdate(available=available), kwargs.pop("actor", SYSTEM), clock.now(), **kwargs)

    async def on_sqlite() -> bool:
        return sqlite()

    assert in_app(client, set_figures, service_id, 3, want_row=False) is None
    assert SERVICE_SQL not in statements  # the wide row (organisation, sites) is not read inside the writer's turn
    # Refusals are the same without the row.
    with pytest.raises(NotFound):
        in_app(client, set_figures, service_id + 1000, 1, want_row=False)
    with pytest.raises(Forbidden):
        in_app(client, set_figures, service_id, 1, actor=other, want_row=False)
    with pytest.raises(Conflict):
        in_app(client, set_figures, service_id, 1, expected=2, want_row=False)
    assert SERVICE_SQL not in statements

    statements.clear()
    records = sql.records
    monkeypatch.setattr(sql, "records", lambda statement, *args: statements.append(statement) or records(statement, *args))
    got = in_app(client, set_figures, service_id, 4)  # the PUT's caller: the row as the update left it, with its sites
    answer = got()
    assert (answer.capacity.available, answer.capacity.total, answer.organisation_name) == (4, 10, "Asociația Ghiocel")
    assert answer.capacity.updated_at == clock.now() and len(answer.sites) == 1
    if not in_app(client, on_sqlite):
        # The write answers with the row: no second read, and it stamps the row with its transaction's id (no shared
        # counter row for every capacity writer to queue on until its commit), inside a transaction as outside.
        assert len(statements) == 1 and "INSERT INTO capacity_change" in statements[0] and places.PG_STAMP in statements[0]
        assert "change_counter" not in statements[0]
        statements.clear()
        alone = in_app(client, places.set_figures, service_id, CapacityUpdate(available=5), SYSTEM, clock.now())
        assert alone().capacity.available == 5 and len(statements) == 1 and places.PG_STAMP in statements[0]
    history = (await client.get(f"/api/v1/services/{service_id}/capacity/history", headers=admin)).json()["items"]
    figures = [(h["previous_available"], h["available"]) for h in history]
    assert figures == ([(3, 4), (2, 3)] if in_app(client, on_sqlite) else [(4, 5), (3, 4), (2, 3)])


async def test_a_missing_capacity_counter_row_does_not_stop_capacity_updates(
    client: Any, admin: dict[str, str], institution: dict[str, str], database_url: str
) -> None:
    """Change counters read a missing row as 0 (``counters``): a database without the ``capacity`` row (a partial
    restore, a row deleted by hand) still takes an NGO's figures, and the next match shows them. On SQLite the
    update's stamp was the row's value + 1, NULL without it, and every capacity update failed (NOT NULL); a counter
    started again from 1 would stamp below what matching had read."""
    import asyncpg

    org = await make_org(client, admin, "Asociația Ghiocel")
    service_id = (await make_service(client, admin, org["id"]))["id"]
    profile = {"age_band": "25-39", "gender": "female", "nationality_group": "romanian", "exploitation_forms": ["sexual"],
               "needs": [{"service_type": "residential_shelter", "priority": "required"}], "location": {"county": "RO-B"}}  # fmt: skip

    async def shown() -> int | None:
        resp = await client.post("/api/v1/matches", json={"profile": profile}, headers=institution)
        assert resp.status_code == 200, resp.text
        return next((c["available"] for c in resp.json()["candidates"] if c["service_id"] == service_id), None)

    assert await shown() == 3
    resp = await client.put(f"/api/v1/services/{service_id}/capacity", json={"available": 4}, headers=admin)
    assert resp.status_code == 200, resp.text
    assert await shown() == 4  # matching has read this stamp: a counter starting again from 1 would not be read
    delete = "DELETE FROM change_counter WHERE name = 'capacity'"
    if database_url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as con:
            con.execute(delete)
    else:
        con = await asyncpg.connect(database_url)
        try:
            await con.execute(delete)
        finally:
            await con.close()
    for available in (5, 1):
        resp = await client.put(f"/api/v1/services/{service_id}/capacity", json={"available": available}, headers=admin)
        assert resp.status_code == 200, resp.text
        assert await shown() == available
