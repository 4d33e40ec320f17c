"""The ``referralnet`` command: serve, worker, migrate, seed, match; the domains add theirs (accounts: token and
user; coverage; interop)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from pathlib import Path

from referralnet import db
from referralnet.settings import Settings, SettingsError, default_database_path, describe_database


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        host=getattr(args, "host", None), port=getattr(args, "port", None), database_url=getattr(args, "database_url", None)
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    lines = asyncio.run(db.migrate(db.make_engine(settings.database_url)))
    print("\n".join(_migration_summary(lines)))
    print(f"database ready: {describe_database(settings.database_url)}")
    return 0


def _migration_summary(lines: list[str]) -> list[str]:
    """Piccolo's progress lines, its contradictory counts ("7 already complete", "7 not yet run") replaced by ours."""
    ran = sum("[forwards]" in line for line in lines)
    total = next((int(m.group(1)) for line in lines if (m := re.search(r"(\d+) migrations? already complete", line))), None)
    kept = [line for line in lines if not re.search(r"already complete|not yet run", line)]
    if total is None:
        return kept
    return [f"{ran} migration(s) applied now, {max(total - ran, 0)} already applied", *kept]


def cmd_seed(args: argparse.Namespace) -> int:
    from referralnet.clock import SystemClock
    from referralnet.directory.institutions import seed_institutions
    from referralnet.directory.seed import SeedError, seed

    settings = _settings(args)
    folder = Path(args.path) if args.path else Path(settings.data_dir) / ("demo" if args.demo else "organisations")
    institutions = Path(settings.data_dir) / "institutions"
    try:
        report = asyncio.run(db.run_with(settings.database_url, lambda: seed(folder, SystemClock())))
        if not (args.path or args.demo):
            inst = asyncio.run(db.run_with(settings.database_url, lambda: seed_institutions(institutions, SystemClock())))
            print(f"seed {institutions}:")
            print(f"  institutions created: {len(inst.created)}, updated: {len(inst.updated)}, unchanged: {len(inst.unchanged)}")
    except SeedError as exc:
        print(f"seed: {exc}", file=sys.stderr)
        return 2
    print(f"seed {folder}:")
    print(f"  organisations created: {len(report.created)}, updated: {len(report.updated)}, unchanged: {len(report.unchanged)}")
    print(f"  services created: {report.services_created}, updated: {report.services_updated}")
    for line in report.near_duplicates:
        print(f"  near-duplicate, not loaded: {line}")
    if not report.changed:
        print("  nothing changed")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from referralnet.app import create_app

    settings = _settings(args)
    asyncio.run(db.migrate(db.make_engine(settings.database_url)))
    logging.getLogger("referralnet").info(
        "serving on http://%s:%s with database %s; links in messages point to %s",
        settings.host, settings.port, describe_database(settings.database_url), settings.base_url,
    )  # fmt: skip
    if settings.demo:
        from referralnet.accounts.demo import banner, ensure_demo_people
        from referralnet.clock import SystemClock

        rows = asyncio.run(db.run_with(settings.database_url, lambda: ensure_demo_people(settings.data_dir, SystemClock())))
        print(banner(rows, settings.base_url), flush=True)
    log_level = settings.log_level.lower()
    if args.workers <= 1:
        uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level=log_level)
        return 0
    return _serve_workers(args.workers, settings, log_level)


def _serve_workers(workers: int, settings: Settings, log_level: str) -> int:
    """``workers`` uvicorn processes serve HTTP; the sweeps and deliveries run in one ``referralnet worker`` beside them."""
    import os
    import subprocess

    import uvicorn

    sweeper = None
    if settings.scheduler:
        sweeper = subprocess.Popen([sys.executable, "-m", "referralnet", "worker"], env=dict(os.environ))
    # The HTTP workers build their app from the environment (uvicorn starts them afresh): no scheduler there.
    os.environ.update({"REFERRALNET_SCHEDULER": "false", "REFERRALNET_DATABASE_URL": settings.database_url})
    try:
        uvicorn.run(
            "referralnet.app:create_app", factory=True, workers=workers, host=settings.host, port=settings.port, log_level=log_level
        )
    finally:
        if sweeper is not None:
            sweeper.terminate()
            try:
                sweeper.wait(timeout=15)
            except subprocess.TimeoutExpired:
                sweeper.kill()
    return 0


