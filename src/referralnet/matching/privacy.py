"""Privacy guard: find personal identifiers in free text before it is stored.

Need profiles describe what a survivor of trafficking needs (shelter, legal aid,
medical care ...) so that NGOs can offer services without learning who the person
is.  Case workers type free text into those profiles, and free text is where a
CNP, a phone number or an IBAN slips in.  ``screen`` walks a decoded request body
and rejects it with :class:`~referralnet.errors.PrivacyViolation` at the first
string that holds an identifier; the error names the field and the kind of
identifier, never the value.

Exact forms (CNP, phone number, e-mail address, IBAN, identity card number) are found by
:mod:`referralnet.matching.identifiers`; names, dates of birth and street addresses by their
wording, by :mod:`referralnet.matching.person_names` (names) and :mod:`referralnet.matching.identity`.
Where two overlap, the exact one is reported.
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping

import msgspec

from referralnet.errors import PrivacyViolation
from referralnet.matching.identifiers import (
    CNP,
    DETECTORS,
    EMAIL,
    FEW_DIGITS_DETECTORS,
    IBAN,
    ID_CARD,
    KNOWN_ID_SERIES,
    MIN_DIGITS,
    PHONE,
    Finding,
)
from referralnet.matching.identity import ADDRESS, BIRTH_DATE, NAME, find_addresses, find_birth_dates
from referralnet.matching.person_names import find_names

# Of overlapping findings of the same sort (exact form, or by wording: _WORDED), the longer wins; on equal length, the earlier kind here.
_PRIORITY = {kind: rank for rank, kind in enumerate((CNP, IBAN, EMAIL, ID_CARD, PHONE, BIRTH_DATE, ADDRESS, NAME))}


def find_identifiers(text: str, today: datetime.date | None = None) -> list[Finding]:
    """All personal identifiers in ``text``, in order of position, without overlaps.

    ``today`` (the injected clock's date; the system's date when None) judges whether a
    date after a short marker ("n. 12.11.1998") makes someone 0-100 years old.
    """
    digits = sum(c.isdigit() for c in text)
    found = [finding for detect in (DETECTORS if digits >= MIN_DIGITS else FEW_DIGITS_DETECTORS) for finding in detect(text)]
    found += _find_identity(text, today or datetime.date.today())
    return sorted(_without_overlaps(found), key=lambda f: f.start)


def _find_identity(text: str, today: datetime.date) -> list[Finding]:
    found = [Finding(NAME, start, end) for start, end in find_names(text)]
    if any(c.isdigit() for c in text):
        found += [Finding(BIRTH_DATE, start, end) for start, end in find_birth_dates(text, today)]
    found += [Finding(ADDRESS, start, end) for start, end in find_addresses(text)]
    return found


# Found by wording, not by an exact format (check digits, syntax): where one overlaps an exact find, the exact one
# is kept. The text is refused either way; its error names the surer identifier (in "0@0.COM Constanța" a name read
# from "COM Constanța" hid the e-mail address).
_WORDED = frozenset({NAME, ADDRESS, BIRTH_DATE})


def _without_overlaps(findings: list[Finding]) -> list[Finding]:
    """The findings that overlap none kept before them: exact kinds first, then the longest, then by ``_PRIORITY``."""
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: (f.kind in _WORDED, f.start - f.end, _PRIORITY[f.kind], f.start)):
        if all(finding.end <= other.start or other.end <= finding.start for other in kept):
            kept.append(finding)
    return kept


def screen(
    value: object, path: str, *, today: datetime.date | None = None, remember: Callable[[str], bool] | None = None
) -> None:
    """Raise ``PrivacyViolation`` for the first string in ``value`` that holds an identifier.

    ``value`` may nest strings in lists, tuples, sets, dicts and msgspec Structs;
    ``path`` names ``value`` and grows as ``path.field``, ``path.key`` and ``path[i]``;
    ``today`` is the injected clock's date where the caller has one. ``remember``: which fields (by
    path) hold codes or places that recur, whose clean texts are then screened once a day; free text
    never is (a note the rules pass may still point to a person), nor a refused text.
    """
    day = today or datetime.date.today()
    for text, parent, key in _texts(value, path):
        if not text or (text, day) in _clean:  # an empty text (a profile's usual note) holds nothing
            continue
        field = _where(parent, key)
        findings = find_identifiers(text, day)
        if findings:
            raise PrivacyViolation(field=field, kind=findings[0].kind)
        if remember is not None and remember(field):
            _remember_clean(text, day)


_REMEMBERED_CHARS = 80
_REMEMBERED_TEXTS = 4096
_clean: dict[tuple[str, datetime.date], None] = {}


def _remember_clean(text: str, day: datetime.date) -> None:
    """Remember a short clean ``text`` for ``day``, dropping the oldest past the bound."""
    if len(text) > _REMEMBERED_CHARS:
        return
    if len(_clean) >= _REMEMBERED_TEXTS:
        del _clean[next(iter(_clean))]
    _clean[(text, day)] = None


def _strings(value: object, path: str) -> Iterator[tuple[str, str]]:
    """Every string in ``value`` with its path, in the order :func:`screen` reads them."""
    return ((_where(parent, key), text) for text, parent, key in _texts(value, path))


def _texts(value: object, path: str) -> Iterator[tuple[str, str, str | int | None]]:
    """:func:`_strings` with each path left in two parts (the container's path, the field, key or index; None:
    ``path`` itself): a screen mostly finds codes it read before and never needs their paths."""
    if isinstance(value, str):
        yield value, path, None
        return
    for key, item in _parts(value):
        if type(item) is str:
            yield item, path, key
        elif type(item) not in _NO_PARTS and (item or not isinstance(item, _CONTAINERS)):  # nothing in an empty list
            yield from _texts(item, _where(path, key))


def _where(path: str, key: str | int | None) -> str:
    if key is None:
        return path
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


_NO_PARTS = frozenset({type(None), bool, int, float})
_CONTAINERS = (list, tuple, set, frozenset, dict)


def _parts(value: object) -> Iterable[tuple[str | int, object]]:
    """The fields (by encoded name), keys or indexes of ``value`` with their values; none for any other value."""
    if isinstance(value, msgspec.Struct):
        return [(encode_name, getattr(value, name)) for name, encode_name in _fields(type(value))]
    if isinstance(value, Mapping):
        return [(str(key), item) for key, item in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(enumerate(value))
    return ()


@functools.cache
def _fields(struct: type[msgspec.Struct]) -> tuple[tuple[str, str], ...]:
    # msgspec.structs.fields re-reads the class annotations on every call (about 1 ms per profile).
    return tuple((f.name, f.encode_name) for f in msgspec.structs.fields(struct))


__all__ = [
    "ADDRESS",
    "BIRTH_DATE",
    "CNP",
    "EMAIL",
    "IBAN",
    "ID_CARD",
    "KNOWN_ID_SERIES",
    "NAME",
    "PHONE",
    "Finding",
    "find_identifiers",
    "screen",
]
