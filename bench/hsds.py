"""HSDS export and import of a synthetic directory (``_synthetic.py``), SQLite or PostgreSQL.

For each size: a fresh database is bulk-loaded with the seeded synthetic directory (as bench/match.py
does, without the answer history), exported as an HSDS 3.1 data package, imported into a second fresh database (one write
transaction), and exported again; the two exports must be byte-identical. Prints rows, bytes and
seconds of each step.

    PYTHONPATH=src python bench/hsds.py [--engine sqlite|postgres] [--sizes 1000,10000] [--seed 1] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import DEFAULT_POSTGRES_URL, fresh_database, use_source_tree  # noqa: E402

use_source_tree()


async def load(url: str, engine: str, size: int, seed: int) -> dict[str, int]:
    """Migrate and bulk-load the synthetic directory (organisations, services, sites; no referrals)."""
    import datetime as dt

    import _synthetic

    from referralnet import db

    await db.migrate(db.make_engine(url))
    data = _synthetic.generate(size, seed, dt.datetime.now(dt.timezone.utc))
    data.referrals, data.offers = [], []
    if engine == "sqlite":
        await asyncio.to_thread(_synthetic.load_sqlite, url.removeprefix("sqlite:///"), data, 0)
    else:
        await _synthetic.load_postgres(url, data, 0)
    return {"organisations": len(data.organisations), "sites": len(data.sites)}


async def one(engine: str, size: int, seed: int, postgres_url: str) -> None:
    from referralnet import db
    from referralnet.clock import SystemClock
    from referralnet.interop.hsds_import import import_hsds
    from referralnet.interop.services import export_hsds

    with tempfile.TemporaryDirectory(prefix="rn-hsds-") as tmp:
        first, second = Path(tmp) / "first", Path(tmp) / "second"
        async with fresh_database(engine, postgres_url) as source, fresh_database(engine, postgres_url) as target:
            fill = await load(source, engine, size, seed)
            paths, export_s = await db.run_with(source, lambda: export_hsds(first, fmt="csv", version="3.1"))
            size_bytes = sum(p.stat().st_size for p in paths)
            await db.migrate(db.make_engine(target))
            started = time.perf_counter()
            plan = await db.run_with(target, lambda: import_hsds(first, SystemClock()))
            import_s = time.perf_counter() - started
            await db.run_with(target, lambda: export_hsds(second, fmt="csv", version="3.1"))
        same = all(p.read_bytes() == (second / p.name).read_bytes() for p in first.iterdir())
        created = plan.count("create")
        print(f"[{engine} {size:,} services, {fill['organisations']:,} organisations, {fill['sites']:,} sites] "
              f"export {size_bytes:,} bytes in {export_s:.2f} s; import {created[0]:,} organisations and {created[1]:,} "
              f"services in {import_s:.2f} s; second export identical: {same}", flush=True)  # fmt: skip
        if not same or plan.mapped.bad:
            raise SystemExit("round trip failed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--sizes", default="1000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        asyncio.run(one(args.engine, size, args.seed, args.postgres_url))


if __name__ == "__main__":
    main()
