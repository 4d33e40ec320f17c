"""Identifiers of exact form: the detectors the privacy guard (:mod:`referralnet.matching.privacy`) runs on a text.

They favour precision on the things profiles legitimately contain (dates, ages, counts, sums,
place names) and use check digits wherever a format has them:

* ``CNP`` -- 13 digits (optionally in groups joined by one kind of single
  separator, space or dash) with a valid birth date, county and check digit.
* ``phone number`` -- whatever ``phonenumbers`` accepts as a *valid* number in
  region RO (so Romanian national forms and any ``+``/``00`` international form),
  minus date-shaped matches and numbers too short to be a subscriber number.
* ``e-mail address`` -- ``local@domain.tld`` and bracketed obfuscations such as
  ``name [at] domain [dot] ro`` or ``name(at)domain.ro``.
* ``IBAN`` -- two letters, two digits and 11-30 alphanumerics, optionally in
  space- or dash-separated groups, accepted only if ``stdnum.iban`` validates it.
* ``identity card number`` -- Romanian ID series and number (``CJ 123456``),
  when the series is a known one or the text names the document ("seria",
  "CI", "buletin", "carte de identitate" ...).

Names, dates of birth and street addresses, found by their wording, are in
:mod:`referralnet.matching.person_names` (names) and :mod:`referralnet.matching.identity`.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator

import msgspec
import phonenumbers
from stdnum import iban as stdnum_iban
from stdnum.ro import cnp as stdnum_cnp

CNP = "CNP"
PHONE = "phone number"
EMAIL = "e-mail address"
IBAN = "IBAN"
ID_CARD = "identity card number"

class Finding(msgspec.Struct, frozen=True):
    """One identifier found in a text: its kind and its ``text[start:end]`` span."""

    kind: str
    start: int
    end: int


# --- CNP -------------------------------------------------------------------------

_DIGIT_RUN = re.compile(r"(?<!\d)\d+(?:[ -]\d+)*(?!\d)")
_DIGIT_GROUP = re.compile(r"\d+")
_CNP_LENGTH = 13
# 01-52 are counties and Bucharest sectors; 70 is used for CNPs issued since 2024.
_CNP_COUNTIES = frozenset(f"{n:02d}" for n in range(1, 53)) | {"70"}
_CENTURIES = {"1": 1900, "2": 1900, "3": 1800, "4": 1800, "5": 2000, "6": 2000}


def _is_cnp(digits: str) -> bool:
    """stdnum's validation, widened to county 70 and to residents' (7/8/9) birth years.

    Older python-stdnum releases reject county code 70 (CNPs issued since 2024),
    and stdnum dates residents' codes in the 1900s, which loses 29 February 2000;
    so on rejection the check digit, county and birth date are checked here.
    """
    if stdnum_cnp.is_valid(digits):
        return True
    return (
        len(digits) == _CNP_LENGTH
        and digits.isdigit()
        and digits[0] != "0"
        and stdnum_cnp.calc_check_digit(digits[:-1]) == digits[-1]
        and digits[7:9] in _CNP_COUNTIES
        and _is_birth_date(digits)
    )


def _is_birth_date(digits: str) -> bool:
    # Residents' codes (7, 8, 9) do not encode the century: 2000 + YY is leap whenever 1900 + YY is.
    year = _CENTURIES.get(digits[0], 2000) + int(digits[1:3])
    try:
        datetime.date(year, int(digits[3:5]), int(digits[5:7]))
    except ValueError:
        return False
    return True


def _find_cnps(text: str) -> Iterator[Finding]:
    for run in _DIGIT_RUN.finditer(text):
        groups = list(_DIGIT_GROUP.finditer(text, run.start(), run.end()))
        i = 0
        while i < len(groups):
            j = _cnp_end(text, groups, i)
            if j is None:
                i += 1
                continue
            yield Finding(CNP, groups[i].start(), groups[j].end())
            i = j + 1


def _cnp_end(text: str, groups: list[re.Match[str]], i: int) -> int | None:
    """Index of the last group of a CNP starting at ``groups[i]``, or None.

    Groups may be joined only by one kind of separator, so that an ISO date
    followed by a count ("2024-03-12 5") never forms a candidate.
    """
    digits = ""
    separator = None
    for j in range(i, len(groups)):
        if j > i:
            gap = text[groups[j - 1].end() : groups[j].start()]
            if separator not in (None, gap):
                return None
            separator = gap
        digits += groups[j].group()
        if len(digits) >= _CNP_LENGTH:
            return j if _is_cnp(digits) else None
    return None


# --- phone numbers ---------------------------------------------------------------

_DATE_LIKE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
_MIN_NATIONAL_DIGITS = 9  # every Romanian number has 9 national significant digits
_MIN_INTERNATIONAL_DIGITS = 7  # "+45 32 12 34 56" has 8
_MAX_BARE_DIGITS = 12  # without "+" or "00": at most "40" + "0" + 9 national digits


# A calendar date (day.month.year or year-month-day) standing alone, not part of a longer digit run.
_DATE = re.compile(
    r"(?<![\d./-])(?:(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-]\d{4}|\d{4}[./-](?P<m2>\d{1,2})[./-](?P<d2>\d{1,2}))(?![./-]?\d)"
)


def _without_dates(text: str) -> str:
    """``text`` with calendar dates blanked (same offsets), so "07.01.2000 10 copii" is no phone number."""

    def blank(m: re.Match[str]) -> str:
        day, month = int(m.group("d") or m.group("d2")), int(m.group("m") or m.group("m2"))
        return " " * len(m.group()) if 1 <= day <= 31 and 1 <= month <= 12 else m.group()

    return _DATE.sub(blank, text)


def _find_phones(text: str) -> Iterator[Finding]:
    matcher = phonenumbers.PhoneNumberMatcher(_without_dates(text), "RO", leniency=phonenumbers.Leniency.VALID)
    for match in matcher:
        raw = match.raw_string
        if _DATE_LIKE.fullmatch(raw):
            continue
        international = raw.lstrip("(").startswith(("+", "00"))
        minimum = _MIN_INTERNATIONAL_DIGITS if international else _MIN_NATIONAL_DIGITS
        if len(phonenumbers.national_significant_number(match.number)) < minimum:
            continue
        if not international and sum(c.isdigit() for c in raw) > _MAX_BARE_DIGITS:
            continue  # CNP-shaped (e.g. a wrong check digit), not "40" + a Romanian number
        yield Finding(PHONE, match.start, match.end)


# --- e-mail addresses ------------------------------------------------------------

_OPEN, _CLOSE = r"[\[({<]", r"[\])}>]"
_AT = rf"(?:\s*@\s*|\s*{_OPEN}\s*(?i:at|@|arond)\s*{_CLOSE}\s*)"
_DOT = rf"(?:\.|\s*{_OPEN}\s*(?i:dot|punct|\.)\s*{_CLOSE}\s*)"
_EMAIL = re.compile(rf"[\w%+-]+(?:\.[\w%+-]+)*{_AT}[\w-]+(?:{_DOT}[\w-]+)*{_DOT}[A-Za-z]{{2,}}(?![\w-])")


def _find_emails(text: str) -> Iterator[Finding]:
    for match in _EMAIL.finditer(text):
        yield Finding(EMAIL, match.start(), match.end())


# --- IBAN ------------------------------------------------------------------------

# Candidate: country code and check digits, then alphanumeric groups joined by a
# single space or dash.  The candidate may swallow following words; prefixes are
# tried from the longest down.
_IBAN_CANDIDATE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}[A-Za-z0-9]*(?:[ -][A-Za-z0-9]+){0,12}")
_IBAN_PART = re.compile(r"[A-Za-z0-9]+")
_IBAN_MIN, _IBAN_MAX = 15, 34


def _find_ibans(text: str) -> Iterator[Finding]:
    pos = 0
    while candidate := _IBAN_CANDIDATE.search(text, pos):
        end = _iban_end(candidate.group())
        if end is None:
            pos = candidate.start() + 1
            continue
        yield Finding(IBAN, candidate.start(), candidate.start() + end)
        pos = candidate.start() + end


def _iban_end(candidate: str) -> int | None:
    """Length of the longest valid IBAN made of whole groups at the start of ``candidate``."""
    parts = list(_IBAN_PART.finditer(candidate))
    for last in reversed(range(len(parts))):
        compact = "".join(part.group() for part in parts[: last + 1])
        if _IBAN_MIN <= len(compact) <= _IBAN_MAX and stdnum_iban.is_valid(compact):
            return parts[last].end()
    return None


# --- Romanian identity cards -----------------------------------------------------

# Series printed on Romanian identity cards (and old "buletine"), by issuing county.
KNOWN_ID_SERIES = frozenset(
    """
    AB AR AS AX AZ BC BV BZ CJ CT DD DP DR DT DX DZ GG GL GZ HD HR IF IZ KL KS KT KV KX KZ
    MH MM MS MX MZ NT OT PH PX RD RK RR RT RX RZ SB SM SV SX SZ TC TM TR TZ VN VS VX XB XC
    XH XM XR XT XV XZ ZC ZD ZH ZL ZS ZV
    """.split()
)

_NUMBER_WORD = r"(?:(?i:nr|no|num[aă]r(?:ul)?|number)\.?\s*:?\s*)"
_ID_BARE = re.compile(rf"(?<![A-Za-z0-9])(?P<series>[A-Z]{{2}})(?: ?|\s+{_NUMBER_WORD})\d{{6}}(?!\d)")
_ID_CONTEXT_WORD = (
    r"(?i:\bseri[ae]i?\b|\bC\.\s?I\.?|\bCI\b|\bB\.\s?I\.?|\bBI\b|\bbuletin(?:ul|ului)?\b"
    r"|\bcart(?:e|ea|ii)\s+de\s+identitate|\bact(?:ul)?\s+de\s+identitate|\bidentity\s+card|\bID\b(?:\s+card)?)"
)
_ID_IN_CONTEXT = re.compile(
    rf"{_ID_CONTEXT_WORD}[\s:,.-]*(?:(?i:seria)\s*:?\s*)?"
    rf"(?P<series>[A-Z]{{2}})[\s:,.-]*{_NUMBER_WORD}?\d{{6}}(?!\d)"
)


def _find_id_cards(text: str) -> Iterator[Finding]:
    for match in _ID_IN_CONTEXT.finditer(text):
        yield Finding(ID_CARD, match.start("series"), match.end())
    for match in _ID_BARE.finditer(text):
        if match.group("series") in KNOWN_ID_SERIES:
            yield Finding(ID_CARD, match.start("series"), match.end())


# --- every detector, and which need few digits ------------------------------------

DETECTORS = (_find_cnps, _find_ibans, _find_emails, _find_id_cards, _find_phones)
# CNPs (13), identity cards (6) and phone numbers (7 or more) all need at least this many digits.
MIN_DIGITS = 6
FEW_DIGITS_DETECTORS = (_find_ibans, _find_emails)


__all__ = [
    "CNP",
    "DETECTORS",
    "EMAIL",
    "FEW_DIGITS_DETECTORS",
    "IBAN",
    "ID_CARD",
    "KNOWN_ID_SERIES",
    "MIN_DIGITS",
    "PHONE",
    "Finding",
]
