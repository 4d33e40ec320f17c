"""HSDS export of the seeded directory: valid against the specification, confidential sites withheld."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from referralnet.clock import FixedClock
from referralnet.directory.seed import seed
from referralnet.interop.services import export_hsds
from referralnet.tables import Site
from tests.conftest import REPO, in_app
from tests.hsds_validation import errors, validate_package
from tests.integration.helpers import make_org, make_service, shelter

ORGS = REPO / "data" / "organisations"
DEMO = REPO / "data" / "demo"


SECRET_SITE = {"county": "RO-IS", "locality": "Iași", "address": "Strada Secretă 1", "lat": 47.123456, "lon": 27.654321, "confidential": True}


@pytest.fixture
async def seeded(client: Any, clock: FixedClock, admin: dict[str, str]) -> Any:
    in_app(client, seed, ORGS, clock)
    in_app(client, seed, DEMO, clock)  # the demo set has confidential shelters with (fictional) addresses
    org = await make_org(client, admin, "Asociația Test Confidențial")
    await make_service(client, admin, org["id"], shelter(sites=[SECRET_SITE]))  # exact coordinates of its own
    return client


def _export(client: Any, folder: Path, fmt: str = "csv", version: str = "3.0") -> list[Path]:
    paths, _ = in_app(client, export_hsds, folder, fmt=fmt, version=version)
    return paths


def test_data_package_validates_against_hsds_30(seeded: Any, tmp_path: Path) -> None:
    _export(seeded, tmp_path)
    counts = validate_package(tmp_path)
    assert counts["organization"] == len(list(ORGS.glob("*.toml"))) + len(list(DEMO.glob("*.toml"))) + 1
    assert counts["service"] > 0 and counts["attribute"] > counts["service"]
    assert counts["taxonomy"] >= 10 and counts["taxonomy_term"] > 300
    # every service carries its type as an attribute pointing at a published term
    with (tmp_path / "attributes.csv").open() as f:
        text = f.read()
    assert text.count(",service_type,service,") == counts["service"]


def test_31_package_adds_capacity_and_units(seeded: Any, tmp_path: Path) -> None:
    _export(seeded, tmp_path, version="3.1")
    counts = validate_package(tmp_path, "3.1")
    assert counts["unit"] == 4 and counts["service_capacity"] > 0


def test_compiled_json_validates(seeded: Any, tmp_path: Path) -> None:
    _export(seeded, tmp_path, fmt="json")
    services = json.loads((tmp_path / "services.json").read_text())
    organizations = json.loads((tmp_path / "organizations.json").read_text())
    assert services and organizations
    for service in services:
        assert not errors("compiled_service", service), errors("compiled_service", service)[:5]
        assert service["organization"]["id"] == service["organization_id"]
    for org in organizations:
        assert not errors("organization", org)
    for term in json.loads((tmp_path / "taxonomy_terms.json").read_text()):
        assert not errors("taxonomy_term", term)
    shelter = next(s for s in services if any(a["link_type"] == "service_type" and a["taxonomy_term"]["code"] == "service_type.residential_shelter" for a in s["attributes"]))
    assert shelter["service_at_locations"] and shelter["service_areas"]


def test_compiled_json_31_validates_with_capacities(seeded: Any, tmp_path: Path) -> None:
    _export(seeded, tmp_path, fmt="json", version="3.1")
    services = json.loads((tmp_path / "services.json").read_text())
    with_capacity = [s for s in services if s.get("capacities")]
    assert with_capacity
    for service in services:
        assert not errors("service", service, "3.1"), errors("service", service, "3.1")[:5]
    assert all(c["unit"]["scheme"] == "referralnet" for s in with_capacity for c in s["capacities"])


def test_confidential_site_address_and_coordinates_appear_nowhere(seeded: Any, tmp_path: Path) -> None:
    sites = in_app(seeded, Site.select().where(Site.confidential.eq(True)).run)
    assert sites and all(s["address"] for s in sites)
    for fmt, version in (("csv", "3.0"), ("csv", "3.1"), ("json", "3.0"), ("json", "3.1")):
        folder = tmp_path / f"{fmt}-{version}"
        paths = _export(seeded, folder, fmt=fmt, version=version)
        blob = "\n".join(p.read_text() for p in paths)
        for site in sites:
            assert site["address"] not in blob
        assert "47.1234" not in blob and "27.6543" not in blob  # the exact coordinates of SECRET_SITE
        assert "Confidential site: only its county and locality are published" in blob
    # no confidential location carries coordinates, not even its locality's
    import csv

    with (tmp_path / "csv-3.0" / "locations.csv").open() as f:
        hidden = [r for r in csv.DictReader(f) if r["description"].startswith("Confidential site")]
    assert len(hidden) == len(sites) and all(r["latitude"] == r["longitude"] == "" for r in hidden)
    open_sites = in_app(seeded, Site.select().where(Site.confidential.eq(False), Site.address.is_not_null()).run)
    assert open_sites and open_sites[0]["address"] in (tmp_path / "csv-3.0" / "addresses.csv").read_text()


def test_two_exports_are_identical(seeded: Any, tmp_path: Path) -> None:
    first = {p.name: p.read_bytes() for p in _export(seeded, tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in _export(seeded, tmp_path / "b")}
    assert first == second


def test_institutions_export_with_their_type_county_and_phones(seeded: Any, clock: FixedClock, tmp_path: Path) -> None:
    from referralnet.directory.institutions import seed_institutions
    from referralnet.tables import Organisation

    in_app(seeded, seed_institutions, REPO / "data" / "institutions", clock)
    lines = {Organisation.referral_phone: "+40 21 000 0001", Organisation.phone_24h: "0800 800 678"}
    in_app(seeded, Organisation.update(lines).where(Organisation.slug == "anitp").run)
    rows = in_app(seeded, Organisation.select().where(Organisation.kind == "institution").run)
    phones = sum(bool(r["referral_phone"]) + bool(r["phone_24h"]) for r in rows)
    assert rows and phones
    _export(seeded, tmp_path / "csv")
    counts = validate_package(tmp_path / "csv")
    assert counts["phone"] == phones
    attributes = (tmp_path / "csv" / "attributes.csv").read_text()
    assert attributes.count(",institution_type,organization,") == len(rows)
    _export(seeded, tmp_path / "json", fmt="json")
    organizations = json.loads((tmp_path / "json" / "organizations.json").read_text())
    assert sum(len(o["phones"]) for o in organizations) == phones
    for org in organizations:
        assert not errors("organization", org), errors("organization", org)[:5]
