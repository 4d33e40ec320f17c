"""The migration to arrival per need, on a copy of a database holding referrals that arrived before it (both
engines): each placed need of an arrived referral gets the referral's arrival time, nothing else does."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from referralnet import db
from tests.conftest import ENGINES
from tests.integration.migration_copies import copy_before

FIRST = "2026-12-07T22:30:01:000000"
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
ARRIVED = NOW + dt.timedelta(hours=5)
PROFILE = {"age_band": "14-17", "gender": "male", "nationality_group": "romanian", "location": {"county": "RO-IS"},
           "needs": [{"service_type": "child_residential", "priority": "required"},
                     {"service_type": "psychological_counselling", "priority": "required"}]}  # fmt: skip
# referral id -> (status, arrived_at, need states in position order)
REFERRALS: dict[int, tuple[str, dt.datetime | None, list[str]]] = {
    1: ("arrived", ARRIVED, ["placed", "placed"]),
    2: ("arrived", ARRIVED, ["placed", "open"]),
    3: ("placed", None, ["placed", "placed"]),
    4: ("closed", ARRIVED, ["placed", "unplaced"]),
}


def _rows() -> list[tuple[str, tuple[Any, ...]]]:
    out: list[tuple[str, tuple[Any, ...]]] = [
        ("INSERT INTO organisation (id, slug, name, kind, created_at, updated_at) VALUES (?, ?, ?, 'institution', ?, ?)", (1, "ipj", "IPJ Iași", NOW, NOW)),
        ("INSERT INTO api_token (id, name, role, organisation, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
         (1, "officer", "institution", 1, "0" * 64, "rn_x", NOW)),
    ]  # fmt: skip
    for rid, (status, arrived, needs) in REFERRALS.items():
        out.append((
            "INSERT INTO referral (id, created_by, created_by_label, institution, profile, summary, county, urgency, mode, status, "
            "consent_at, queue, placed_at, arrived_at, created_at, updated_at) "
            "VALUES (?, 1, 'institution:officer', 1, ?, ?, 'RO-IS', 'urgent', 'parallel', ?, ?, '[]', ?, ?, ?, ?)",
            (rid, json.dumps(PROFILE), f"referral {rid}", status, NOW, NOW, arrived, NOW, NOW),
        ))  # fmt: skip
        for position, (need, state) in enumerate(zip(PROFILE["needs"], needs)):  # type: ignore[call-overload]
            out.append((
                "INSERT INTO referral_need (id, referral, position, service_type, priority, status, queue, placed_at) VALUES (?, ?, ?, ?, ?, ?, '[]', ?)",
                (rid * 10 + position, rid, position, need["service_type"], "required", state, NOW if state == "placed" else None),
            ))  # fmt: skip
    return out


@pytest.fixture(params=ENGINES)
def copied_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with copy_before(request.param, tmp_path, FIRST, _rows(), {"referral_id_seq": 10, "referral_need_id_seq": 100}) as url:
        yield url


async def _arrivals(url: str) -> dict[int, Any]:
    engine = db.make_engine(url)
    await db.migrate(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    try:
        from referralnet import sql

        rows = await sql.fetch("SELECT id, arrived_at FROM referral_need ORDER BY id")
        return {r["id"]: r["arrived_at"] for r in rows}
    finally:
        await db.stop(engine)


def test_placed_needs_of_arrived_referrals_take_the_arrival_time(copied_database: str) -> None:
    arrivals = asyncio.run(_arrivals(copied_database))
    expected = {10: ARRIVED, 11: ARRIVED, 20: ARRIVED, 21: None, 30: None, 31: None, 40: ARRIVED, 41: None}
    assert {k: v if v is None or isinstance(v, dt.datetime) else dt.datetime.fromisoformat(v) for k, v in arrivals.items()} == expected
