"""Token creation and lookup. Tokens are 256-bit random strings; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from referralnet import counters
from referralnet.accounts import cache as token_cache
from referralnet.accounts.schemas import Actor, TokenList, TokenOut
from referralnet.clock import Clock, SystemClock
from referralnet.db import write_transaction
from referralnet.directory.networks import bind, bound_codes, check_binding
from referralnet.errors import InvalidInput, NotFound
from referralnet.tables import ApiToken, Organisation
from referralnet.vocabulary.codes import Role

TOKEN_PREFIX = "rn_"
ROLES: tuple[Role, ...] = ("institution", "ngo", "secretariat", "admin")


def hash_token(token: str) -> str:
    # A fast hash is right here: tokens are random and long, so there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


# An ngo token acts for a provider, an institution token for an institution (a referring body).
BOUND_KIND: dict[str, str] = {"ngo": "provider", "institution": "institution"}


async def resolve_organisation(ref: str | int, kind: str | None = None) -> int:
    """An organisation id from its numeric id or its slug (of ``kind``, when given)."""
    ref = str(ref)
    query = Organisation.select(Organisation.id, Organisation.kind)
    row = await (query.where(Organisation.id == int(ref)) if ref.isdigit() else query.where(Organisation.slug == ref)).first()
    if row is None:
        raise NotFound(f"organisation {ref!r} not found", field="organisation")
    if kind is not None and row["kind"] != kind:
        raise InvalidInput(f"organisation {ref!r} is a {row['kind']}, not {'an' if kind[0] in 'aeiou' else 'a'} {kind}", field="organisation")
    return row["id"]


async def create_token(
    *, role: str, name: str, organisation: str | int | None = None, clock: Clock | None = None,
    networks: list[str] | None = None,
) -> tuple[str, Actor]:  # fmt: skip
    """Create a token (a secretariat token optionally bound to ``networks``); returns the clear token (shown once) and its actor."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if role in BOUND_KIND and organisation is None:
        raise InvalidInput(f"an {role} token must be bound to an organisation", field="organisation")
    if role not in BOUND_KIND and organisation is not None:
        raise InvalidInput("only ngo and institution tokens are bound to an organisation", field="organisation")
    if not name.strip():
        raise InvalidInput("name must not be empty", field="name")
    org_id = await resolve_organisation(organisation, BOUND_KIND.get(role)) if organisation is not None else None
    bound = await check_binding(role, networks or [])
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = (clock or SystemClock()).now()
    async with write_transaction():
        rows = await ApiToken.insert(
            ApiToken(
                name=name.strip(),
                role=role,
                organisation=org_id,
                token_hash=hash_token(clear),
                prefix=clear[:10],
                created_at=now,
            )
        ).returning(ApiToken.id)
        await bind("token", rows[0]["id"], bound)
    return clear, Actor(
        token_id=rows[0]["id"], name=name.strip(), role=role, organisation_id=org_id, networks=tuple(sorted(bound))  # type: ignore[arg-type]
    )


async def _actor_row(token_hash: str) -> Actor | None:
    row = (
        await ApiToken.select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.organisation, ApiToken.organisation.active)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_null())
        .first()
    )
    if row is None or row["organisation.active"] is False:
        return None
    networks = await bound_codes("token", row["id"]) if row["role"] == "secretariat" else ()
    return Actor(token_id=row["id"], name=row["name"], role=row["role"], organisation_id=row["organisation"], networks=networks)


async def actor_for_token(token: str, cache: token_cache.TokenCache | None = None) -> Actor | None:
    """The actor of a valid, unrevoked token whose organisation (if any) is active, or ``None``.

    With ``cache`` (the app's), a known token is answered from memory; a revocation or a
    deactivation still refuses the very next request in this process, and within a second in others.
    """
    token_hash = hash_token(token)
    if cache is None:
        return await _actor_row(token_hash)
    return await cache.actor(token_hash, lambda: _actor_row(token_hash), lambda: counters.read(counters.ACCESS))


def _token_out(row: dict[str, Any]) -> TokenOut:
    return TokenOut(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        organisation_id=row["organisation"],
        organisation_active=row["organisation.active"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
    )


TOKEN_COLUMNS = (
    ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.organisation, ApiToken.organisation.active,
    ApiToken.prefix, ApiToken.created_at, ApiToken.revoked_at,
)  # fmt: skip


async def list_tokens(*, include_revoked: bool = True) -> TokenList:
    """Every token (never its secret): who holds it, its role and organisation, whether it is revoked."""
    query = ApiToken.select(*TOKEN_COLUMNS).order_by(ApiToken.id)
    if not include_revoked:
        query = query.where(ApiToken.revoked_at.is_null())
    rows = await query
    return TokenList(items=[_token_out(r) for r in rows], total=len(rows))


async def revoke_token(token_id: int, clock: Clock | None = None) -> TokenOut:
    """Revoke a token (idempotent: a revoked token keeps its first revocation time); 404 when unknown."""
    now = (clock or SystemClock()).now()
    async with write_transaction():
        revoked = await ApiToken.update({ApiToken.revoked_at: now}).where(
            ApiToken.id == token_id, ApiToken.revoked_at.is_null()
        ).returning(ApiToken.id)
        if revoked:
            await counters.bump(counters.ACCESS)  # other instances' token caches
        row = await ApiToken.select(*TOKEN_COLUMNS).where(ApiToken.id == token_id).first()
    token_cache.forget_everywhere()
    if row is None:
        raise NotFound(f"token {token_id} not found", field="id")
    return _token_out(row)
