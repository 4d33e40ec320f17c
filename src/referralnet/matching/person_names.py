"""People's names in free text, found by their wording like the rest of :mod:`referralnet.matching.identity`,
for Romanian, English, Ukrainian and Russian notes:

* ``person's name`` -- a given name from the bundled list (``names/given_names.txt``, see
  ``names/SOURCES.md``) next to a capitalised word (``Maria Ionescu``, ``Popescu Ion``,
  ``Олена Коваленко``), compared without diacritics, unless the pair is part of a place name
  (``Sfântu Gheorghe``, ``Avram Iancu``), a saint's name (``Sf. Maria``, ``Святого Миколая``)
  or an organisation's (``Casa Ioana``, ``Liceul Mihai Eminescu``).
"""

from __future__ import annotations

import functools
import importlib.resources
import re
from collections.abc import Iterator

from referralnet.matching.identity import _MONTH_OF, fold

_TOKEN = re.compile(r"[^\W\d_]+(?:[-'ʼ’][^\W\d_]+)*")
# Between two words of one name: spaces, or a quote around an organisation's name.
_JOIN = re.compile(r"[ \t\u00a0]*[\"„“”«»]?[ \t\u00a0]*")
_SPACE = re.compile(r"[ \t\u00a0]+")

# Capitalised words that stand beside a given name without being a surname.
_NOT_SURNAME = set(
    fold(w)
    for w in """
    În In La Pe De Din Cu Și Si Dar Iar Apoi După Dupa Ea El Ei Ele Eu Noi Voi Azi Ieri Mâine Acum Atunci Când Cand
    Victima Beneficiara Beneficiarul Minora Minorul Clienta Clientul Mama Tata Fiica Fiul Sora Fratele Bunica Bunicul
    Mătușa Unchiul Doamna Domnul Dna Dl Dra Domnișoara Doctor Dr Prof Părintele Pr Maica Fratele Sora Sfântu Sfântul
    Sfânta Sfinții Sfântului Sfintei Sf Sân Sânt Sântu Ziua Hramul Praznicul Sărbătoarea Ajunul Zilei
    The A An She He Her His Him They Their It Its In On At And But Then After Before When While Today Yesterday
    Tomorrow Mrs Mr Ms Miss Mother Father Sister Brother Aunt Uncle Daughter Son Saint St Day Eve Feast Client
    Victim Survivor Dear Hello Hi Thanks From To For With Without Via Per Sir Madam Lady
    В У На З Із Зі Та І Й А Але Потім Після Вона Він Вони Вона Сьогодні Вчора Завтра Мати Мама Батько Сестра Брат
    Пані Пан Святого Святої Святий Свята Святих День Потерпіла Потерпілий Клієнтка Донька Син Тітка Дядько
    Она Он Они И Но Сегодня Вчера Завтра Мать Отец Сестра Брат Госпожа Господин Святой Святая Святого Святых
    Потерпевшая Потерпевший Клиентка Дочь Тётя Дядя Праздник Ден
    Luni Marți Miercuri Joi Vineri Sâmbătă Duminică Monday Tuesday Wednesday Thursday Friday Saturday Sunday
    Понеділок Вівторок Середа Четвер Пʼятниця Субота Неділя Понедельник Вторник Среда Четверг Пятница Суббота
    Воскресенье
    """.split()
) | set(_MONTH_OF)
# Institutions' acronyms and currency codes: beside a given name they are not a surname written in capitals
# ("DIICOT Constanța", "a datorat 10 EUR Constanța").
_ACRONYMS = set(
    """
    ONG NGO DIICOT DGASPC ANITP IGI IGPR IGPF IPJ ITM ONU OIM IOM UE EU SPCLEP CJRAE ANOFM AJOFM CNAS DGPI SRI IML
    UNHCR UNICEF ADPARE CPRU DAS SPAS RO MD UA RU UK USA UNODC OSCE CRP CNRR IJJ DJ CJ ДМС СБУ МВС МВД ГО БФ
    EUR RON LEI USD GBP MDL UAH RUB CHF PLN HUF BGN TRY
    """.split()
)
# Words that open an organisation's or a place's name: a given name after them is part of that name.
_ORG_WORDS = set(
    fold(w)
    for w in """
    Asociația Asociatia Asociației Fundația Fundatia Fundației Casa Casei Centrul Centrului Spitalul Spitalului
    Institutul Institutului Colegiul Colegiului Liceul Liceului Școala Scoala Școlii Grădinița Universitatea
    Universității Biserica Bisericii Parohia Mănăstirea Catedrala Clinica Complexul Direcția Penitenciarul Parcul
    Stadionul Teatrul Muzeul Cartierul Aeroportul Gara Portul Hotelul Hotel Restaurantul Magazinul Fabrica Compania
    Societatea Editura Clubul Proiectul Programul Campania Rețeaua Federația Uniunea Ordinul Premiul Bursa
    Sfântu Sfântul Sfânta Sfinții Sfântului Sfintei Sf Sân Sânt Sântu Sânta Hramul Ziua Praznicul Schitul Capela
    Foundation Association House Centre Center Hospital Clinic School College University Church Cathedral Project
    Programme Program Network Station Airport Saint St Feast Hotel Club Park Museum Theatre Theater
    Фонд Фонду Центр Центру Лікарня Лікарні Больница Больницы Школа Школи Школы Ліцей Лицей Університет
    Университет Церква Церкви Церковь Храм Собор Асоціація Ассоциация Організація Организация Проект Благодійний
    Благотворительный Вокзал Аеропорт Аэропорт Парк Станція Станция Святого Святої Святий Свята Святих Святой
    Святая Святых Св Монастир Монастырь
    """.split()
)
_ORG_AFTER = {
    fold(w)
    for w in """Foundation Association House Centre Center Hospital Clinic School College University Church Street Station
    Park Road Avenue Institute Shelter Home Fund Trust Society Agency Service Services Airport""".split()
}
# Lower-case words inside an organisation's name ("Centrul de Primire în Regim de Urgență Victoria").
_ORG_CONNECTORS = {fold(w) for w in "de din în pentru și al a ale lui cu of for the and in для з і та й по и в при".split()}


