"""HSDS import: the specification's examples, round trip of our export, bad rows, dry run, duplicates."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from referralnet import db
from referralnet.clock import FixedClock
from referralnet.directory.institutions import seed_institutions
from referralnet.directory.seed import seed
from referralnet.interop.cli import render_plan
from referralnet.interop.hsds_import import Plan, import_hsds
from referralnet.interop.services import export_hsds
from referralnet.interop.taxonomy import term_id
from referralnet.tables import Organisation, Service, ServiceCounty, ServiceForm, Site
from tests.conftest import PG_URL, REPO, START, _truncate, pg_admin

EXAMPLES = REPO / "tests" / "data" / "hsds-3.0-examples"
ORGS = REPO / "data" / "organisations"
DEMO = REPO / "data" / "demo"


@pytest.fixture(scope="module")
def second_postgres() -> Iterator[str]:
    assert PG_URL
    name = f"rn_test_{uuid.uuid4().hex[:10]}"
    url = db.with_database(PG_URL, name)
    asyncio.run(pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(db.migrate(db.make_engine(url)))
        yield url
    finally:
        asyncio.run(pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def empty_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> str:
    """A second empty database of the same engine as ``database_url``."""
    if database_url.startswith("sqlite"):
        path = tmp_path / "empty.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("second_postgres")
    asyncio.run(_truncate(url))
    return url


def run(url: str, work: Any) -> Any:
    return asyncio.run(db.run_with(url, work))


def clock() -> FixedClock:
    return FixedClock(START)


async def counts() -> tuple[int, int, int]:
    return (await Organisation.count(), await Service.count(), await Site.count())


async def seed_directory() -> None:
    await seed(ORGS, clock())
    await seed_institutions(REPO / "data" / "institutions", clock())  # referring institutions
    lines = {Organisation.referral_phone: "+40 21 000 0001", Organisation.phone_24h: "0800 800 678"}
    await Organisation.update(lines).where(Organisation.slug == "anitp")
    await seed(DEMO, clock())  # confidential shelters with (fictional) street addresses


async def directory(capacity: bool) -> dict[str, Any]:
    """The directory as the export carries it (ids, timestamps and sources aside; a confidential site's address never leaves)."""
    import msgspec

    def decoded(value: Any) -> Any:
        return msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value

    org_cols = ("slug", "name", "short_name", "aliases", "legal_form", "networks", "website", "referral_email", "referral_phone",
                "phone_24h", "kind", "institution_type", "county", "city", "city_inferred", "description", "fictional", "active")  # fmt: skip
    orgs = [{k: decoded(r[k]) if k in ("aliases", "networks") else r[k] for k in org_cols}
            | {"places": [{"county": p["county"], "locality": p.get("locality")} for p in decoded(r["places"])]}
            for r in await Organisation.select().order_by(Organisation.slug)]  # fmt: skip
    svc_cols = ["type", "name", "description", "licence", "area_national", "active"]
    if capacity:
        svc_cols += ["capacity_unit", "capacity_total", "capacity_available", "capacity_updated_at"]
    # HSDS 3.1 requires "available": a capacity with no reported free figure is not exported at all
    services = [{k: r[k] if r["capacity_available"] is not None or not k.startswith("capacity") else None for k in svc_cols} | {"org": r["organisation.slug"], "eligibility": decoded(r["eligibility"]), "area": decoded(r["area_counties"])}
                for r in await Service.select(Service.all_columns(), Service.organisation.slug).order_by(Service.id)]  # fmt: skip
    sites = [(r["service.name"], r["county"], r["locality"], r["confidential"]) + ((None,) * 3 if r["confidential"] else (r["address"], r["lat"], r["lon"]))
             for r in await Site.select(Site.all_columns(), Site.service.name).order_by(Site.id)]  # fmt: skip
    return {"organisations": orgs, "services": sorted(services, key=lambda s: s["org"]), "sites": sites}


async def lookups() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The county and exploitation-form lookup rows of every service, by service name."""
    counties = await ServiceCounty.select(ServiceCounty.service.name, ServiceCounty.county)
    forms = await ServiceForm.select(ServiceForm.service.name, ServiceForm.form)
    return sorted((r["service.name"], r["county"]) for r in counties), sorted((r["service.name"], r["form"]) for r in forms)


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize(("fmt", "version"), [("csv", "3.0"), ("csv", "3.1"), ("json", "3.0"), ("json", "3.1")])
def test_export_import_export_gives_identical_files(database_url: str, empty_url: str, tmp_path: Path, fmt: str, version: str) -> None:
    run(database_url, seed_directory)
    run(database_url, lambda: export_hsds(tmp_path / "first", fmt=fmt, version=version))
    # a folder: datapackage.json and CSVs, or services.json with organizations.json (organisations without services)
    plan: Plan = run(empty_url, lambda: import_hsds(tmp_path / "first", clock()))
    assert plan.applied and not plan.mapped.bad and not plan.mapped.unmapped, render_plan(plan, dry_run=False, merge=False)
    assert {s.action for s in plan.steps} == {"create"}
    run(empty_url, lambda: export_hsds(tmp_path / "second", fmt=fmt, version=version))
    first, second = files(tmp_path / "first"), files(tmp_path / "second")
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name
    assert run(empty_url, counts) == run(database_url, counts)
    # the list filters' lookup rows are written for imported services as for any other
    assert run(empty_url, lookups) == run(database_url, lookups)
    before, after = run(database_url, lambda: directory(version == "3.1")), run(empty_url, lambda: directory(version == "3.1"))
    assert before == after
    # a confidential site stays without an address, and gets no coordinates it did not have
    hidden = run(empty_url, Site.select().where(Site.confidential.eq(True)).run)
    assert hidden and all(s["address"] is None and s["lat"] is None and s["lon"] is None for s in hidden)


@pytest.mark.parametrize("example", ["csv", "service_full.json", "service_list.json", "organization_full.json", "service_at_location_full.json"])
def test_specification_examples_import_and_report_unmapped_terms(database_url: str, example: str) -> None:
    plan: Plan = run(database_url, lambda: import_hsds(EXAMPLES / example, clock()))
    assert not plan.mapped.bad, plan.mapped.bad
    assert plan.applied
    text = render_plan(plan, dry_run=False, merge=False)
    if example != "service_list.json":  # the list's services carry no attributes
        assert "unmapped terms (1)" in text and "code code, name 'name'" in text
    # the organisation is imported; its service has no type of our vocabulary
    assert [s.incoming.data.name for s in plan.steps] == ["Example Organization Inc."]
    assert "'Community Counselling': no service type of the vocabulary; not imported" in text
    orgs = run(database_url, Organisation.select().run)
    assert [(o["name"], o["short_name"], o["website"]) for o in orgs] == [("Example Organization Inc.", "Example Org", "http://example.com")]
    assert run(database_url, counts)[1:] == (0, 0)


@pytest.mark.parametrize(
    ("file", "column", "value", "reason"),
    [
        ("services.csv", "minimum_age", "eighteen", "minimum_age: not a number: 'eighteen'"),
        ("service_at_location.csv", "location_id", "0b9f8a1e-0000-4000-8000-000000000000", "location_id: no location with id"),
        ("locations.csv", "latitude", "51.5", "outside Romania"),
    ],
)
def test_a_broken_row_changes_nothing_and_is_named(
    database_url: str, empty_url: str, tmp_path: Path, file: str, column: str, value: str, reason: str
) -> None:
    import csv
    import io

    run(database_url, seed_directory)
    run(database_url, lambda: export_hsds(tmp_path, fmt="csv", version="3.0"))
    path = tmp_path / file
    rows = list(csv.reader(io.StringIO(path.read_text())))
    # the last row with a value in that column: everything before it would be imported by a careless importer
    index = max(i for i, r in enumerate(rows) if i and r[rows[0].index(column)])
    rows[index][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue())
    plan: Plan = run(empty_url, lambda: import_hsds(tmp_path, clock()))
    assert not plan.applied
    named = [w for w, r in plan.mapped.bad if reason in r]
    assert len(named) == 1 and named[0].startswith(f"{file}:"), plan.mapped.bad
    # the line is the row's first physical line (descriptions may span lines)
    number = int(named[0].split(":")[1])
    assert path.read_text().splitlines()[number - 1].startswith(",".join(rows[index])[:20])
    assert run(empty_url, counts) == (0, 0, 0)
    assert f"{named[0]}: " in render_plan(plan, dry_run=False, merge=False)


def test_every_bad_row_is_named_in_one_reading(database_url: str, empty_url: str, tmp_path: Path) -> None:
    """A repeated id does not hide the package's other bad rows: one reading names them all, and nothing is written."""
    import csv
    import io

    run(database_url, seed_directory)
    run(database_url, lambda: export_hsds(tmp_path, fmt="csv", version="3.0"))
    edits = {}
    for file, change in (("organizations.csv", "repeat"), ("services.csv", "minimum_age")):
        rows = list(csv.reader(io.StringIO((tmp_path / file).read_text())))
        if change == "repeat":
            rows.append(list(rows[1]))  # the first organisation's row again, with its id
        else:
            column = rows[0].index("minimum_age")
            index = max(i for i, r in enumerate(rows) if i and r[column])
            rows[index][column] = "eighteen"
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        (tmp_path / file).write_text(out.getvalue())
        edits[file] = rows
    plan: Plan = run(empty_url, lambda: import_hsds(tmp_path, clock()))
    assert not plan.applied
    reasons = [(where.split(":")[0], reason) for where, reason in plan.mapped.bad]
    assert ("organizations.csv", f"id: {edits['organizations.csv'][1][0]} repeats organizations.csv:2") in reasons, reasons
    assert ("services.csv", "minimum_age: not a number: 'eighteen'") in reasons, reasons
    assert len(reasons) == 2, reasons  # the repeated organisation's services are not reported twice
    assert run(empty_url, counts) == (0, 0, 0)


def test_dry_run_writes_nothing(database_url: str, empty_url: str, tmp_path: Path) -> None:
    run(database_url, seed_directory)
    run(database_url, lambda: export_hsds(tmp_path, fmt="csv", version="3.1"))
    plan: Plan = run(empty_url, lambda: import_hsds(tmp_path, clock(), dry_run=True))
    assert not plan.applied and plan.count("create")[0] == run(database_url, counts)[0]
    assert run(empty_url, counts) == (0, 0, 0)
    assert "plan (dry run, nothing written)" in render_plan(plan, dry_run=True, merge=False)


# ---- likely duplicates -------------------------------------------------------------------------


def compiled(org_name: str, county: str, locality: str, *, extra_terms: list[dict[str, Any]] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """A compiled HSDS service as another system would write it: our type term, the county in the address."""
    ids = iter(str(uuid.uuid4()) for _ in range(20))
    return {
        "id": next(ids), "name": "Adapost pentru victime", "status": "active",
        "organization": {"id": next(ids), "name": org_name, "description": "Another system's record"},
        "attributes": [
            {"id": next(ids), "link_type": "type", "taxonomy_term": {"id": term_id("service_type", "residential_shelter"), "code": "service_type.residential_shelter", "name": "Residential shelter"}},
            *[{"id": next(ids), "link_type": "eligibility", "taxonomy_term": t} for t in extra_terms],
        ],
        "service_at_locations": [{"id": next(ids), "location": {"id": next(ids), "location_type": "physical", "addresses": [
            {"id": next(ids), "address_1": "Strada Lungă 3", "city": locality, "state_province": county, "postal_code": "700000", "country": "RO", "address_type": "physical"}]}}],
    }  # fmt: skip


async def existing_org() -> None:
    now = START
    rows = await Organisation.insert(Organisation(slug="asociatia-pentru-viitor", name="Asociația Pentru Viitor", created_at=now, updated_at=now)).returning(Organisation.id)
    svc = await Service.insert(Service(organisation=rows[0]["id"], type="residential_shelter", name="Adăpost pentru victime", created_at=now, updated_at=now)).returning(Service.id)
    await Site.insert(Site(service=svc[0]["id"], county="RO-IS", locality="Iași"))


def test_diacritics_variant_in_same_county_is_proposed_for_merge_not_in_another(database_url: str, tmp_path: Path) -> None:
    import json

    run(database_url, existing_org)
    female = {"id": str(uuid.uuid4()), "code": "female", "name": "Female", "taxonomy": "their genders"}
    other = {"id": str(uuid.uuid4()), "code": "x-other", "name": "Other", "taxonomy": "their lists"}
    same = compiled("Asociatia pentru Viitor", "Iasi", "Iasi", extra_terms=[female, other])
    same["capacities"] = [{"id": str(uuid.uuid4()), "available": 3, "maximum": 10, "updated": "2026-03-01T08:00:00Z",
                           "unit": {"id": str(uuid.uuid4()), "name": "Beds", "scheme": "referralnet", "identifier": "beds"}}]  # fmt: skip
    (tmp_path / "same.json").write_text(json.dumps([same]))
    (tmp_path / "other.json").write_text(json.dumps([compiled("Asociatia pentru Viitor", "Cluj", "Cluj-Napoca")]))

    plan: Plan = run(database_url, lambda: import_hsds(tmp_path / "same.json", clock()))
    [step] = plan.steps
    assert step.action == "skip" and step.target is not None and step.target["slug"] == "asociatia-pentru-viitor"
    assert "same county (RO-IS)" in step.reason and "--merge" in render_plan(plan, dry_run=False, merge=False)
    assert run(database_url, counts) == (1, 1, 1)  # without --merge nothing was created for it
    assert any("ambiguous" in term for term in plan.mapped.unmapped)  # "Other" fits several lists: reported, not guessed

    plan = run(database_url, lambda: import_hsds(tmp_path / "same.json", clock(), merge=True))
    [step] = plan.steps
    assert step.action == "merge" and [a for a, _, _ in step.services] == ["merge"]
    org = run(database_url, Organisation.select().first().run)
    assert org["description"] == "Another system's record" and "Asociatia pentru Viitor" not in org["aliases"]  # same folded name
    service = run(database_url, Service.select().first().run)
    assert '"genders":["female"]' in service["eligibility"].replace(" ", "")  # mapped by code: unambiguous
    # a unit and total the directory did not know are filled; free places are the NGO's, never imported over
    assert (service["capacity_unit"], service["capacity_total"], service["capacity_available"]) == ("beds", 10, None)
    sites = run(database_url, Site.select().order_by(Site.id).run)
    assert [(s["county"], s["locality"], s["address"]) for s in sites] == [("RO-IS", "Iași", None), ("RO-IS", "Iași", "Strada Lungă 3")]
    assert sites[1]["lat"] is None  # no coordinates given: none guessed

    plan = run(database_url, lambda: import_hsds(tmp_path / "other.json", clock()))
    [step] = plan.steps
    assert step.action == "create" and step.target is None and step.incoming.data.slug == "asociatia-pentru-viitor-2"
    assert run(database_url, counts) == (2, 2, 3)


def test_command_prints_plan_and_holds_duplicates_until_merge(tmp_path: Path) -> None:
    """``referralnet export hsds`` then ``import hsds`` as subprocesses (SQLite): dry run, duplicates held, --merge, bad row."""
    import os
    import subprocess
    import sys

    def referralnet(database: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "REFERRALNET_DATABASE_URL": f"sqlite:///{tmp_path / database}"}
        return subprocess.run([sys.executable, "-m", "referralnet", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)

    assert referralnet("a.sqlite", "seed", "--demo").returncode == 0
    assert referralnet("a.sqlite", "export", "hsds", str(tmp_path / "out")).returncode == 0
    dry = referralnet("b.sqlite", "import", "hsds", str(tmp_path / "out"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "plan (dry run, nothing written)" in dry.stdout and "\n  create " in dry.stdout and "\n    create " in dry.stdout
    done = referralnet("b.sqlite", "import", "hsds", str(tmp_path / "out"))
    assert done.returncode == 0 and "HSDS import of out: imported" in done.stdout
    assert "] 100% done" in done.stderr  # the progress bar
    # the same package again: every organisation is its own likely duplicate (same slug), held without --merge
    again = referralnet("b.sqlite", "import", "hsds", str(tmp_path / "out"))
    assert again.returncode == 0
    assert "organisations: 0 create, 0 merge," in again.stdout and "run again with --merge" in again.stdout
    merged = referralnet("b.sqlite", "import", "hsds", str(tmp_path / "out"), "--merge", "--quiet")
    assert "organisations: 0 create," in merged.stdout and " skip; services: 0 create," in merged.stdout and "merge" in merged.stdout
    assert "%" not in merged.stderr
    (tmp_path / "out" / "organizations.csv").write_text((tmp_path / "out" / "organizations.csv").read_text() + "no-such-id\n")
    bad = referralnet("b.sqlite", "import", "hsds", str(tmp_path / "out"))
    assert bad.returncode == 2 and "bad row(s); nothing imported" in bad.stderr and "organizations.csv:" in bad.stderr and "name: missing" in bad.stderr


def test_every_bad_row_of_json_is_named_by_its_path_and_hsds_field(database_url: str, empty_url: str, tmp_path: Path) -> None:
    import json

    run(database_url, lambda: seed(DEMO, clock()))
    run(database_url, lambda: export_hsds(tmp_path / "json", fmt="json", version="3.0"))
    services = json.loads((tmp_path / "json" / "services.json").read_text())
    i = next(i for i, s in enumerate(services) if any("latitude" in sal["location"] for sal in s["service_at_locations"]))
    services[0]["organization"]["email"] = "not-an-address"
    j = next(j for j, sal in enumerate(services[i]["service_at_locations"]) if "latitude" in sal["location"])
    services[i]["service_at_locations"][j]["location"]["latitude"] = 10.0
    (tmp_path / "bad.json").write_text(json.dumps(services))
    plan: Plan = run(empty_url, lambda: import_hsds(tmp_path / "bad.json", clock()))
    assert not plan.applied and run(empty_url, counts) == (0, 0, 0)
    bad = dict(plan.mapped.bad)
    assert bad["bad.json $[0].organization"] == "email: expected an e-mail address such as name@example.org"
    assert "is outside Romania" in bad[f"bad.json $[{i}].service_at_locations[{j}].location"]


@pytest.mark.parametrize("merge", [False, True])
def test_a_variant_earlier_in_the_same_input_is_held_or_merged(database_url: str, tmp_path: Path, merge: bool) -> None:
    import json

    first, second = compiled("Asociația Noua Speranță", "Iași", "Iași"), compiled("Asociatia Noua Speranta", "Iasi", "Pascani")
    second["name"] = "Consiliere pentru victime"
    second["attributes"][0]["taxonomy_term"] = {"id": term_id("service_type", "psychological_counselling"), "code": "service_type.psychological_counselling"}
    (tmp_path / "both.json").write_text(json.dumps([first, second]))
    plan: Plan = run(database_url, lambda: import_hsds(tmp_path / "both.json", clock(), merge=merge))
    assert [s.action for s in plan.steps] == ["create", "merge" if merge else "skip"]
    assert "earlier in this input" in plan.steps[1].reason
    services = run(database_url, Service.select(Service.name, Service.organisation.slug).order_by(Service.id).run)
    assert run(database_url, Organisation.count().run) == 1
    assert [s["name"] for s in services] == (["Adapost pentru victime", "Consiliere pentru victime"] if merge else ["Adapost pentru victime"])
    if merge:
        places = run(database_url, Site.select(Site.locality).order_by(Site.id).run)
        assert [p["locality"] for p in places] == ["Iași", "Pașcani"]


def test_same_name_without_any_county_is_held_as_a_likely_duplicate(database_url: str) -> None:
    run(database_url, lambda: import_hsds(EXAMPLES / "csv", clock()))
    plan: Plan = run(database_url, lambda: import_hsds(EXAMPLES / "service_full.json", clock()))
    [step] = plan.steps
    assert step.action == "skip" and "the same name as 'Example Organization Inc.', county not stated" in step.reason
    assert run(database_url, Organisation.count().run) == 1
