"""``referralnet export hsds`` and ``referralnet import hsds``."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from referralnet import db


def cmd_export(args: argparse.Namespace) -> int:
    from referralnet.cli import _settings
    from referralnet.interop.services import export_hsds

    settings = _settings(args)
    folder = Path(args.dir)
    paths, seconds = asyncio.run(
        db.run_with(settings.database_url, lambda: export_hsds(folder, fmt=args.format, version=args.hsds))
    )
    size = sum(p.stat().st_size for p in paths)
    print(f"HSDS {args.hsds} {'JSON' if args.format == 'json' else 'data package'} in {folder}: {len(paths)} files, {size:,} bytes, {seconds:.2f} s")
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = sub.add_parser("export", help="export the directory in a standard format")
    export_sub = export.add_subparsers(dest="export_command", required=True)
    hsds = export_sub.add_parser("hsds", help="write the directory as Open Referral HSDS (data package or JSON)")
    hsds.add_argument("dir", help="folder to write (created if missing; files in it are replaced)")
    hsds.add_argument("--format", choices=["csv", "json"], default="csv", help="csv: tabular data package (default); json: compiled objects")
    hsds.add_argument("--hsds", choices=["3.0", "3.1"], default="3.0", help="3.1 adds the draft's service_capacity and unit")
    hsds.set_defaults(func=cmd_export)
