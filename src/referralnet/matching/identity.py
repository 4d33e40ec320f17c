"""Identity in words: dates of birth and street addresses in free text.

The companion of :mod:`referralnet.matching.privacy` (which finds numbered identifiers),
for Romanian, English, Ukrainian and Russian notes:

* ``date of birth`` -- a full date (``12.11.1998``, ``1998-11-12``, ``12 noiembrie 1998``,
  ``November 12, 1998``, ``12 листопада 1998``) after a birth word (născut/născută, data
  nașterii, born, DOB, народився/народилася, дата народження, родился/родилась, дата
  рождения ...), or after a short marker (``n.``, ``b.``, ``д.н.``, ``г.р.``) when the date
  makes the person 0-100 years old on ``today``.  Event dates pass.
* ``street address`` -- a street word (Str., Strada, Bd., Bulevardul, Aleea, Șos., Intrarea,
  Splaiul, вул., вулиця, ул., улица, просп., пров. ...) before a capitalised name or a number;
  Calea, Piața and Drumul only with a house number (``Calea Victoriei 12``; "Piața Unirii" and
  "Drumul Taberei" are places people meet); block and flat numbers (``bl. A3``, ``ap. 12``,
  ``кв. 5``, ``буд. 7``); ``nr. 5`` beside them; English ``12 Florilor Street``, ``Flat 4``.

People's names, the third kind found by wording (``NAME``), are in :mod:`referralnet.matching.person_names`.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Iterator

NAME = "person's name"
BIRTH_DATE = "date of birth"
ADDRESS = "street address"


def fold(text: str) -> str:
    """Lower case without diacritics (ș, ş and s alike; й and и, ё and е alike)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("ʼ", "'").replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


# --- dates of birth ----------------------------------------------------------------

_MONTHS = {
    1: "ian ianuarie january jan січня січень января январь",
    2: "feb februarie february лютого лютий февраля февраль",
    3: "mar martie march березня березень марта март",
    4: "apr aprilie april квітня квітень апреля апрель",
    5: "mai may травня травень мая май",
    6: "iun iunie june jun червня червень июня июнь",
    7: "iul iulie july jul липня липень июля июль",
    8: "aug august серпня серпень августа август",
    9: "sep sept septembrie september вересня вересень сентября сентябрь",
    10: "oct octombrie october жовтня жовтень октября октябрь",
    11: "nov noiembrie november листопада листопад ноября ноябрь",
    12: "dec decembrie december грудня грудень декабря декабрь",
}
_MONTH_OF = {fold(word): number for number, words in _MONTHS.items() for word in words.split()}

_FULL_DATE = re.compile(
    r"(?<![\d./-])(?:"
    r"(?P<d>\d{1,2})\s?[./-]\s?(?P<m>\d{1,2})\s?[./-]\s?(?P<y>\d{4}|\d{2})"
    r"|(?P<y2>\d{4})[./-](?P<m2>\d{1,2})[./-](?P<d2>\d{1,2})"
    # any word in the month's place (checked against the month names after matching: far faster than an alternation)
    r"|(?P<d3>\d{1,2})(?:-?(?:a|st|nd|rd|th|го))?\.?\s+(?P<m3>[^\W\d_]{3,10})\.?,?\s+(?P<y3>\d{4})"
    r"|\b(?P<m4>[^\W\d_]{3,10})\.?\s+(?P<d4>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y4>\d{4})"
    r")(?![./-]?\d)",
)
# Words that say the next date is a birth date; up to a few words may stand between ("născută la data de").
_BIRTH_WORD = re.compile(
    r"(?i:\bn[aă]scu[tț](?:[aă]|i|e)?\b|\bdata\s+(?:de\s+)?na[sș]terii\b|\bdata\s+de\s+na[sș]tere\b|\bziua\s+de\s+na[sș]tere\b"
    r"|\bborn\b|\bd\.?\s?o\.?\s?b\b\.?|\bdate\s+of\s+birth\b|\bbirth\s?date\b|\bbirthday\b"
    r"|\bнарод(?:ився|илася|илась|илися)\b|\bнароджен(?:ий|а|ого|ої)\b|\bдата\s+народження\b|\bдень\s+народження\b"
    r"|\bродил(?:ся|ась|ись)\b|\bрожд[её]нн?(?:ый|ая|ого|ой|а)?\b|\bдата\s+рождения\b|\bдень\s+рождения\b)"
)
_BIRTH_GAP = re.compile(r"[^\d.!?\n]{0,30}?$|[^\d!?\n]{0,4}$")
# Short markers: only when the date would make the person 0-100 years old.
_BIRTH_MARK = re.compile(r"(?:(?<![\w.])(?:n|b|d\.\s?n|д\.\s?н|р\.\s?н)\.|(?i:\bг\.\s?р\.?))\s*:?\s*$")

_BIRTH_MARK_AFTER = re.compile(r"\s*(?:р\.\s?н|г\.\s?р|р\.\s?р)\.?")


