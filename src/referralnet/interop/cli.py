"""``referralnet export hsds`` and ``referralnet import hsds``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from referralnet import db


def cmd_export(args: argparse.Namespace) -> int:
    from referralnet.cli import _settings
    from referralnet.interop.services import export_hsds

    settings = _settings(args)
    folder = Path(args.dir)
    try:
        paths, seconds = asyncio.run(
            db.run_with(settings.database_url, lambda: export_hsds(folder, fmt=args.format, version=args.hsds))
        )
    except OSError as exc:  # a folder that cannot be made, or a file in the way: said, not a traceback
        print(f"referralnet: cannot write the export to {folder}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in paths)
    print(f"HSDS {args.hsds} {'JSON' if args.format == 'json' else 'data package'} in {folder}: {len(paths)} files, {size:,} bytes, {seconds:.2f} s")
    return 0


def render_plan(plan: Any, *, dry_run: bool, merge: bool) -> str:
    """The plan as the command prints it: one line per organisation and service, then what did not map."""
    mapped = plan.mapped
    lines: list[str] = []
    if mapped.bad:
        lines.append(f"HSDS import of {plan.source}: {len(mapped.bad)} bad row(s); nothing imported")
        lines += [f"  {where}: {reason}" for where, reason in mapped.bad]
    else:
        state = "plan (dry run, nothing written)" if dry_run else "imported" if plan.applied else "nothing written"
        (oc, sc), (om, sm), (os_, ss) = plan.count("create"), plan.count("merge"), plan.count("skip")
        lines.append(f"HSDS import of {plan.source}: {state}")
        lines.append(f"  organisations: {oc} create, {om} merge, {os_} skip; services: {sc} create, {sm} merge, {ss} skip")
        for step in plan.steps:
            org = step.incoming.data
            into = f" -> {step.target['slug']}" if step.target else ""
            lines.append(f"  {step.action:<6} {org.slug}{into} {org.name!r}" + (f": {step.reason}" if step.reason else ""))
            for action, svc, twin in step.services:
                target = f" -> service {twin['id']} {twin['name']!r}" if twin else ""
                lines.append(f"    {action:<6} {svc.type} {svc.name!r}{target}")
        if plan.duplicates_held and not merge:
            lines.append(f"  {plan.duplicates_held} likely duplicate(s) not imported: check them above, then run again with --merge")
    if mapped.unmapped:
        lines.append(f"unmapped terms ({len(mapped.unmapped)}), not imported:")
        lines += [f"  {term} ({count} attribute(s))" for term, count in mapped.unmapped.items()]
    if mapped.skipped:
        lines.append(f"skipped ({len(mapped.skipped)}):")
        lines += [f"  {where}: {reason}" for where, reason in mapped.skipped]
    return "\n".join(lines) + "\n"


def cmd_import(args: argparse.Namespace) -> int:
    import time

    from referralnet.cli import _settings
    from referralnet.clock import SystemClock
    from referralnet.coverage.cli import ProgressBar
    from referralnet.interop.hsds_import import import_hsds
    from referralnet.interop.hsds_read import ReadError

    settings = _settings(args)
    path = Path(args.path)
    bar = ProgressBar(enabled=not args.quiet and not args.dry_run)
    seconds = 0.0

    async def work() -> Any:
        nonlocal seconds
        started = time.perf_counter()
        try:
            return await import_hsds(path, SystemClock(), merge=args.merge, dry_run=args.dry_run, progress=bar)
        finally:
            seconds = time.perf_counter() - started

    try:
        plan = asyncio.run(db.run_with(settings.database_url, work))
    except ReadError as exc:
        bar.close()
        print(f"import hsds: {exc}", file=sys.stderr)
        return 2
    bar.close()
    text = render_plan(plan, dry_run=args.dry_run, merge=args.merge)
    (sys.stderr if plan.mapped.bad else sys.stdout).write(text)
    size = sum(p.stat().st_size for p in (path.rglob("*") if path.is_dir() else [path]) if p.is_file())
    print(f"read {size:,} bytes, {seconds:.2f} s", file=sys.stderr)
    return 2 if plan.mapped.bad else 0


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = sub.add_parser("export", help="export the directory in a standard format")
    export_sub = export.add_subparsers(dest="export_command", required=True)
    hsds = export_sub.add_parser("hsds", help="write the directory as Open Referral HSDS (data package or JSON)")
    hsds.add_argument("dir", help="folder to write (created if missing; files in it are replaced)")
    hsds.add_argument("--format", choices=["csv", "json"], default="csv", help="csv: tabular data package (default); json: compiled objects")
    hsds.add_argument("--hsds", choices=["3.0", "3.1"], default="3.0", help="3.1 adds the draft's service_capacity and unit")
    hsds.set_defaults(func=cmd_export)

    imp = sub.add_parser("import", help="import a directory in a standard format")
    imp_sub = imp.add_subparsers(dest="import_command", required=True)
    hsds_in = imp_sub.add_parser("hsds", help="import Open Referral HSDS 3.0 (data package folder or JSON) into the directory")
    hsds_in.add_argument("path", help="a folder with datapackage.json and CSVs, a JSON file of compiled services, or a folder with services.json")
    hsds_in.add_argument("--dry-run", action="store_true", help="print the plan (create/merge/skip, unmapped terms, bad rows) and write nothing")
    hsds_in.add_argument("--merge", action="store_true", help="merge likely duplicates into the existing organisations and services")
    hsds_in.add_argument("--quiet", action="store_true", help="no progress bar")
    hsds_in.set_defaults(func=cmd_import)
