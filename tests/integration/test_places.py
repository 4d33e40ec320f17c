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