def _date_of(m: re.Match[str]) -> datetime.date | None:
    if m.group("d"):
        day, month, year = int(m.group("d")), int(m.group("m")), m.group("y")
    elif m.group("y2"):
        day, month, year = int(m.group("d2")), int(m.group("m2")), m.group("y2")
    elif m.group("m3"):
        day, month, year = int(m.group("d3")), _MONTH_OF.get(fold(m.group("m3")), 0), m.group("y3")
    else:
        day, month, year = int(m.group("d4")), _MONTH_OF.get(fold(m.group("m4")), 0), m.group("y4")
    full_year = int(year) if len(year) == 4 else None
    try:
        return datetime.date(full_year or 2000, month, day) if full_year or len(year) == 2 else None
    except ValueError:
        return None


def _age_on(born: datetime.date, today: datetime.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def find_birth_dates(text: str, today: datetime.date) -> Iterator[tuple[int, int]]:
    for m in _FULL_DATE.finditer(text):
        born = _date_of(m)
        if born is None:
            continue
        two_digit_year = bool(m.group("y")) and len(m.group("y")) == 2
        before = text[max(0, m.start() - 60) : m.start()]
        words = list(_BIRTH_WORD.finditer(before))
        word = words[-1] if words else None
        if word is not None and _BIRTH_GAP.match(before, word.end()):
            yield m.start(), m.end()
        elif (
            not two_digit_year
            and (_BIRTH_MARK.search(before) or _BIRTH_MARK_AFTER.match(text, m.end()))
            and 0 <= _age_on(born, today) <= 100
        ):
            yield m.start(), m.end()


# --- street addresses --------------------------------------------------------------

_CAP = r"(?:[A-ZĂÂÎȘŞȚŢА-ЯІЇЄҐЁ][\w'ʼ’-]*)"
_HOUSE = r"(?:\d{1,4}[A-Za-zА-Яа-я]?(?![\d.,]\d))"
_NAME_OR_NUMBER = rf"(?:{_CAP}|\d{{1,4}})"
# Street words that make an address with a capitalised name alone; the clear abbreviations with any word.
_STREET_ABBREVIATION = r"(?:\b(?i:str|bd|b-dul|bdul|bld|șos|şos|sos|вул|ул|просп|пр-т)\.\s*)"
_STREET = (
    r"(?:\b(?i:al|int|spl|пров|пер|бульв|бул|пл|ш)\.\s*"
    r"|(?<!La )(?<!la )\b(?:[Ss]trada|[Bb]ulevardul|[Aa]leea|[ȘŞ]oseaua|Soseaua|[Ii]ntrarea|[Ss]plaiul"
    r"|вулиця|вулиці|улица|улице|проспект|провулок|переулок|бульвар|шосе|шоссе)\s+)"
)
# Street words that are also everyday places: an address only with a house number.
_PLACE_STREET = r"(?:\b(?:Calea|Piața|Piaţa|Piata|Drumul|площа|площадь|Street|Road|Avenue|Lane)\s+)"
_ADDRESS_PATTERNS = [
    re.compile(rf"{_STREET_ABBREVIATION}(?:[^\W\d_]{{2,}}|\d{{1,4}})"),
    re.compile(rf"{_STREET}{_NAME_OR_NUMBER}"),
    re.compile(rf"{_PLACE_STREET}(?:{_CAP}\s+){{1,3}}(?:(?i:nr)\.?\s*)?{_HOUSE}\b"),
    # Block, flat, house: bl. A3, ap. 12, кв. 5, буд. 7, д. 5 кв. 3
    re.compile(r"(?<![\w.])(?:bl|bloc|ap|apt)\.\s*[A-Za-z]?\d{1,4}[A-Za-z]?\b"),
    re.compile(r"(?<![\w.])(?i:кв|буд|корп)\.\s*\d{1,4}"),
    re.compile(r"(?<![\w.])(?:sc|et|nr|д)\.\s*[A-Z0-9]{1,4}\s*,?\s*(?:bl|sc|ap|et|кв)\.\s*[A-Z0-9]{1,4}\b"),
    # English: "12 Florilor Street", "Flat 4"
    re.compile(rf"\b{_HOUSE}\s+(?:{_CAP}\s+){{1,3}}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Boulevard|Blvd|Drive|Way)\b\.?"),
    re.compile(r"\b(?:Flat|Apt|Apartment)\.?\s+\d{1,4}[A-Za-z]?\b"),
    # "lives at/on Florilor nr. 5", "domiciliată pe Florilor 5"
    re.compile(
        r"(?i:\blocuie[sș]te|\bdomicili(?:u|ul|at[aă]?)|\badres[aă]|\blives|\baddress|\bпроживає|\bпроживает|\bживе|\bживет|\bадрес[аи]?)"
        rf"[^.\n\d]{{0,25}}?\b{_CAP}\s+(?:(?i:nr)\.?\s*)?{_HOUSE}\b"
    ),
]


def find_addresses(text: str) -> Iterator[tuple[int, int]]:
    for pattern in _ADDRESS_PATTERNS:
        for m in pattern.finditer(text):
            yield m.start(), m.end()


__all__ = ["ADDRESS", "BIRTH_DATE", "NAME", "find_addresses", "find_birth_dates", "fold"]
