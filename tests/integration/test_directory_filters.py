"""The services list's filters, page and total equal a plain Python reference on random directories.

Each example builds a fresh directory (services with areas, sites, stated or unknown forms,
capacity, inactive services and organisations, some later changed), then lists it as an admin, as
the NGO of one organisation and as an institution, with random filters and pages. Shrinking is
off: each example starts an app on a fresh database, and shrinking took minutes on a busy machine.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from litestar.testing import TestClient

from referralnet.accounts.schemas import SYSTEM
from referralnet.accounts.services import create_token
from referralnet.app import create_app
from referralnet.clock import FixedClock
from referralnet.directory import services
from referralnet.directory.schemas import (
    CapacityIn,
    Eligibility,
    OrganisationCreate,
    OrganisationUpdate,
    ServiceArea,
    ServiceCreate,
    ServiceUpdate,
    SiteIn,
)  # fmt: skip
from referralnet.settings import Settings
from tests.conftest import ENGINES, REPO, START, _truncate

COUNTIES = ["RO-IS", "RO-B", "RO-CJ"]
FORMS = ["sexual", "labour", "begging"]
TYPES = ["residential_shelter", "medical_care"]

area = st.fixed_dictionaries({
    "national": st.booleans(),
    "area": st.lists(st.sampled_from(COUNTIES), max_size=2, unique=True),
    "sites": st.lists(st.sampled_from(COUNTIES), max_size=2),
    "forms": st.none() | st.lists(st.sampled_from(FORMS), max_size=2, unique=True),
})  # fmt: skip
service = st.fixed_dictionaries({
    "org": st.integers(0, 2), "type": st.sampled_from(TYPES), "first": area, "later": st.none() | area,
    "available": st.none() | st.integers(0, 2), "active": st.booleans(),
})  # fmt: skip
query = st.fixed_dictionaries({
    "role": st.sampled_from(["admin", "ngo", "institution"]),
    "type": st.none() | st.sampled_from(TYPES),
    "county": st.none() | st.sampled_from(COUNTIES),
    "exploitation_form": st.none() | st.sampled_from(FORMS),
    "has_capacity": st.none() | st.booleans(),
    "organisation": st.none() | st.integers(0, 2),
    "limit": st.integers(1, 4),
    "offset": st.integers(0, 5),
})  # fmt: skip


def _create(kind: dict[str, Any], s: dict[str, Any]) -> ServiceCreate:
    return ServiceCreate(
        type=s["type"], name=f"service {uuid.uuid4().hex[:6]}",
        eligibility=Eligibility(exploitation_forms=kind["forms"]),
        service_area=ServiceArea(counties=kind["area"], national=kind["national"]),
        sites=[SiteIn(county=c) for c in kind["sites"]],
        capacity=None if s["available"] is None else CapacityIn(unit="places", total=5, available=s["available"]),
        active=s["active"],
    )  # fmt: skip


def _reference(built: list[dict[str, Any]], orgs_active: list[bool], q: dict[str, Any], changed: bool) -> list[int]:
    out = []
    for s in built:  # in id order
        kind = (s["later"] if changed else None) or s["first"]
        visible = (s["active"] and orgs_active[s["org"]]) or q["role"] == "admin" or (q["role"] == "ngo" and s["org"] == 0)
        county = q["county"] is None or kind["national"] or q["county"] in kind["area"] or q["county"] in kind["sites"]
        form = q["exploitation_form"] is None or kind["forms"] is None or q["exploitation_form"] in kind["forms"]
        cap = {None: True, True: (s["available"] or 0) > 0, False: not s["available"]}[q["has_capacity"]]
        if visible and county and form and cap and q["type"] in (None, s["type"]) and q["organisation"] in (None, s["org"]):
            out.append(s["id"])
    return out


@pytest.fixture(params=ENGINES)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """A function giving an empty, migrated database of the engine for each example."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")

        def sqlite() -> str:
            path = tmp_path / f"{uuid.uuid4().hex}.sqlite"
            shutil.copy(template, path)
            return f"sqlite:///{path}"

        return sqlite
    url = request.getfixturevalue("postgres_url")

    def postgres() -> str:
        asyncio.run(_truncate(url))
        return url

    return postgres


