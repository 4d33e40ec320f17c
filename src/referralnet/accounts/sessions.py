"""Sign-in, sessions in the database, the sign-in rate limit, and the audit of each.

A session resolves to the same :class:`Actor` a bearer token does, so every service stays the same.
It ends after ``IDLE`` without a request, ``TOTAL`` after sign-in, at sign-out, and at once when the
person is deactivated or their role, organisation or password changes (``changed_at`` after sign-in).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets

import msgspec

from referralnet.accounts import passwords, people
from referralnet.accounts.schemas import Actor
from referralnet.audit import audit
from referralnet.db import write_transaction
from referralnet.directory.networks import bound_codes
from referralnet.errors import DomainError
from referralnet.tables import Person, PersonSession, SignInFailure
from referralnet.texts import N_

IDLE = dt.timedelta(minutes=30)
TOTAL = dt.timedelta(hours=12)
WINDOW = dt.timedelta(minutes=15)
MAX_PER_ACCOUNT = 5
MAX_PER_ADDRESS = 20
# Refresh seen_at at most this often: a write per page view would queue behind every other SQLite writer.
TOUCH_EVERY = dt.timedelta(minutes=1)


class TooManyAttempts(DomainError):
    """Too many failed sign-ins; ``retry_after`` seconds until the oldest counted failure leaves the window."""

    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(N_("too many failed sign-ins; try again later"), field="email")
        self.retry_after = retry_after


class SignInFailed(DomainError):
    """E-mail or password wrong, never saying which."""

    status_code = 401

    def __init__(self) -> None:
        super().__init__(N_("the e-mail address or the password is not right"), field="password")


class Session(msgspec.Struct, frozen=True, kw_only=True):
    token: str  # the cookie's value, shown once
    actor: Actor


def _actor(row: dict, networks: tuple[str, ...] = ()) -> Actor:
    return Actor(token_id=None, name=row["name"], role=row["role"], organisation_id=row["organisation"], via="session",
                 person_id=row["id"], networks=networks)  # fmt: skip


async def _networks(row: dict) -> tuple[str, ...]:
    """A secretariat person's bound networks (read on every request: a binding changes the next one)."""
    return await bound_codes("person", row["id"]) if row["role"] == "secretariat" else ()


async def _retry_after(email: str, address: str, now: dt.datetime) -> int | None:
    """Seconds to wait when the account or the address is over its limit, else ``None``."""
    since = now - WINDOW
    for column, value, limit in ((SignInFailure.email, email, MAX_PER_ACCOUNT), (SignInFailure.address, address, MAX_PER_ADDRESS)):
        rows = await SignInFailure.select(SignInFailure.at).where(column == value, SignInFailure.at > since).order_by(
            SignInFailure.at, ascending=False
        ).limit(limit)
        if len(rows) >= limit:
            oldest = rows[-1]["at"]
            return max(1, int((oldest + WINDOW - now).total_seconds()) + 1)
    return None


async def sign_in(email: str, password: str, address: str, now: dt.datetime) -> Session:
    """A new session for the right e-mail and password; failures are counted and audited."""
    email = people.normalise_email(email)
    wait = await _retry_after(email, address, now)
    if wait is not None:
        await _audit_anonymous(None, now, "sign_in", "rate_limited")
        raise TooManyAttempts(wait)
    row = await people.person_by_email(email)
    # argon2 takes tens of milliseconds of CPU: off the event loop, so other requests go on meanwhile.
    ok, new_hash = await asyncio.to_thread(passwords.verify, row["password_hash"] if row and row["active"] else None, password)
    if not ok or row is None:
        async with write_transaction():
            await SignInFailure.insert(SignInFailure(email=email, address=address, at=now))
        await _audit_anonymous(row["id"] if row else None, now, "sign_in", "failed")
        raise SignInFailed()  # the 5th failure still says so; the 6th attempt is the one refused
    if new_hash is not None:
        await people.store_rehash(row["id"], new_hash)
    clear = secrets.token_urlsafe(32)
    async with write_transaction():
        await PersonSession.insert(PersonSession(person=row["id"], token_hash=people.digest(clear), created_at=now, seen_at=now))
    actor = _actor(row, await _networks(row))
    await audit(actor, now, object_type="person", object_id=row["id"], action="sign_in", outcome="allowed")
    return Session(token=clear, actor=actor)


async def _audit_anonymous(person_id: int | None, now: dt.datetime, action: str, outcome: str) -> None:
    # "anonymous" is no role anyone holds, so the audit row cannot be mistaken for a person's action.
    who = Actor(token_id=None, name="anonymous", role="anonymous", via="session")  # type: ignore[arg-type]
    await audit(who, now, object_type="person", object_id=person_id, action=action, outcome=outcome)


async def actor_for_session(token: str, now: dt.datetime, *, touch: bool = True) -> Actor | None:
    """The actor of a live session, or ``None`` (unknown, ended, idle, too old, or the person changed).

    ``touch=False`` for a page's own background refresh: it must not keep an unattended session alive.
    """
    row = (
        await PersonSession.select(
            PersonSession.id, PersonSession.created_at, PersonSession.seen_at,
            PersonSession.person.id, PersonSession.person.name, PersonSession.person.role,
            PersonSession.person.organisation, PersonSession.person.active, PersonSession.person.changed_at,
        )  # fmt: skip
        .where(PersonSession.token_hash == people.digest(token), PersonSession.ended_at.is_null())
        .first()
    )
    if row is None:
        return None
    person = {k.removeprefix("person."): v for k, v in row.items() if k.startswith("person.")}
    live = (
        person["active"]
        and person["changed_at"] <= row["created_at"]
        and now - row["seen_at"] < IDLE
        and now - row["created_at"] < TOTAL
    )
    if not live:
        async with write_transaction():
            await PersonSession.update({PersonSession.ended_at: now}).where(PersonSession.id == row["id"])
        return None
    if touch and now - row["seen_at"] >= TOUCH_EVERY:
        async with write_transaction():
            await PersonSession.update({PersonSession.seen_at: now}).where(PersonSession.id == row["id"])
    return _actor(person, await _networks(person))


async def sign_out(token: str, now: dt.datetime) -> None:
    """End the session (if it is live) and audit it."""
    async with write_transaction():
        rows = await PersonSession.update({PersonSession.ended_at: now}).where(
            PersonSession.token_hash == people.digest(token), PersonSession.ended_at.is_null()
        ).returning(PersonSession.person)
    if rows:
        person = await Person.select(Person.id, Person.name, Person.role, Person.organisation).where(Person.id == rows[0]["person"]).first()
        if person is not None:
            await audit(_actor(person), now, object_type="person", object_id=person["id"], action="sign_out", outcome="allowed")


async def request_reset(email: str, now: dt.datetime) -> str | None:
    """A reset link token for an active account, or ``None``; the caller answers the same either way."""
    row = await people.person_by_email(email)
    if row is None or not row["active"]:
        await _audit_anonymous(None, now, "password_reset_request", "unknown")
        return None
    token = await people.make_link(row["id"], "reset", now)
    await _audit_anonymous(row["id"], now, "password_reset_request", "sent")
    return token


async def complete_link(token: str, password: str, now: dt.datetime) -> None:
    """Set a password from an invite or reset link; audited."""
    row = await people.use_link(token, password, now)
    await audit(_actor(row), now, object_type="person", object_id=row["id"], action="password_set", outcome="allowed")
