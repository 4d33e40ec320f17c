"""The data files: ``data/organisations/`` (real NGOs, stated facts only) and ``data/demo/`` (fictional).

Each file is one ``OrganisationFile``. The repo tests on its own: nothing outside it is read here.
"""

from __future__ import annotations

import tomllib
from itertools import combinations
from pathlib import Path

import msgspec
import msgspec.toml
import pytest
from rapidfuzz import fuzz

from referralnet.directory.schemas import OrganisationFile
from referralnet.directory.seed import DUPLICATE_THRESHOLD, read_files
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import SERVICE_GROUPS, SERVICE_TYPES

ROOT = Path(__file__).resolve().parents[2]
REAL_DIR = ROOT / "data" / "organisations"
DEMO_DIR = ROOT / "data" / "demo"
REAL_FILES = sorted(REAL_DIR.glob("*.toml"))
DEMO_FILES = sorted(DEMO_DIR.glob("*.toml"))
ALL_FILES = REAL_FILES + DEMO_FILES

# Distinct organisations (org_id ORG01..ORG36) in the reference table organisations-from-seeds.csv
# (shared reference data, directory/ section of SOURCES.md): 21 ProTECT profiles (seed 002), 14 more
# from the 2020 NGO network list (seed 004; 2 of its 16 entries are also ProTECT members) and 1 ANITP
# campaign partner (seed 003). Hard-coded so the repo tests on its own; update it with the table.
SEED_ORGANISATIONS = 36


def _decode(path: Path) -> OrganisationFile:
    return msgspec.toml.decode(path.read_bytes(), type=OrganisationFile)


@pytest.fixture(scope="module")
def real() -> list[OrganisationFile]:
    return [_decode(p) for p in REAL_FILES]


@pytest.fixture(scope="module")
def demo() -> list[OrganisationFile]:
    return [_decode(p) for p in DEMO_FILES]


# ---- every file ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_file_decodes_as_organisation_file(path: Path):
    org = _decode(path)
    assert org.slug == path.stem
    # the same result through the standard library, so the files are plain TOML 1.0
    assert msgspec.convert(tomllib.loads(path.read_text(encoding="utf-8")), type=OrganisationFile) == org


def test_folders_are_not_empty():
    assert REAL_FILES and DEMO_FILES


def test_seed_loader_accepts_both_folders():
    # read_files adds the domain checks (age ranges, capacity within total, localities of sites)
    assert len(read_files(REAL_DIR)) == len(REAL_FILES)
    assert len(read_files(DEMO_DIR)) == len(DEMO_FILES)


def test_slugs_are_unique_across_folders():
    stems = [p.stem for p in ALL_FILES]
    assert len(stems) == len(set(stems))


def test_no_two_names_are_near_duplicates(real, demo):
    # the seeder skips an organisation whose name nearly equals another one's
    for a, b in combinations(real + demo, 2):
        score = fuzz.token_sort_ratio(geo.fold(a.name), geo.fold(b.name))
        assert score < DUPLICATE_THRESHOLD, (a.slug, b.slug, score)


def test_places_and_sites_are_real_localities(real, demo):
    for org in real + demo:
        points = [(p.county, p.locality) for p in org.places]
        points += [(s.county, s.locality) for svc in org.services for s in svc.sites]
        for county, locality in points:
            if locality is not None:
                assert geo.find_locality(county, locality) is not None, (org.slug, county, locality)


# ---- real organisations ----------------------------------------------------------------------------


def test_one_file_per_seed_organisation(real):
    assert len(REAL_FILES) == SEED_ORGANISATIONS
    assert len({o.name for o in real}) == SEED_ORGANISATIONS


def test_real_organisations_are_not_fictional(real):
    for org in real:
        assert org.fictional is False, org.slug
        assert not org.slug.startswith("demo-"), org.slug
        assert "fictional" not in org.name.lower(), org.slug


def test_real_organisations_have_no_available_capacity(real):
    # free places are live figures only an NGO can give; the sources never state them
    for org in real:
        for svc in org.services:
            assert svc.capacity is None or svc.capacity.available is None, (org.slug, svc.name)


def test_only_stated_capacity(real):
    # The seeds state one capacity figure: Missio Link's 24 girls and 6 young mothers.
    with_capacity = {(o.slug, s.type, s.capacity.total) for o in real for s in o.services if s.capacity is not None}
    assert with_capacity == {("missio-link", "child_residential", 24), ("missio-link", "residential_shelter", 6)}


def test_real_organisations_have_no_contact_or_address(real):
    # no referral e-mail and no street address is stated for any organisation
    for org in real:
        assert org.referral_email is None, org.slug
        for svc in org.services:
            assert all(site.address is None for site in svc.sites), (org.slug, svc.name)