@functools.cache
def given_names() -> frozenset[str]:
    """The bundled given names, folded."""
    text = importlib.resources.files("referralnet.matching").joinpath("names/given_names.txt").read_text(encoding="utf-8")
    return frozenset(fold(line) for line in text.splitlines() if line and not line.startswith("#"))


@functools.cache
def _place_names() -> frozenset[str]:
    """Folded names of Romanian localities and counties with more than one word ("sfantu gheorghe")."""
    from referralnet.vocabulary import geo

    names = {loc.name for loc in geo.localities()} | {c.name for c in geo.counties().values()}
    names |= {"Ștefan Vodă", "Alexandru cel Bun", "Ivano-Frankivsk", "Івано-Франківськ", "Ивано-Франковск"}
    return frozenset(_spaced(fold(n)) for n in names if len(re.split(r"[\s-]+", n.strip())) > 1)


@functools.cache
def _town_names() -> frozenset[str]:
    """Folded one-word names of Romanian towns and foreign countries: beside a given name they are no surname."""
    from referralnet.vocabulary import geo

    towns = {loc.name for loc in geo.localities() if loc.kind in ("municipality", "town")} | {c.name for c in geo.counties().values()}
    towns |= set("București Bucuresti Spania Italia Germania Franța Anglia Ucraina Moldova Rusia Turcia Grecia Cipru".split())
    towns |= set("Spain Italy Germany France England Ukraine Russia Turkey Greece Cyprus London Madrid Rome Milan".split())
    return frozenset(fold(t) for t in towns if not re.search(r"[\s-]", t.strip()))


def _spaced(folded: str) -> str:
    return " ".join(re.split(r"[\s-]+", folded.strip()))


def _is_given(token: str) -> bool:
    names = given_names()
    folded = fold(token)
    return folded in names or ("-" in folded and all(part in names for part in folded.split("-")))


def _is_capitalised(token: str) -> bool:
    if not token[0].isupper() or len(token) < 2 or fold(token) in _NOT_SURNAME or fold(token) in _town_names():
        return False
    # two capitals are a county code or an identity card's series ("Constanța CT 123456"), never a surname
    return token not in _ACRONYMS and not (token.isupper() and len(token) < 3)


def find_names(text: str) -> Iterator[tuple[int, int]]:
    tokens = list(_TOKEN.finditer(text))
    # Runs of capitalised words standing next to each other.
    runs: list[list[re.Match[str]]] = []
    for token in tokens:
        word = token.group()
        if not word[0].isupper():
            runs.append([])
            continue
        if runs and runs[-1] and _JOIN.fullmatch(text, runs[-1][-1].end(), token.start()):
            runs[-1].append(token)
        else:
            runs.append([token])
    for run in runs:
        yield from _names_in_run(text, run)


def _names_in_run(text: str, run: list[re.Match[str]]) -> Iterator[tuple[int, int]]:
    if len(run) < 2:
        return
    words = [t.group() for t in run]
    folded = [fold(w) for w in words]
    for i, word in enumerate(words):
        if not _is_given(word):
            continue
        for j in (i + 1, i - 1):
            if not 0 <= j < len(words) or not _is_capitalised(words[j]) or folded[j] in _ORG_WORDS:
                continue
            # spaces only between a given name and its surname (a quote or hyphen parts them)
            a, b = (run[i], run[j]) if i < j else (run[j], run[i])
            if not _SPACE.fullmatch(text, a.end(), b.start()):
                continue
            lo, hi = min(i, j), max(i, j)
            if any(f in _ORG_WORDS for f in folded[:lo]) or (hi + 1 < len(words) and folded[hi + 1] in _ORG_AFTER):
                continue
            if _in_place_name(folded, lo, hi) or _after_saint(text, run[lo]) or _inside_org_name(text, run[0]):
                continue
            yield run[lo].start(), run[hi].end()
            break


def _in_place_name(folded: list[str], lo: int, hi: int) -> bool:
    places = _place_names()
    return any(
        " ".join(_spaced(w) for w in folded[a : b + 1]) in places for a in range(0, lo + 1) for b in range(hi, len(folded))
    )


_WORD_BEFORE = re.compile(r"([^\W\d_]+)[\s\"„“”«»]*$")


def _inside_org_name(text: str, first: re.Match[str]) -> bool:
    """Whether the run starting at ``first`` continues an organisation's name begun a few words before."""
    end = first.start()
    for _ in range(8):
        m = _WORD_BEFORE.search(text, max(0, end - 40), end)
        if m is None:
            return False
        word = fold(m.group(1))
        if word in _ORG_WORDS:
            return True
        if not (m.group(1)[0].isupper() or word in _ORG_CONNECTORS):
            return False
        end = m.start()
    return False


_SAINT_BEFORE = re.compile(r"(?i:\b(?:sf|st|sv|св|sfin[tț]ii|sfin[tț]ilor|sfântului|sfantului|saint|santa|san))\.?\s*$")


def _after_saint(text: str, first: re.Match[str]) -> bool:
    return bool(_SAINT_BEFORE.search(text, max(0, first.start() - 14), first.start()))


__all__ = ["find_names", "given_names"]
