"""Passwords of people: argon2id hashes, and the NIST SP 800-63B rules (length and a blocklist only)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from referralnet.errors import InvalidInput
from referralnet.texts import N_

MIN_LENGTH = 12  # the messages below say these numbers
MAX_LENGTH = 256
_hasher = PasswordHasher()  # argon2id with argon2-cffi's current (RFC 9106 low-memory) parameters
# A hash of nothing in particular, verified when the account does not exist, so that timing does not tell.
_DUMMY = _hasher.hash("referralnet-no-such-account")


@cache
def common_passwords() -> frozenset[str]:
    """The bundled blocklist (source and licence in the file's header)."""
    text = resources.files("referralnet.accounts").joinpath("common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def check_new(password: str) -> None:
    """Refuse a password that is too short, too long or common; the message names the rule, not the value."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(N_("the password must have at least 12 characters"), field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(N_("the password must have at most 256 characters"), field="password")
    if is_common(password):
        raise InvalidInput(N_("this password is too common; choose another"), field="password")


# Keyboard rows and the digit row, walked either way ("qwertyuiopas", "0987654321").
_WALKS = ("1234567890", "qwertyuiopasdfghjklzxcvbnm", "azertyuiopqsdfghjklmwxcvbn", "qwertzuiopasdfghjklyxcvbnm")
# Words of this service that people would reach for (NIST: context-specific words).
_CONTEXT = frozenset({"referralnet", "referral", "mnir", "anitp", "trafic", "trafficking", "parola", "password"})
_PADDING = "0123456789!@#$%^&*()-_=+.,?~ "


def _periodic(text: str) -> bool:
    """The same chunk repeated: "aaaa...", "passwordpassword", "abcabcabcabc"."""
    return any(len(text) % n == 0 and text[:n] * (len(text) // n) == text for n in range(1, len(text) // 2 + 1))


def _sequence(text: str) -> bool:
    """Consecutive characters or digits (digits wrap: "123456789012"), or a keyboard walk."""
    if text.isdigit() and all((int(b) - int(a)) % 10 in (1, 9) for a, b in zip(text, text[1:])):
        return True
    steps = {ord(b) - ord(a) for a, b in zip(text, text[1:])}
    return steps in ({1}, {-1}) or any(text in walk or text in walk[::-1] for walk in _WALKS)


def is_common(password: str) -> bool:
    """In the bundled list, or a trivial variant of a listed or context word (padded with digits or symbols,
    repeated, a sequence or keyboard walk): the list alone holds few passwords of 12 or more characters."""
    text = password.lower()
    core = text.strip(_PADDING)
    listed = common_passwords()
    if text in listed or len(set(text)) < 3 or _periodic(text) or _sequence(text):
        return True
    return core in listed or core in _CONTEXT or bool(core) and (_periodic(core) or _sequence(core))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches; and a new hash when the stored one used older parameters."""
    try:
        _hasher.verify(stored or _DUMMY, password)
        if stored is None:
            return False, None
    except (VerificationError, InvalidHashError):
        return False, None
    return True, (_hasher.hash(password) if _hasher.check_needs_rehash(stored) else None)