def test_real_facts_have_sources(real):
    for org in real:
        assert org.sources, org.slug
        assert all(s.quote or s.url for s in org.sources), org.slug
        assert all(p.source for p in org.places), org.slug
        for svc in org.services:
            # at least one quoted sentence supports each service; other sources give a URL
            assert any(s.quote for s in svc.sources), (org.slug, svc.name)
            assert all(s.quote or s.url for s in svc.sources), (org.slug, svc.name)


def test_networks(real):
    by_network = {n: {o.slug for o in real if n in o.networks} for n in ("protect", "ngo15")}
    # seed 002 profiles 21 organisations; seed 004 lists 16 entries (for "15 NGOs")
    assert len(by_network["protect"]) == 21
    assert len(by_network["ngo15"]) == 16
    assert by_network["protect"] & by_network["ngo15"] == {"micu-bogdan", "liberated"}


@pytest.mark.parametrize(
    "query",
    ["Asociația Femeilor Românce din Italia", "Asociația eLiberare", "Asociatia AIDRom", "Dorcas Aid Romani",
     "Fundatia Missio Link International", "Generație Tânăra", "Armata Salvării"],
)
def test_seed_spellings_are_name_or_alias(real, query):
    assert any(query == o.name or query in o.aliases or query == o.short_name for o in real)


# ---- demo organisations ----------------------------------------------------------------------------


def test_demo_organisations_are_fictional(demo):
    assert 8 <= len(demo) <= 12
    for org in demo:
        assert org.fictional is True, org.slug
        assert org.slug.startswith("demo-"), org.slug
        assert org.name.startswith("Demo — ") and org.name.endswith("(fictional)"), org.slug
        assert org.description and org.description.startswith("Fictional demo organisation."), org.slug
        if org.referral_email is not None:
            assert org.referral_email.endswith(".example"), org.slug
        if org.website is not None:
            assert ".example" in org.website, org.slug


def test_demo_covers_every_service_type_and_group(demo):
    types = {svc.type for org in demo for svc in org.services}
    assert types == set(SERVICE_TYPES)
    assert {SERVICE_TYPES[t][0] for t in types} == set(SERVICE_GROUPS)


def test_demo_is_varied_enough_to_try_matching(demo):
    services = [svc for org in demo for svc in org.services]
    site_counties = {site.county for svc in services for site in svc.sites}
    assert len(site_counties) >= 15
    assert any(svc.service_area.national for svc in services)
    # capacity: some with free places, some full, some unknown
    assert any(svc.capacity and svc.capacity.available for svc in services)
    assert any(svc.capacity and svc.capacity.available == 0 for svc in services)
    assert any(svc.capacity is None for svc in services)
    # eligibility
    genders = [svc.eligibility.genders for svc in services if svc.eligibility.genders]
    assert ["female"] in genders and ["male"] in genders
    assert any(svc.type == "child_residential" and svc.eligibility.age_min == 14 and svc.eligibility.age_max == 17 for svc in services)
    assert any(svc.eligibility.interpretation_available for svc in services)
    assert any("wheelchair" in (svc.eligibility.accessibility or []) for svc in services)
    assert any(svc.eligibility.accepts_children for svc in services)
    # every accommodation site is confidential
    for svc in services:
        if SERVICE_TYPES[svc.type][0] == "accommodation":
            assert svc.sites and all(site.confidential for site in svc.sites), svc.name


# ---- unknown keys ----------------------------------------------------------------------------------


def test_misspelt_top_level_key_is_rejected_with_its_name():
    doc = b'slug = "x"\nname = "X"\n\n[[servces]]\ntype = "day_centre"\nname = "Day centre"\n'
    with pytest.raises(msgspec.ValidationError) as exc:
        msgspec.toml.decode(doc, type=OrganisationFile)
    assert "Object contains unknown field `servces`" in str(exc.value)


def test_misspelt_nested_key_is_rejected_with_its_path():
    doc = b'slug = "x"\nname = "X"\n\n[[services]]\ntype = "day_centre"\nname = "Day centre"\n\n[services.eligibility]\ngender = ["female"]\n'
    with pytest.raises(msgspec.ValidationError) as exc:
        msgspec.toml.decode(doc, type=OrganisationFile)
    message = str(exc.value)
    assert "Object contains unknown field `gender`" in message
    assert "$.services[0].eligibility" in message


def test_unknown_code_is_rejected_with_its_path():
    doc = b'slug = "x"\nname = "X"\n\n[[places]]\ncounty = "RO-XX"\n'
    with pytest.raises(msgspec.ValidationError) as exc:
        msgspec.toml.decode(doc, type=OrganisationFile)
    assert "$.places[0].county" in str(exc.value)
