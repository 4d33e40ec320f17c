"""A reproducible synthetic directory for the matching benchmark, and its bulk load into SQLite or PostgreSQL.

``generate(size, seed)`` makes ``size`` services of ``size // 25`` organisations spread over the 42
counties: each organisation has a home county, and its services have sites in real localities of
that county or of a county within 150 km, service areas over nearby counties (a few national),
eligibility drawn from realistic patterns (women-only and men-only shelters, children's centres,
stated and unstated lists, languages, accessibility, conditions), capacity for most shelters, and
an answer history (referrals and offers, a few pending). ``profiles(n, seed)`` makes anonymised
need profiles from all over the country. Same seed, same directory and profiles.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

from referralnet.directory import lookup
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import CAPACITY_BOUND_TYPES, COUNTY_CODES, EXPLOITATION_FORMS, SERVICE_TYPES

TYPES = list(SERVICE_TYPES)
# Relative frequency of each service group in the directory (accommodation is scarcer than counselling).
GROUP_WEIGHT = {"accommodation": 3, "health": 4, "legal": 4, "social": 5, "return": 1, "interpretation": 1, "outreach": 1, "aftercare": 1}
FORMS = list(EXPLOITATION_FORMS)
EXTRA_LANGUAGES = ["en", "hu", "rom", "uk", "ru", "fr", "it", "es", "de", "ar"]

ORG_COLUMNS = ("slug", "name", "fictional", "active", "created_at", "updated_at")
SERVICE_COLUMNS = (
    "organisation", "type", "name", "eligibility", "area_national", "area_counties", "capacity_unit",
    "capacity_total", "capacity_available", "capacity_updated_at", "active", "created_at", "updated_at",
)  # fmt: skip
SITE_COLUMNS = ("service", "county", "locality", "lat", "lon", "confidential")
REFERRAL_COLUMNS = (
    "created_by", "created_by_label", "profile", "summary", "county", "urgency", "mode", "status", "consent_at",
    "created_at", "updated_at",
)  # fmt: skip
OFFER_COLUMNS = ("referral", "service", "organisation", "position", "status", "sent_at", "deadline", "responded_at")


@dataclass
class Synthetic:
    organisations: list[tuple[Any, ...]] = field(default_factory=list)
    services: list[tuple[Any, ...]] = field(default_factory=list)
    sites: list[tuple[Any, ...]] = field(default_factory=list)
    referrals: list[tuple[Any, ...]] = field(default_factory=list)  # created_by is filled in at load time
    offers: list[tuple[Any, ...]] = field(default_factory=list)
    # The directory list's lookup rows (``referralnet.directory.lookup``), as the API writes them.
    service_counties: list[tuple[Any, ...]] = field(default_factory=list)
    service_forms: list[tuple[Any, ...]] = field(default_factory=list)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[0]), math.radians(b[0])
    h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(b[1] - a[1]) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def nearby_counties(limit_km: float = 150.0) -> list[list[int]]:
    """For each county (index into COUNTY_CODES), the other counties whose seats are within ``limit_km``."""
    seats = [(geo.counties()[c].lat, geo.counties()[c].lon) for c in COUNTY_CODES]
    return [[j for j in range(len(seats)) if j != i and _km(seats[i], seats[j]) <= limit_km] for i in range(len(seats))]


def _eligibility(rng: np.random.Generator, service_type: str) -> str:
    e: dict[str, Any] = {}
    bound = service_type in CAPACITY_BOUND_TYPES
    if service_type == "child_residential":
        e["age_min"], e["age_max"] = [(0, 17), (14, 17), (6, 17)][rng.integers(3)]
    elif rng.random() < (0.9 if bound else 0.5):
        e["age_min"], e["age_max"] = [(18, None), (18, None), (16, None), (14, None), (18, 64)][rng.integers(5)]
    if bound and rng.random() < 0.85:
        e["genders"] = [["female"], ["female"], ["male"], ["female", "male", "other"]][rng.integers(4)]
    elif rng.random() < 0.4:
        e["genders"] = ["female", "male", "other"]
    if rng.random() < 0.4:
        e["nationality_groups"] = ["romanian", "eu_eea", "third_country", "stateless"][: rng.integers(1, 5)]
    if rng.random() < 0.3:
        e["victim_statuses"] = ["presumed", "identified"] if rng.random() < 0.7 else ["potential", "presumed", "identified"]
    if rng.random() < 0.45:
        e["exploitation_forms"] = sorted(rng.choice(FORMS, size=rng.integers(2, 7), replace=False).tolist())
    if bound:
        e["accepts_children"] = bool(rng.random() < 0.5) if rng.random() < 0.8 else None
    if rng.random() < 0.7:
        e["languages"] = ["ro", *rng.choice(EXTRA_LANGUAGES, size=rng.integers(0, 3), replace=False).tolist()]
        e["interpretation_available"] = bool(rng.random() < 0.3)
    if rng.random() < 0.3:
        e["accessibility"] = sorted(rng.choice(["wheelchair", "hearing", "visual", "intellectual"], size=rng.integers(1, 3), replace=False).tolist())
    if bound and rng.random() < 0.3:
        e["excludes"] = ["active_substance_use"]
    if service_type == "addiction_services":
        e["requires"] = ["active_substance_use"]
    return msgspec.json.encode(e).decode()


def generate(size: int, seed: int, now: dt.datetime) -> Synthetic:
    """``size`` services (and their organisations, sites and answer history), the same for the same seed."""
    rng = np.random.default_rng(seed)
    out = Synthetic()
    near = nearby_counties()
    localities: dict[int, list[geo.Locality]] = {i: [] for i in range(len(COUNTY_CODES))}
    index = {c: i for i, c in enumerate(COUNTY_CODES)}
    for loc in geo.localities():
        if loc.is_admin_unit and loc.county in index:
            localities[index[loc.county]].append(loc)
    n_orgs = max(10, size // 25)
    home = rng.integers(0, len(COUNTY_CODES), size=n_orgs)
    out.organisations = [(f"bench-{i}", f"Bench organisation {i}", True, bool(rng.random() > 0.01), now, now) for i in range(n_orgs)]
    weights = np.array([GROUP_WEIGHT[SERVICE_TYPES[t][0]] / sum(1 for u in TYPES if SERVICE_TYPES[u][0] == SERVICE_TYPES[t][0]) for t in TYPES])
    types = rng.choice(len(TYPES), size=size, p=weights / weights.sum())
    owners = rng.integers(0, n_orgs, size=size)
    pool = {t: [_eligibility(rng, t) for _ in range(60)] for t in TYPES}
    for s in range(size):
        t, org = TYPES[types[s]], int(owners[s])
        bound, h = t in CAPACITY_BOUND_TYPES, int(home[org])
        national = not bound and rng.random() < 0.03
        area = [] if national else sorted({COUNTY_CODES[h], *(COUNTY_CODES[j] for j in rng.choice(near[h] or [h], size=rng.integers(0, 3)))})
        if bound or rng.random() < 0.5:
            total = int(rng.integers(4, 41))
            available = 0 if rng.random() < 0.25 else int(rng.integers(1, min(total, 8) + 1))
            unit = "beds" if bound else ("cases_per_month" if rng.random() < 0.5 else "sessions_per_week")
            reported = rng.random() < (0.85 if bound else 0.8)
            updated = now - dt.timedelta(days=float(rng.exponential(4)))
        else:
            reported, unit = False, None
        out.services.append((
            org + 1, t, f"Bench {t.replace('_', ' ')} {s + 1}", pool[t][rng.integers(60)], national, msgspec.json.encode(area).decode(),
            unit, total if reported else None, available if reported else None, updated if reported else None,
            bool(rng.random() > 0.02), now, now,
        ))  # fmt: skip
        for _ in range(1 if bound else int(rng.choice([0, 1, 1, 1, 2]))):
            county = h if rng.random() < 0.85 or not near[h] else int(rng.choice(near[h]))
            loc = localities[county][rng.integers(len(localities[county]))]
            located = rng.random() < 0.9
            out.sites.append((s + 1, COUNTY_CODES[county], loc.name, loc.lat if located else None,
                              loc.lon if located else None, bool(bound and rng.random() < 0.7)))  # fmt: skip
    _history(rng, out, size, now)
    _lookup_rows(out)
    return out


def _lookup_rows(out: Synthetic) -> None:
    sites: dict[int, list[str]] = {}
    for site in out.sites:
        sites.setdefault(site[0], []).append(site[1])
    for i, row in enumerate(out.services, start=1):
        forms = msgspec.json.decode(row[3]).get("exploitation_forms")
        counties, form_keys = lookup.keys(row[4], msgspec.json.decode(row[5]), sites.get(i, []), forms)
        out.service_counties += [(i, c) for c in counties]
        out.service_forms += [(i, f) for f in form_keys]


def _history(rng: np.random.Generator, out: Synthetic, size: int, now: dt.datetime) -> None:
    """About ``size // 4`` past referrals with 1-2 offers each: mostly decided, a few still pending."""
    owner = [row[0] for row in out.services]
    profile = '{"age_band": "25-39"}'
    for r in range(size // 4):
        sent = now - dt.timedelta(days=float(rng.uniform(1, 365)))
        out.referrals.append(("bench", profile, "-", COUNTY_CODES[rng.integers(42)], "urgent", "parallel", "closed", sent, sent, sent))
        for position in range(int(rng.integers(1, 3))):
            service = int(rng.integers(1, size + 1))
            status = str(rng.choice(["accepted", "declined", "expired", "withdrawn", "pending"], p=[0.4, 0.3, 0.1, 0.19, 0.01]))
            answered = sent + dt.timedelta(minutes=float(rng.lognormal(4.0, 1.0)))
            responded = None if status == "pending" else (sent + dt.timedelta(hours=24) if status == "expired" else answered)
            out.offers.append((r + 1, service, owner[service - 1], position, status, sent, sent + dt.timedelta(hours=24), responded))


async def load_postgres(url: str, data: Synthetic, token_id: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("organisation", columns=ORG_COLUMNS, records=data.organisations)
        await conn.copy_records_to_table("service", columns=SERVICE_COLUMNS, records=data.services)
        await conn.copy_records_to_table("site", columns=SITE_COLUMNS, records=data.sites)
        await conn.copy_records_to_table("referral", columns=REFERRAL_COLUMNS, records=[(token_id, *r) for r in data.referrals])
        await conn.copy_records_to_table("offer", columns=OFFER_COLUMNS, records=data.offers)
        await conn.copy_records_to_table("service_county", columns=("service", "county"), records=data.service_counties)
        await conn.copy_records_to_table("service_form", columns=("service", "form"), records=data.service_forms)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def _sqlite_value(value: Any) -> Any:
    # Piccolo keeps timestamps as str(datetime) and booleans as integers in SQLite.
    if isinstance(value, dt.datetime):
        return str(value)
    return int(value) if isinstance(value, bool) else value


def load_sqlite(path: str, data: Synthetic, token_id: int) -> None:
    con = sqlite3.connect(path)
    try:
        with con:
            for table, columns, rows in (
                ("organisation", ORG_COLUMNS, data.organisations),
                ("service", SERVICE_COLUMNS, data.services),
                ("site", SITE_COLUMNS, data.sites),
                ("referral", REFERRAL_COLUMNS, [(token_id, *r) for r in data.referrals]),
                ("offer", OFFER_COLUMNS, data.offers),
                ("service_county", ("service", "county"), data.service_counties),
                ("service_form", ("service", "form"), data.service_forms),
            ):
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                con.executemany(sql, ([_sqlite_value(v) for v in row] for row in rows))
        con.execute("ANALYZE")
    finally:
        con.close()


# Needs as referrers state them: shelter first, counselling and legal help often desired.
NEED_WEIGHTS = {
    t: 4.0 if SERVICE_TYPES[t][0] == "accommodation" else 2.0 if SERVICE_TYPES[t][0] in ("health", "legal") else 1.0 for t in SERVICE_TYPES
}


def profiles(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` valid, anonymised need profiles, the same for the same seed."""
    rng = np.random.default_rng(seed + 1)
    names = {c: [loc.name for loc in geo.localities() if loc.county == c and loc.is_admin_unit] for c in COUNTY_CODES}
    types, weights = list(NEED_WEIGHTS), np.array(list(NEED_WEIGHTS.values()))
    out = []
    for _ in range(n):
        county = COUNTY_CODES[rng.integers(len(COUNTY_CODES))]
        needs = rng.choice(types, size=rng.integers(1, 4), replace=False, p=weights / weights.sum()).tolist()
        out.append({
            "age_band": str(rng.choice(["14-17", "18-24", "25-39", "40-64", "unknown"], p=[0.15, 0.3, 0.35, 0.15, 0.05])),
            "gender": str(rng.choice(["female", "male", "other"], p=[0.65, 0.33, 0.02])),
            "nationality_group": str(rng.choice(["romanian", "eu_eea", "third_country"], p=[0.8, 0.05, 0.15])),
            "exploitation_forms": rng.choice(list(EXPLOITATION_FORMS)[:6], size=rng.integers(1, 3), replace=False).tolist(),
            "needs": [{"service_type": t, "priority": "required" if i == 0 or rng.random() < 0.3 else "desired"} for i, t in enumerate(needs)],
            "location": {"county": county, "locality": str(rng.choice(names[county])) if rng.random() < 0.6 else None},
            "max_distance_km": [50, 100, 150, 150, 250, None][rng.integers(6)],
            "security_risk": str(rng.choice(["low", "medium", "high"], p=[0.6, 0.3, 0.1])),
            "languages": [["ro"], ["ro"], ["ro"], ["en"], ["uk", "ru"], ["ro", "hu"]][rng.integers(6)],
            "children": [{"age_band": "0-5"}] if rng.random() < 0.1 else [],
            "urgency": str(rng.choice(["emergency", "urgent", "planned"])),
        })  # fmt: skip
    return out
