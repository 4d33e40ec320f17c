"""``referralnet token`` and ``referralnet user``: API tokens, and the people who sign in to the pages."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from referralnet import db
from referralnet.cli import _settings


def cmd_token_create(args: argparse.Namespace) -> int:
    from referralnet.accounts.services import create_token
    from referralnet.errors import DomainError

    settings = _settings(args)
    try:
        token, actor = asyncio.run(
            db.run_with(settings.database_url, lambda: create_token(
                role=args.role, name=args.name, organisation=args.organisation, networks=args.network or []
            ))
        )
    except DomainError as exc:
        print(f"token create: {exc.field}: {exc.detail}" if exc.field else f"token create: {exc.detail}", file=sys.stderr)
        return 2
    org = f" for organisation {actor.organisation_id}" if actor.organisation_id else ""
    org += f" bound to network {', '.join(actor.networks)}" if actor.networks else ""
    print(f"created {actor.role} token {actor.token_id} ({actor.name}){org}; it is shown only once:")
    print(token)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from referralnet.accounts.services import list_tokens

    settings = _settings(args)
    tokens = asyncio.run(db.run_with(settings.database_url, lambda: list_tokens(include_revoked=not args.active)))
    print(f"{'id':>5}  {'role':<12} {'org':>5}  {'prefix':<11} {'created':<20} {'revoked':<20} name")
    for t in tokens.items:
        org = "-" if t.organisation_id is None else str(t.organisation_id) + ("" if t.organisation_active else "*")
        revoked = t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else "-"
        print(f"{t.id:>5}  {t.role:<12} {org:>5}  {t.prefix:<11} {t.created_at.strftime('%Y-%m-%d %H:%M'):<20} {revoked:<20} {t.name}")
    if any(t.organisation_active is False for t in tokens.items):
        print("* organisation deactivated: the token is refused")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from referralnet.accounts.services import revoke_token
    from referralnet.errors import DomainError

    settings = _settings(args)
    try:
        token = asyncio.run(db.run_with(settings.database_url, lambda: revoke_token(args.id)))
    except DomainError as exc:
        print(f"token revoke: {exc.detail}", file=sys.stderr)
        return 2
    print(f"revoked {token.role} token {token.id} ({token.name}) at {token.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
    return 0


def _state(person: dict[str, Any]) -> str:
    """A person as ``user list`` shows them: deactivated, invited (no password chosen yet) or active."""
    return "deactivated" if not person["active"] else "invited" if person["invited"] else "active"


def cmd_user(args: argparse.Namespace) -> int:
    """``user create|deactivate|list|networks``: people who sign in to the pages."""
    from referralnet.accounts import people
    from referralnet.clock import SystemClock
    from referralnet.errors import DomainError
    from referralnet.web.auth import link_text, send_link

    settings = _settings(args)
    now = SystemClock().now()

    async def run() -> list[str]:
        if args.user_command == "list":
            return [
                f"{p['email']}\t{p['name']}\t{p['role']}\t{p['organisation'] or '-'}\t{_state(p)}" + ("\torg-admin" if p["org_admin"] else "")
                for p in await people.list_people()
            ]
        if args.user_command == "deactivate":
            before = await people.person_by_email(args.email)
            row = await people.deactivate(args.email, now)
            if before is not None and not before["active"]:
                return [f"{row['email']} was already deactivated"]
            return [f"deactivated {row['email']}; their open sessions have ended"]
        if args.user_command == "networks":
            row = await people.set_networks(args.email, args.network or [])
            bound = ", ".join(dict.fromkeys(args.network or [])) or "no network (the whole directory)"
            return [f"{row['email']} is bound to {bound}"]
        password = None if args.invite else sys.stdin.readline().rstrip("\n")
        row = await people.create_person(
            email=args.email, name=args.name, role=args.role, organisation=args.organisation, password=password, now=now,
            org_admin=args.org_admin, networks=args.network or [],
        )
        admin = ", the organisation's administrator" if row["org_admin"] else ""
        bound = f", bound to network {', '.join(dict.fromkeys(args.network))}" if args.network else ""
        lines = [f"created {row['role']} person {row['email']} ({row['name']}){admin}{bound}"]
        if args.invite:
            token = await people.make_link(row["id"], "invite", now)
            text = link_text(settings, token, 24)
            if await send_link(settings, row["email"], "referralnet: your account", text):
                lines.append(f"invitation e-mailed to {row['email']} (the link works once, for 24 hours)")
            else:
                lines.append("no SMTP host is configured: give the person this single-use link (valid 24 hours):")
                lines.append(f"{settings.base_url.rstrip('/')}/password/set/{token}")
        return lines

    try:
        lines = asyncio.run(db.run_with(settings.database_url, run))
    except DomainError as exc:
        print(f"user {args.user_command}: {exc.field}: {exc.detail}" if exc.field else f"user {args.user_command}: {exc.detail}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    return 0


def add_parsers(sub: Any) -> None:
    """The ``token`` and ``user`` commands, under the ``referralnet`` command's subparsers ``sub``."""
    token = sub.add_parser("token", help="manage API tokens")
    token_sub = token.add_subparsers(dest="token_command", required=True)
    create = token_sub.add_parser("create", help="create a bearer token; the token is the last line printed")
    create.add_argument("--role", required=True, choices=["institution", "ngo", "secretariat", "admin"])
    create.add_argument(
        "--organisation",
        help="organisation id or slug: the provider of --role ngo, the institution of --role institution (required for both)",
    )
    create.add_argument("--name", required=True, help="a label: who holds the token")
    create.add_argument("--network", action="append", metavar="CODE",
                        help="bind a secretariat token to this network (repeat for several); it then sees those members only")  # fmt: skip
    create.set_defaults(func=cmd_token_create)
    listing = token_sub.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--active", action="store_true", help="only tokens that are not revoked")
    listing.set_defaults(func=cmd_token_list)
    revoke = token_sub.add_parser("revoke", help="revoke a token: its next request is refused")
    revoke.add_argument("id", type=int, help="token id (from token list)")
    revoke.set_defaults(func=cmd_token_revoke)

    user = sub.add_parser("user", help="manage people who sign in to the pages")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    ucreate = user_sub.add_parser("create", help="create a person; the password is read from standard input unless --invite")
    ucreate.add_argument("--email", required=True)
    ucreate.add_argument("--name", required=True)
    ucreate.add_argument("--role", required=True, choices=["institution", "ngo", "secretariat", "admin"])
    ucreate.add_argument("--organisation", help="organisation id or slug (required for ngo and institution)")
    ucreate.add_argument("--invite", action="store_true", help="e-mail a single-use set-password link (24 hours) instead")
    ucreate.add_argument(
        "--org-admin", action="store_true", help="an ngo person who invites and deactivates the organisation's people (its /ngo/people page)"
    )
    ucreate.add_argument("--network", action="append", metavar="CODE",
                         help="bind a secretariat person to this network (repeat for several); they then see those members only")  # fmt: skip
    udeactivate = user_sub.add_parser("deactivate", help="deactivate a person; their sessions end at once")
    udeactivate.add_argument("--email", required=True)
    user_sub.add_parser("list", help="list people")
    unetworks = user_sub.add_parser("networks", help="bind a secretariat person to exactly these networks (none: all)")
    unetworks.add_argument("--email", required=True)
    unetworks.add_argument("--network", action="append", metavar="CODE", help="a network code (repeat for several)")
    for p in (ucreate, udeactivate, user_sub.choices["list"], unetworks):
        p.set_defaults(func=cmd_user)
