"""Token creation and lookup. Tokens are 256-bit random strings; only their SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets

from referralnet.accounts.schemas import Actor
from referralnet.clock import Clock, SystemClock
from referralnet.errors import InvalidInput, NotFound
from referralnet.tables import ApiToken, Organisation
from referralnet.vocabulary.codes import Role

TOKEN_PREFIX = "rn_"
ROLES: tuple[Role, ...] = ("institution", "ngo", "secretariat", "admin")


def hash_token(token: str) -> str:
    # A fast hash is right here: tokens are random and long, so there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


async def resolve_organisation(ref: str | int) -> int:
    """An organisation id from its numeric id or its slug."""
    ref = str(ref)
    query = Organisation.select(Organisation.id)
    row = await (query.where(Organisation.id == int(ref)) if ref.isdigit() else query.where(Organisation.slug == ref)).first()
    if row is None:
        raise NotFound(f"organisation {ref!r} not found", field="organisation")
    return row["id"]


async def create_token(
    *, role: str, name: str, organisation: str | int | None = None, clock: Clock | None = None
) -> tuple[str, Actor]:
    """Create a token; returns the clear token (shown once) and its actor."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if role == "ngo" and organisation is None:
        raise InvalidInput("an ngo token must be bound to an organisation", field="organisation")
    if role != "ngo" and organisation is not None:
        raise InvalidInput("only ngo tokens are bound to an organisation", field="organisation")
    if not name.strip():
        raise InvalidInput("name must not be empty", field="name")
    org_id = await resolve_organisation(organisation) if organisation is not None else None
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = (clock or SystemClock()).now()
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
    return clear, Actor(token_id=rows[0]["id"], name=name.strip(), role=role, organisation_id=org_id)  # type: ignore[arg-type]


async def actor_for_token(token: str) -> Actor | None:
    """The actor of a valid, unrevoked token, or ``None``."""
    row = (
        await ApiToken.select(ApiToken.id, ApiToken.name, ApiToken.role, ApiToken.organisation)
        .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_null())
        .first()
    )
    if row is None:
        return None
    return Actor(token_id=row["id"], name=row["name"], role=row["role"], organisation_id=row["organisation"])