@hsettings(max_examples=25, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate], suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Later pages of a county with services under both of its keys (the county's own rows and the national ones), one
# service under both: shown once, in its place. Random directories of at most 7 services seldom page that far.
@example(
    orgs_active=[True, True, True],
    built=[
        {"org": 0, "type": "residential_shelter", "available": None, "active": True, "later": None,
         "first": {"national": k in (1, 5), "area": ["RO-IS"] if k != 5 else [], "sites": [], "forms": None}}
        for k in range(7)
    ],
    queries=[
        {"role": role, "type": None, "county": "RO-IS", "exploitation_form": None, "has_capacity": None,
         "organisation": None, "limit": limit, "offset": offset}
        for role, limit, offset in (("admin", 2, 2), ("institution", 3, 3), ("ngo", 4, 1), ("admin", 1, 5))
    ],
)  # fmt: skip
@given(
    orgs_active=st.lists(st.booleans(), min_size=3, max_size=3),
    built=st.lists(service, max_size=7),
    queries=st.lists(query, min_size=1, max_size=8),
)
def test_list_filters_page_and_total_equal_a_python_reference(
    fresh_url: Any, orgs_active: list[bool], built: list[dict[str, Any]], queries: list[dict[str, Any]]
) -> None:
    settings = Settings(database_url=fresh_url(), data_dir=str(REPO / "data"), scheduler=False)
    clock = FixedClock(START)
    with TestClient(app=create_app(settings, clock=clock)) as client:
        call = client.blocking_portal.call

        def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
            async def go() -> Any:
                return await fn(*args, **kwargs)

            return call(go)

        orgs = [run(services.create_organisation, OrganisationCreate(name=f"Org {i} {uuid.uuid4().hex[:6]}"), SYSTEM, clock).id for i in range(3)]
        inst = run(services.create_organisation, OrganisationCreate(
            name=f"IPJ {uuid.uuid4().hex[:6]}", kind="institution", institution_type="police"), SYSTEM, clock).id  # fmt: skip
        for s in built:
            s["id"] = run(services.create_service, orgs[s["org"]], _create(s["first"], s), SYSTEM, clock).id
        headers = {
            role: {"Authorization": f"Bearer {run(create_token, role=role, name=role, organisation=org)[0]}"}
            for role, org in (("admin", None), ("ngo", orgs[0]), ("institution", inst))
        }
        check(client, headers, orgs, built, [True] * 3, queries, changed=False)
        for s in built:
            if s["later"] is not None:
                later = s["later"]
                patch = ServiceUpdate(
                    eligibility=Eligibility(exploitation_forms=later["forms"]),
                    service_area=ServiceArea(counties=later["area"], national=later["national"]),
                    sites=[SiteIn(county=c) for c in later["sites"]],
                )
                run(services.update_service, s["id"], patch, SYSTEM, clock)
        for org, active in zip(orgs, orgs_active):
            if not active:
                run(services.update_organisation, org, OrganisationUpdate(active=False), SYSTEM, clock, settings)
        check(client, headers, orgs, built, orgs_active, queries, changed=True)


def check(
    client: Any, headers: dict[str, Any], orgs: list[int], built: list[dict[str, Any]], orgs_active: list[bool],
    queries: list[dict[str, Any]], *, changed: bool,
) -> None:
    """Each query's page and total equal the reference (asked again after changes: nothing cached goes stale)."""
    for q in queries:
        params = {k: v for k, v in q.items() if k not in ("role", "organisation") and v is not None}
        if "has_capacity" in params:
            params["has_capacity"] = str(params["has_capacity"]).lower()
        if q["organisation"] is not None:
            params["organisation_id"] = orgs[q["organisation"]]
        resp = client.get("/api/v1/services", params=params, headers=headers[q["role"]])
        if q["role"] == "ngo" and not orgs_active[0]:
            assert resp.status_code == 401  # a deactivated organisation's token
            continue
        assert resp.status_code == 200, resp.text
        expected = _reference(built, orgs_active, q, changed)
        body = resp.json()
        assert body["total"] == len(expected), (q, body["total"], expected)
        assert [i["id"] for i in body["items"]] == expected[q["offset"] : q["offset"] + q["limit"]], q


async def test_organisation_search_sees_a_renamed_organisation_at_once(client: Any, admin: dict[str, str]) -> None:
    org = (await client.post("/api/v1/organisations", json={"name": "Fundația Speranța Nordului"}, headers=admin)).json()
    found = (await client.get("/api/v1/organisations", params={"q": "speranta nordului"}, headers=admin)).json()
    assert [o["id"] for o in found["items"]] == [org["id"]] and found["total"] == 1
    renamed = await client.patch(f"/api/v1/organisations/{org['id']}", json={"name": "Asociația Lumina Sudului"}, headers=admin)
    assert renamed.status_code == 200
    assert (await client.get("/api/v1/organisations", params={"q": "speranta nordului"}, headers=admin)).json()["total"] == 0
    again = (await client.get("/api/v1/organisations", params={"q": "lumina sudului"}, headers=admin)).json()
    assert [o["id"] for o in again["items"]] == [org["id"]]
