"""Who is calling: the actor a bearer token resolves to."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from referralnet.base import Output
from referralnet.vocabulary.codes import Role


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    token_id: int | None
    name: str
    role: Role
    organisation_id: int | None = None
    # "link": an organisation answering an offer through a signed one-click link, without a token.
    # "session": a person signed in to the pages (person_id set, token_id None).
    via: Literal["token", "link", "session"] = "token"
    person_id: int | None = None
    # The networks a secretariat person or token is bound to: their views default to, and are limited to,
    # those networks' members (directory/networks.scope_for). Empty: the whole directory.
    networks: tuple[str, ...] = ()
    # A bound secretariat's networks' members, read for each request (directory/networks.in_scope): the only
    # organisations it manages, whose confidential sites it sees and whose referrals it reads. None: not read.
    members: frozenset[int] | None = None

    @property
    def is_staff(self) -> bool:
        """Secretariat and admin review and manage the directory (a bound secretariat: its networks' members)."""
        return self.role in ("secretariat", "admin")

    @property
    def bound(self) -> bool:
        """A secretariat limited to its networks' members (:attr:`members`)."""
        return self.role == "secretariat" and bool(self.networks)

    def in_scope(self, organisation_id: int) -> bool:
        """Staff rights reach this organisation: any for an admin or an unbound secretariat, a member for a bound one."""
        if self.bound:
            return self.members is not None and organisation_id in self.members  # unread members: nothing
        return self.is_staff

    @property
    def label(self) -> str:
        """How the actor appears in histories: ``ngo:<token name>``, or ``link:<organisation>`` for a one-click link."""
        return f"link:{self.name}" if self.via == "link" else f"{self.role}:{self.name}"

    def owns(self, organisation_id: int) -> bool:
        return self.role == "ngo" and self.organisation_id == organisation_id

    def can_manage(self, organisation_id: int) -> bool:
        return self.in_scope(organisation_id) or self.owns(organisation_id)


SYSTEM = Actor(token_id=None, name="system", role="admin")


class TokenOut(Output):
    """A token as listed to admins: never the token itself, only its first characters."""

    id: int
    name: str
    role: Role
    organisation_id: int | None
    # False when the token's organisation is deactivated (its token is then refused).
    organisation_active: bool | None
    prefix: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class TokenList(Output):
    items: list[TokenOut]
    total: int
