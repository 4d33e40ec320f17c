"""Seed the referring institutions named by ``data/institutions/`` (MNIR institutions, ANITP regional centres).

Only what the files state is loaded: name, type, the county and city of a regional centre (marked
inferred, as the file says its city list is), and the quoted source. Phones, e-mails and addresses
are not stated, so they stay unknown. Loading is idempotent (by slug).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import msgspec

from referralnet import counters
from referralnet.accounts.schemas import SYSTEM
from referralnet.clock import Clock
from referralnet.db import write_transaction
from referralnet.directory import services
from referralnet.directory.schemas import OrganisationCreate, Source
from referralnet.directory.seed import SeedError, SeedReport
from referralnet.directory.views import dumps, load
from referralnet.tables import Organisation

MNIR_FILE = "mnir-institutions.csv"
ANITP_FILE = "anitp-regional-centres.csv"

# The file's acronym (before any parenthesis) -> (slug, institution_type). A type is our reading of the
# file's "role" column; bodies that fit no listed type are "other".
MNIR_TYPES: dict[str, tuple[str, str]] = {
    "ANITP": ("anitp", "anitp"),
    "IGPR": ("igpr", "police"),
    "IGPF": ("igpf", "border_police"),
    "IGI": ("igi", "immigration"),
    "DIICOT": ("diicot", "prosecutor"),
    "IM / ITM": ("inspectia-muncii", "labour_inspectorate"),
    "DGASPC": ("dgaspc", "child_protection"),
    "IGJR": ("igjr", "other"),  # gendarmerie
    "ANPDCA": ("anpdca", "child_protection"),
    "SPAS": ("spas", "other"),  # local social-assistance services
    "OIM": ("oim", "other"),  # international organisation in the MNIR working group
}


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise SeedError(f"{path}: missing")
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _mnir(row: dict[str, str], path: Path) -> OrganisationCreate:
    acronym = row["acronym"].split("(")[0].strip()
    if acronym not in MNIR_TYPES:
        raise SeedError(f"{path}: acronym {row['acronym']!r} has no institution type")
    slug, kind = MNIR_TYPES[acronym]
    return OrganisationCreate(
        slug=slug,
        name=row["full_name"].split(" (")[0].split(" / ")[0].strip(),
        short_name=acronym.split(" / ")[0],
        aliases=[row["full_name"]] if " / " in row["full_name"] or "(" in row["full_name"] else [],
        description=f"{row['role_in_identification_referral']}. Territorial presence: {row['territorial_presence']}.",
        kind="institution",
        institution_type=kind,
    )


def _anitp_centre(row: dict[str, str]) -> OrganisationCreate:
    return OrganisationCreate(
        slug="anitp-cr-" + row["city_ascii"].lower().replace(" ", "-"),
        name=row["centre"],
        kind="institution",
        institution_type="anitp",
        county=f"RO-{row['county_code']}",
        city=row["city"],
        city_inferred=True,  # the file: "INFERRED from seed 000 ... + seed 003"
    )


def _sources(row: dict[str, str], file: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"ref": f"data/institutions/{file}", "quote": row.get("seed_quote") or row.get("seed_quotes") or None}]
    if row.get("basis"):
        out[0]["note"] = row["basis"]
    if row.get("public_confirmation_url"):
        out.append({"ref": "public confirmation", "url": row["public_confirmation_url"], "note": row.get("public_confirmation_note") or None})
    return [msgspec.to_builtins(msgspec.convert(s, Source)) for s in out]


def read_institutions(folder: Path) -> list[tuple[OrganisationCreate, list[dict[str, Any]]]]:
    """Every institution the two files name, with its sources; a row that does not fit raises :class:`SeedError`."""
    mnir, anitp = folder / MNIR_FILE, folder / ANITP_FILE
    try:
        out = [(_mnir(r, mnir), _sources(r, MNIR_FILE)) for r in _rows(mnir)]
        out += [(_anitp_centre(r), _sources(r, ANITP_FILE)) for r in _rows(anitp)]
    except (msgspec.ValidationError, KeyError) as exc:
        raise SeedError(f"{folder}: {exc}") from exc
    return out


FIELDS = ("name", "short_name", "description", "kind", "institution_type", "county", "city", "city_inferred")


async def seed_institutions(folder: Path, clock: Clock) -> SeedReport:
    """Create or update the institutions of ``folder`` in one transaction; a second run changes nothing."""
    report = SeedReport()
    async with write_transaction():
        for data, sources in read_institutions(folder):
            row = await Organisation.select().where(Organisation.slug == data.slug).first()
            if row is None:
                await services.create_organisation(data, SYSTEM, clock, sources=sources)
                report.created.append(str(data.slug))
                continue
            wanted = {f: getattr(data, f) for f in FIELDS}
            changes = {f: v for f, v in wanted.items() if row[f] != v}
            current = load(row["sources"])
            if current != sources:
                changes["sources"] = dumps(sources)
            if changes:
                await Organisation.update({**changes, "updated_at": clock.now()}).where(Organisation.id == row["id"])  # type: ignore[dict-item]
                await counters.bump(counters.DIRECTORY)
                report.updated.append(str(data.slug))
            else:
                report.unchanged.append(str(data.slug))
    return report