def cmd_match(args: argparse.Namespace) -> int:
    """Match a profile from a TOML file and print the ranked providers."""
    import msgspec

    from referralnet.clock import SystemClock
    from referralnet.errors import DomainError
    from referralnet.matching.cache import DirectoryCache
    from referralnet.matching.profile import Profile
    from referralnet.matching.services import match_profile
    from referralnet.matching.table import render

    settings = _settings(args)
    try:
        raw = Path(args.profile).read_bytes()
    except OSError as exc:
        print(f"match: cannot read the profile file {args.profile}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        data = msgspec.toml.decode(raw)
        profile = msgspec.convert(data.get("profile", data), type=Profile)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        print(f"match: {args.profile}: {_with_hint(str(exc))}", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(
            db.run_with(
                settings.database_url,
                lambda: match_profile(
                    profile, DirectoryCache(), SystemClock(), stale_days=settings.capacity_stale_days, limit=args.limit
                ),
            )
        )
    except DomainError as exc:
        print(f"match: {exc.field}: {exc.detail}" if exc.field else f"match: {exc.detail}", file=sys.stderr)
        return 2
    print(msgspec.json.format(msgspec.json.encode(result)).decode() if args.json else render(profile, result))
    return 0


def _with_hint(message: str) -> str:
    """msgspec's refusal of a profile file, with the valid values or nearest code for a code field, as the API gives them
    (``Invalid enum value 'Iasi' - at `$.location.county``` gains ``did you mean RO-IS?``)."""
    from referralnet.errors import _enum_hint

    found = re.match(r"^Invalid enum value '(?P<value>.*)' - at `\$\.(?P<key>[^`]+)`$", message, re.S)
    return f"{message}; {_enum_hint(found['key'], found['value'])}" if found else message


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the scheduled sweeps and notification delivery without serving HTTP."""
    import signal

    from referralnet.clock import SystemClock
    from referralnet.scheduler import build_scheduler, run_once, run_retention

    settings = _settings(args)

    async def work() -> None:
        engine = db.make_engine(settings.database_url)
        await db.migrate(engine)
        await db.start(engine, pool_min=1, pool_max=4)
        clock = SystemClock()
        if args.once:
            await run_once(settings, clock)
            await run_retention(settings, clock)
            await db.stop(engine)
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        scheduler = build_scheduler(settings, clock)
        scheduler.start()
        logging.getLogger("referralnet").info("worker running every %ss", settings.sweep_interval_seconds)
        await stop.wait()
        scheduler.shutdown(wait=False)
        await db.stop(engine)

    asyncio.run(work())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="referralnet",
        description="Directory, matching and referrals for anti-trafficking NGO networks.\n"
        "Settings come from REFERRALNET_* environment variables (see README).",
        # Raw: the database path must print whole (argparse would break it at hyphens).
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="default database (when neither --database-url nor REFERRALNET_DATABASE_URL is given):\n"
        f"  sqlite:///{default_database_path()}\n"
        "Every command names the database it uses on stderr.",
    )
    parser.add_argument("--database-url", help="overrides REFERRALNET_DATABASE_URL (sqlite:///path or postgresql://...)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="apply migrations and serve the API")
    serve.add_argument("--host", help="bind address (default 127.0.0.1, REFERRALNET_HOST)")
    serve.add_argument("--port", type=int, help="port (default 8000, REFERRALNET_PORT)")
    serve.add_argument(
        "--workers", type=int, default=1,
        help="HTTP processes (default 1); with more than one, the sweeps run in one separate `referralnet worker`",
    )  # fmt: skip
    serve.set_defaults(func=cmd_serve)

    match = sub.add_parser("match", help="match an anonymised need profile (TOML) and print the ranked providers")
    match.add_argument("profile", help="a TOML file with the profile's fields (at the top level or under [profile])")
    match.add_argument("--limit", type=_limit, default=20, help="how many candidates, 1 to 100 (default 20), as the API's limit")
    match.add_argument("--json", action="store_true", help="print the JSON the API returns instead of a table")
    match.set_defaults(func=cmd_match)

    worker = sub.add_parser("worker", help="run deadline sweeps, reminders and notification delivery (no HTTP)")
    worker.add_argument("--once", action="store_true", help="run one round and exit")
    worker.set_defaults(func=cmd_worker)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)

    seed = sub.add_parser("seed", help="load data/organisations/ and data/institutions/ (idempotent; reports near-duplicate names)")
    seed.add_argument("--demo", action="store_true", help="load the fictional demo data set from data/demo/ instead")
    seed.add_argument("--path", help="load this folder of organisation TOML files instead")
    seed.set_defaults(func=cmd_seed)

    from referralnet.coverage import cli as coverage_cli

    coverage_cli.add_parser(sub)

    from referralnet.interop import cli as interop_cli

    interop_cli.add_parsers(sub)

    from referralnet.accounts import cli as accounts_cli

    accounts_cli.add_parsers(sub)
    return parser


def _limit(text: str) -> int:
    """``--limit`` as the API takes it (1 to 100); argparse names the option and exits 2 otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected 1 to 100, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        url = Settings.from_env(database_url=args.database_url).database_url
        print(f"referralnet: database {describe_database(url)}", file=sys.stderr)
        return int(args.func(args))
    except SettingsError as exc:
        print(f"referralnet: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
