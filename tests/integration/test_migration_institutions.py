"""The migration that gives referrals to institutions, run on a copy of a database holding referrals in
every state (both engines): each referral stays visible to exactly the tokens that saw it before."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from referralnet import db
from referralnet.accounts.schemas import Actor
from referralnet.referrals.services import list_referrals
from tests.conftest import ENGINES
from tests.integration.migration_copies import copy_before

FIRST = "2026-12-05T05:00:00:000000"
STATES = ("open", "placed", "arrived", "closed", "unplaced", "cancelled")
SEQUENCES = {"organisation_id_seq": 10, "api_token_id_seq": 10, "referral_id_seq": 100}  # explicit ids were inserted
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.timezone.utc)




# Rows at the schema before the migration: three institution tokens made without an institution
# (A, B, and C who never referred), an ngo and an admin token; referrals of A and B in every state and one by the admin.
TOKENS = [(1, "officer A", "institution"), (2, "officer B", "institution"), (3, "officer C", "institution"), (4, "coordinator", "ngo"), (5, "root", "admin")]


def _rows() -> list[tuple[str, tuple[Any, ...]]]:
    out: list[tuple[str, tuple[Any, ...]]] = [
        ("INSERT INTO organisation (id, slug, name, aliases, networks, places, sources, fictional, active, created_at, updated_at) "
         "VALUES (?, ?, ?, '[]', '[]', '[]', '[]', ?, ?, ?, ?)", (1, "casa", "Asociația Casa", False, True, NOW, NOW)),
    ]  # fmt: skip
    for token_id, name, role in TOKENS:
        out.append((
            "INSERT INTO api_token (id, name, role, organisation, token_hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (token_id, name, role, 1 if role == "ngo" else None, f"{token_id:064d}", "rn_x", NOW),
        ))  # fmt: skip
    rid = 0
    for creator in (1, 2):
        for state in STATES:
            rid += 1
            out.append(_referral(rid, creator, state))
    out.append(_referral(rid + 1, 5, "open"))
    return out


def _referral(rid: int, creator: int, state: str) -> tuple[str, tuple[Any, ...]]:
    label = f"{dict((t, r) for t, _, r in TOKENS)[creator]}:{dict((t, n) for t, n, _ in TOKENS)[creator]}"
    return (
        "INSERT INTO referral (id, created_by, created_by_label, profile, summary, county, urgency, mode, status, consent_at, "
        "queue, created_at, updated_at) VALUES (?, ?, ?, '{}', ?, 'RO-IS', 'urgent', 'parallel', ?, ?, '[]', ?, ?)",
        (rid, creator, label, f"referral {rid}", state, NOW, NOW, NOW),
    )


@pytest.fixture(params=ENGINES)
def copied_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database at the schema before the migration, with referrals in every state; yields the URL of a copy."""
    with copy_before(request.param, tmp_path, FIRST, _rows(), SEQUENCES) as url:
        yield url


async def _after(url: str) -> dict[str, Any]:
    from referralnet.tables import ApiToken, Organisation, Referral

    engine = db.make_engine(url)
    await db.migrate(engine)
    await db.start(engine, pool_min=1, pool_max=2)
    try:
        tokens = {r["id"]: r for r in await ApiToken.select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.organisation)}
        orgs = {r["id"]: r for r in await Organisation.select()}
        referrals = {r["id"]: r for r in await Referral.select(Referral.id, Referral.status, Referral.created_by, Referral.institution)}
        visible = {}
        for token_id, name, role in TOKENS:
            if role == "institution":
                actor = Actor(token_id=token_id, name=name, role="institution", organisation_id=tokens[token_id]["organisation"])
                listed = await list_referrals(actor, NOW, status=None, limit=500, offset=0)
                visible[token_id] = {r.id for r in listed.items}
        return {"tokens": tokens, "orgs": orgs, "referrals": referrals, "visible": visible}
    finally:
        await db.stop(engine)


def test_existing_referrals_stay_visible_to_exactly_the_tokens_that_saw_them(copied_database: str) -> None:
    state = asyncio.run(_after(copied_database))
    tokens, orgs, referrals = state["tokens"], state["orgs"], state["referrals"]
    # Nothing lost: every referral keeps its state and creator.
    assert sorted(r["status"] for r in referrals.values() if r["created_by"] in (1, 2)) == sorted(STATES * 2)
    assert len(referrals) == 13
    # Each unbound institution token got a placeholder institution of its own, named as such.
    placeholders = {tokens[t]["organisation"] for t in (1, 2, 3)}
    assert len(placeholders) == 3 and None not in placeholders
    for token_id in (1, 2, 3):
        org = orgs[tokens[token_id]["organisation"]]
        assert org["kind"] == "institution" and org["institution_type"] == "other"
        assert org["name"].startswith("Placeholder institution of token") and tokens[token_id]["name"] in org["name"]
    assert tokens[4]["organisation"] == 1 and tokens[5]["organisation"] is None  # ngo and admin tokens unchanged
    # Each token sees exactly the referrals it created before; the admin's referral has no institution.
    assert state["visible"] == {1: set(range(1, 7)), 2: set(range(7, 13)), 3: set()}
    assert referrals[13]["institution"] is None
    assert orgs[1]["kind"] == "provider"


def test_the_migration_runs_once(copied_database: str) -> None:
    asyncio.run(_after(copied_database))
    again = asyncio.run(_after(copied_database))
    assert len([o for o in again["orgs"].values() if o["slug"].startswith("placeholder-token-")]) == 3
