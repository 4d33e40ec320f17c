"""Coverage review at national scale: the matrix over 100k services and a year of activity over 1M referrals.

A fresh PostgreSQL database (``CREATE DATABASE bench_<random>`` beside ``--postgres-url``) is
migrated and filled with COPY (asyncpg ``copy_records_to_table``) from a seeded generator:
``--organisations`` organisations, ``--services`` services spread over the 42 counties and the 30
service types (random eligibility, areas, 1-2 sites near a county seat, capacity), ``--referrals``
referrals over the last ``--days`` days (placed / unplaced / cancelled / open, placement after a
log-normal delay) and about 1.5 offers per referral (accepted, declined with a reason, expired,
withdrawn, pending). Then the report functions the API uses are timed on it, each ``--repeat``
times (best and median reported):

* ``matrix``: every county x type x (age group x gender), 50 km reach (read + compute);
* ``matrix by form``: the same x 11 forms of exploitation;
* ``activity``: the last 365 days, safe version (SQL aggregation with percentile_cont), and its part by
  month, county and referring institution type alone;
* ``gaps``: the matrix plus the unplaced referrals of the year.

Targets: matrix under 5 s, a year of activity under 10 s. The database is dropped afterwards.

    PYTHONPATH=src python bench/coverage.py [--services 100000] [--referrals 1000000]
        [--postgres-url URL] [--repeat 3] [--json results.json]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    DEFAULT_POSTGRES_URL,
    format_table,
    fresh_postgres_database,
    machine_info,
    postgres_unreachable,
    use_source_tree,
    write_json,
)

use_source_tree()

import msgspec  # noqa: E402
import numpy as np  # noqa: E402

from referralnet.vocabulary import geo  # noqa: E402
from referralnet.vocabulary.codes import (  # noqa: E402
    AGE_BANDS,
    COUNTY_CODES,
    EXPLOITATION_FORMS,
    GENDERS,
    SERVICE_TYPES,
    URGENCIES,
)

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.timezone.utc)
CHUNK = 100_000
TYPES, FORMS, BANDS, GENDER_CODES = list(SERVICE_TYPES), list(EXPLOITATION_FORMS), list(AGE_BANDS), list(GENDERS)


def _eligibility_variants(rng: np.random.Generator, n: int) -> list[str]:
    out = []
    for _ in range(n):
        e: dict[str, Any] = {}
        if rng.random() < 0.6:
            e["age_min"], e["age_max"] = [(18, None), (0, 17), (14, 25), (None, 17), (18, 64)][rng.integers(5)]
        if rng.random() < 0.5:
            e["genders"] = sorted(rng.choice(GENDER_CODES, size=rng.integers(1, 3), replace=False).tolist())
        if rng.random() < 0.4:
            e["exploitation_forms"] = sorted(rng.choice(FORMS, size=rng.integers(1, 5), replace=False).tolist())
        if rng.random() < 0.3:
            e["languages"] = ["ro", *rng.choice(["en", "uk", "hu", "rom", "ru"], size=rng.integers(1, 3), replace=False).tolist()]
        out.append(msgspec.json.encode(e).decode())
    return out


async def fill(url: str, organisations: int, services: int, referrals: int, days: int, seed: int) -> dict[str, float]:
    import asyncpg

    rng = np.random.default_rng(seed)
    seats = geo.counties()
    seat_lat = np.array([seats[c].lat for c in COUNTY_CODES])
    seat_lon = np.array([seats[c].lon for c in COUNTY_CODES])
    conn = await asyncpg.connect(url)
    timings: dict[str, float] = {}
    try:
        t = time.perf_counter()
        await conn.copy_records_to_table("organisation", columns=["slug", "name", "created_at", "updated_at"], records=[
            (f"org-{i}", f"Organisation {i}", NOW, NOW) for i in range(1, organisations + 1)])
        token = await conn.fetchval(
            "INSERT INTO api_token (name, role, token_hash, prefix, created_at) VALUES ('bench', 'institution', 'x', 'x', $1) RETURNING id", NOW)
        elig = _eligibility_variants(rng, 400)
        areas = [msgspec.json.encode(sorted(rng.choice(COUNTY_CODES, size=k, replace=False).tolist())).decode()
                 for k in rng.integers(0, 4, size=300)]
        org = rng.integers(1, organisations + 1, size=services)
        stype = rng.integers(0, len(TYPES), size=services)
        total = rng.integers(1, 40, size=services)
        free = np.minimum(total, rng.integers(0, 6, size=services))
        reported = rng.random(services) < 0.8
        updated = NOW - np.array(rng.exponential(6, size=services) * 86400, dtype="timedelta64[s]").astype(object)
        rows = []
        for i in range(services):
            rows.append((
                int(org[i]), TYPES[stype[i]], f"Service {i + 1}", elig[rng.integers(len(elig))], bool(rng.random() < 0.02),
                areas[rng.integers(len(areas))], "places" if reported[i] else None, int(total[i]) if reported[i] else None,
                int(free[i]) if reported[i] else None, updated[i] if reported[i] else None, bool(rng.random() > 0.01), NOW, NOW,
            ))
        await conn.copy_records_to_table("service", columns=[
            "organisation", "type", "name", "eligibility", "area_national", "area_counties", "capacity_unit", "capacity_total",
            "capacity_available", "capacity_updated_at", "active", "created_at", "updated_at"], records=rows)
        site_owner = np.concatenate([np.arange(1, services + 1), rng.integers(1, services + 1, size=services // 4)])
        county = rng.integers(0, 42, size=len(site_owner))
        lat = seat_lat[county] + rng.normal(0, 0.15, size=len(county))
        lon = seat_lon[county] + rng.normal(0, 0.2, size=len(county))
        located = rng.random(len(county)) < 0.7
        await conn.copy_records_to_table("site", columns=["service", "county", "lat", "lon", "confidential"], records=[
            (int(site_owner[i]), COUNTY_CODES[county[i]], float(lat[i]) if located[i] else None,
             float(lon[i]) if located[i] else None, bool(i % 5 == 0)) for i in range(len(site_owner))])
        timings["fill directory s"] = time.perf_counter() - t

        t = time.perf_counter()
        profiles = []
        for _ in range(2000):
            needs = rng.choice(TYPES, size=rng.integers(1, 4), replace=False).tolist()
            profiles.append(msgspec.json.encode({
                "age_band": BANDS[rng.integers(len(BANDS))], "gender": GENDER_CODES[rng.integers(3)],
                "nationality_group": "romanian", "exploitation_forms": [FORMS[rng.integers(len(FORMS))]],
                "needs": [{"service_type": n, "priority": "required"} for n in needs],
                "location": {"county": COUNTY_CODES[rng.integers(42)]}}).decode())
        urgencies = list(URGENCIES)
        service_org = org
        offers_total = 0
        for start in range(0, referrals, CHUNK):
            n = min(CHUNK, referrals - start)
            created = NOW - (rng.random(n) * days * 86400).astype("timedelta64[s]").astype(object)
            outcome = rng.choice(4, size=n, p=[0.6, 0.2, 0.12, 0.08])  # placed, unplaced, cancelled, open
            delay = (rng.lognormal(2.0, 1.0, size=n) * 3600).astype("timedelta64[s]").astype(object)
            statuses = np.where(outcome == 0, rng.choice(np.array(["placed", "arrived", "closed"]), size=n),
                                np.where(outcome == 1, rng.choice(np.array(["unplaced", "closed"]), size=n, p=[0.8, 0.2]),
                                         np.where(outcome == 2, "cancelled", "open")))
            counties = rng.integers(0, 42, size=n)
            urg = rng.integers(0, 3, size=n)
            prof = rng.integers(0, len(profiles), size=n)
            records = [(
                token, "institution:bench", profiles[prof[i]], "-", COUNTY_CODES[counties[i]], urgencies[urg[i]], "parallel",
                str(statuses[i]), created[i], created[i], created[i], created[i] + delay[i] if outcome[i] == 0 else None,
            ) for i in range(n)]
            await conn.copy_records_to_table("referral", columns=[
                "created_by", "created_by_label", "profile", "summary", "county", "urgency", "mode", "status", "consent_at",
                "created_at", "updated_at", "placed_at"], records=records)
            # About 1.5 offers per referral: the first one decides, a second one for half of them.
            offers = []
            second = rng.random(n) < 0.5
            svc = rng.integers(1, services + 1, size=(n, 2))
            answer = (rng.lognormal(3.5, 1.0, size=(n, 2)) * 60).astype("timedelta64[s]").astype(object)
            reasons = rng.choice(np.array(["no_capacity", "not_eligible", "safety", "other"]), size=n, p=[0.6, 0.2, 0.1, 0.1])
            for i in range(n):
                rid = start + i + 1
                first = "accepted" if outcome[i] == 0 else ("declined" if rng.random() < 0.6 else "expired")
                if outcome[i] == 3:
                    first = "pending"
                for k, status in enumerate([first, "withdrawn" if outcome[i] == 0 else "declined"][: 1 + int(second[i])]):
                    s = int(svc[i, k])
                    responded = created[i] + answer[i, k] if status in ("accepted", "declined") else None
                    offers.append((rid, s, int(service_org[s - 1]), k, status, created[i], created[i] + dt.timedelta(hours=24),
                                   responded, str(reasons[i]) if status == "declined" else None))
            await conn.copy_records_to_table("offer", columns=[
                "referral", "service", "organisation", "position", "status", "sent_at", "deadline", "responded_at",
                "decline_reason"], records=offers)
            offers_total += len(offers)
            print(f"\r  filled {start + n:,} referrals, {offers_total:,} offers", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        await conn.execute("ANALYZE")
        timings["fill history s"] = time.perf_counter() - t
        timings["offers"] = offers_total
    finally:
        await conn.close()
    return timings


async def measure(url: str, repeat: int) -> list[dict[str, Any]]:
    from referralnet import db
    from referralnet.coverage import breakdown_reads, reports
    from referralnet.coverage.groups import make_groups
    from referralnet.coverage.matrix import compute
    from referralnet.coverage.services import load_table, resolve_period

    engine = db.make_engine(url)
    db.bind(engine)
    await db.start(engine, pool_min=1, pool_max=4)
    period = resolve_period(NOW, None, None)
    counties = tuple(COUNTY_CODES)

    async def read_table() -> Any:
        return await load_table()

    table = await load_table()
    cases: list[tuple[str, Any]] = [
        ("matrix: read services", read_table),
        ("matrix: compute (coarse)", lambda: asyncio.to_thread(compute, table, make_groups())),
        ("matrix: compute (by form)", lambda: asyncio.to_thread(compute, table, make_groups(by_form=True))),
        ("matrix report (read + compute + cells)", lambda: reports.matrix_report(reports.Filters(), NOW, safe=False)),
        ("matrix report by form", lambda: reports.matrix_report(reports.Filters(by_form=True), NOW, safe=False)),
        ("activity, 365 days (safe)", lambda: reports.activity_report(NOW, period, counties=counties, safe=True)),
        ("activity: breakdowns by month, county, institution type", lambda: breakdown_reads.raw_breakdowns(period)),
        ("gaps, 365 days", lambda: reports.gaps_report(reports.Filters(), NOW, period, safe=True)),
    ]
    rows = []
    try:
        for name, fn in cases:
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                result = await fn()
                times.append(time.perf_counter() - t)
            size = len(result.cells) if hasattr(result, "cells") else getattr(result, "total", None)
            rows.append({"case": name, "best_s": min(times), "median_s": statistics.median(times), "size": size})
            print(f"  {name}: best {min(times):.2f} s", file=sys.stderr)
    finally:
        await db.stop(engine)
    return rows


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--organisations", type=int, default=5_000)
    parser.add_argument("--services", type=int, default=100_000)
    parser.add_argument("--referrals", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365, help="referrals are spread over this many days before now")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()
    if why := await postgres_unreachable(args.postgres_url):
        print(f"PostgreSQL unreachable ({why}); nothing to measure", file=sys.stderr)
        return 1
    async with fresh_postgres_database(args.postgres_url, prefix="bench_coverage") as url:
        from referralnet import db

        await db.migrate(db.make_engine(url))
        print(f"filling {urlsplit(url).path.lstrip('/')} ...", file=sys.stderr)
        fill_times = await fill(url, args.organisations, args.services, args.referrals, args.days, args.seed)
        rows = await measure(url, args.repeat)
    print(f"\nCoverage review on PostgreSQL: {args.services:,} services, {args.organisations:,} organisations, "
          f"{args.referrals:,} referrals and {int(fill_times['offers']):,} offers over {args.days} days")
    print(f"(fill: directory {fill_times['fill directory s']:.1f} s, history {fill_times['fill history s']:.1f} s; "
          f"best and median of {args.repeat})\n")
    print(format_table(rows, [("case", "case", ""), ("best_s", "best s", ".2f"), ("median_s", "median s", ".2f"),
                              ("size", "cells / gaps", ",")]))
    matrix = next(r["best_s"] for r in rows if r["case"].startswith("matrix report ("))
    activity = next(r["best_s"] for r in rows if r["case"].startswith("activity"))
    ok = matrix < 5 and activity < 10
    print(f"\nmatrix {matrix:.2f} s (target < 5 s), activity {activity:.2f} s (target < 10 s): {'OK' if ok else 'MISSED'}")
    if args.json:
        write_json(args.json, {"machine": machine_info(), "args": vars(args), "fill": fill_times, "results": rows})
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
