"""The migration to needs placed on their own, run on a copy of a database holding referrals in every state
(both engines): each referral becomes a single-need referral with nothing lost."""

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

FIRST = "2026-12-06T05:06:21:000000"
SEQUENCES = {"referral_id_seq": 100, "offer_id_seq": 100}  # explicit ids were inserted
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)
PROFILE = {"age_band": "25-39", "gender": "female", "nationality_group": "romanian", "location": {"county": "RO-IS"},
           "needs": [{"service_type": "residential_shelter", "priority": "required"},
                     {"service_type": "psychological_counselling", "priority": "desired"}]}  # fmt: skip
# referral id -> (status, placed, offers as (service, status, reserved), cascade queue)
REFERRALS: dict[int, tuple[str, bool, list[tuple[int, str, bool]], list[int]]] = {
    1: ("open", False, [(1, "pending", False)], [2]),
    2: ("placed", True, [(1, "withdrawn", False), (2, "accepted", True)], []),
    3: ("arrived", True, [(2, "accepted", True)], []),
    4: ("closed", True, [(1, "accepted", False)], []),
    5: ("closed", False, [(1, "declined", False)], []),
    6: ("unplaced", False, [(1, "declined", False), (2, "expired", False)], []),
    7: ("cancelled", False, [(1, "withdrawn", False)], [2]),
    8: ("cancelled", True, [(2, "accepted", False)], []),
    9: ("open", False, [(3, "pending", False)], []),  # a counselling offer: the need takes the offered type
    10: ("open", False, [], []),  # no offer: the profile's first need
}




def _rows() -> list[tuple[str, tuple[Any, ...]]]:
    out: list[tuple[str, tuple[Any, ...]]] = [
        ("INSERT INTO organisation (id, slug, name, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", (1, "casa", "Asociația Casa", NOW, NOW)),
        ("INSERT INTO organisation (id, slug, name, kind, created_at, updated_at) VALUES (?, ?, ?, 'institution', ?, ?)", (2, "ipj", "IPJ Iași", NOW, NOW)),
        ("INSERT INTO api_token (id, name, role, organisation, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
         (1, "officer", "institution", 2, "0" * 64, "rn_x", NOW)),
    ]  # fmt: skip
    for sid, kind in ((1, "residential_shelter"), (2, "residential_shelter"), (3, "psychological_counselling")):
        out.append(("INSERT INTO service (id, organisation, type, name, created_at, updated_at) VALUES (?, 1, ?, ?, ?, ?)",
                    (sid, kind, f"service {sid}", NOW, NOW)))  # fmt: skip
    oid = 0
    for rid, (status, placed, offers, queue) in REFERRALS.items():
        placed_offer = oid + 1 + [s for _, s, _ in offers].index("accepted") if placed else None
        out.append((
            "INSERT INTO referral (id, created_by, created_by_label, institution, profile, summary, county, urgency, mode, status, "
            "consent_at, queue, placed_offer, placed_at, created_at, updated_at) "
            "VALUES (?, 1, 'institution:officer', 2, ?, ?, 'RO-IS', 'urgent', 'cascade', ?, ?, ?, ?, ?, ?, ?)",
            (rid, json.dumps(PROFILE), f"referral {rid}", status, NOW, json.dumps(queue), placed_offer, NOW if placed else None, NOW, NOW),
        ))  # fmt: skip
        for position, (sid, ostatus, reserved) in enumerate(offers):
            oid += 1
            out.append((
                "INSERT INTO offer (id, referral, service, organisation, position, status, sent_at, deadline, reserved) "
                "VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)",
                (oid, rid, sid, position, ostatus, NOW, NOW + dt.timedelta(days=1), reserved),
            ))  # fmt: skip
    return out


@pytest.fixture(params=ENGINES)
def copied_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at the schema before the migration, with referrals in every state; yields the URL of a copy."""
    with copy_before(request.param, tmp_path, FIRST, _rows(), SEQUENCES) as url:
        yield url


async def _after(url: str) -> dict[int, Any]:
    from referralnet.referrals.records import referral_out, referral_row

    engine = db.make_engine(url)
    await db.migrate(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    try:
        return {rid: await referral_out(await referral_row(rid)) for rid in REFERRALS}  # type: ignore[arg-type]
    finally:
        await db.stop(engine)


NEED_STATE = {1: "open", 2: "placed", 3: "placed", 4: "placed", 5: "unplaced", 6: "unplaced", 7: "cancelled", 8: "placed", 9: "open", 10: "open"}


def test_existing_referrals_become_single_need_referrals_with_nothing_lost(copied_database: str) -> None:
    views = asyncio.run(_after(copied_database))
    oid = 0
    for rid, (status, placed, offers, queue) in REFERRALS.items():
        view = views[rid]
        assert view.status == status and (view.placed_at is not None) == placed
        [need] = view.needs
        assert need.status == NEED_STATE[rid] and need.priority == "required"
        assert need.service_type == ("psychological_counselling" if rid == 9 else "residential_shelter")
        # Every offer kept, in order, with its state, and bound to the one need.
        assert [(o.service_id, o.status, o.reserved) for o in view.offers] == offers
        assert [o.id for o in need.offers] == [o.id for o in view.offers] == list(range(oid + 1, oid + 1 + len(offers)))
        assert all(o.need_id == need.id for o in view.offers)
        oid += len(offers)
        # The cascade's queue moved to the need; the placed offer is the need's and still the referral's.
        assert need.queued_service_ids == queue and view.queued_service_ids == queue
        assert need.placed_offer_id == view.placed_offer_id
        if placed:
            assert need.placed_offer_id is not None and need.placed_at is not None


def test_the_migration_runs_once(copied_database: str) -> None:
    first = asyncio.run(_after(copied_database))
    again = asyncio.run(_after(copied_database))
    assert {rid: [n.id for n in v.needs] for rid, v in again.items()} == {rid: [n.id for n in v.needs] for rid, v in first.items()}
