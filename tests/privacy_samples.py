"""Seeded generators of names, dates of birth and street addresses inside notes (RO, EN, UK, RU),
and the corpus of realistic notes, for the privacy guard's tests and bench/privacy.py.

Names: given names and surnames from Faker's ro_RO, uk_UA and ru_RU person providers (a test
dependency), in Latin and Cyrillic letters, in either order; the guard's list is built from the same
providers, so these figures measure the rule on names of the covered groups, not on names outside them.
"""

from __future__ import annotations

import datetime
import random
from pathlib import Path

from faker.providers.person.ro_RO import Provider as RoNames
from faker.providers.person.ru_RU import Provider as RuNames
from faker.providers.person.uk_UA import Provider as UkNames

DATA = Path(__file__).resolve().parent / "data"
SENTENCES = DATA / "notes-sentences.txt"
CORPUS = DATA / "notes-corpus.txt"

RO_SURNAMES = list(RoNames.last_names) + (
    "Popa Radu Munteanu Matei Lungu Rusu Ciobanu Moldovan Sandu Ungureanu Constantin Gheorghe Lazăr Ilie Vasile "
    "Stoian Mihai Neagu Costache Dragomir Bălan Grigore Căpraru Ursu Tănase Paraschiv Olteanu Manea Zamfir Chiriac "
    "Rotaru Cojocaru Botnaru Rusnac Ceban Țurcanu Lupu Cebotari Lungu Bivol Postolache Caraman Vrânceanu"
).split()
UK_TRANSLIT = dict(
    zip(
        "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'ʼ",
        "a b v h g d e ie zh z y i i i k l m n o p r s t u f kh ts ch sh shch _ iu ia _ _".split(),
    )
)


def _latin(name: str) -> str:
    return "".join(UK_TRANSLIT.get(c, c) for c in name.lower()).replace("_", "").capitalize()


def _first(rng: random.Random, provider: type) -> str:
    return rng.choice(list(provider.first_names))


def person_name(rng: random.Random) -> str:
    group = rng.choice(["ro", "ro", "ro", "uk", "uk-latin", "ru"])
    if group == "ro":
        given, surname = _first(rng, RoNames), rng.choice(RO_SURNAMES)
        form = rng.choice(["gs", "gs", "sg", "g-g s", "g S", "S g"])
        if form == "g-g s":
            return f"{given}-{_first(rng, RoNames)} {surname}"
        if form == "g S":
            return f"{given} {surname.upper()}"
        if form == "S g":
            return f"{surname.upper()} {given}"
        return f"{given} {surname}" if form == "gs" else f"{surname} {given}"
    if group == "uk-latin":
        return f"{_latin(_first(rng, UkNames))} {_latin(rng.choice(list(UkNames.last_names)))}"
    provider = UkNames if group == "uk" else RuNames
    given, surname = _first(rng, provider), rng.choice(list(provider.last_names))
    return rng.choice([f"{given} {surname}", f"{surname} {given}"])


NAME_NOTES = [
    "Victima {x} are nevoie de adăpost.",
    "{x}, 24 de ani, exploatată în Spania.",
    "Numele ei este {x}; are nevoie de consiliere.",
    "S-a prezentat cu fiul ei și cu {x}.",
    "Her name is {x} and she needs shelter.",
    "{x} arrived from Italy last week.",
    "{x} потребує притулку.",
    "Мати, {x}, приїхала з Одеси.",
    "{x} нуждается в убежище.",
    "Сопровождает её {x}, двоюродный брат.",
]

BIRTH_WORDS = [
    "născută la {d}",
    "născut pe {d}",
    "născută în data de {d}",
    "data nașterii: {d}",
    "data nasterii {d}",
    "n. {d}",
    "(n. {d})",
    "born {d}",
    "born on {d}",
    "DOB: {d}",
    "D.O.B. {d}",
    "date of birth {d}",
    "b. {d}",
    "народилася {d}",
    "народився {d}",
    "дата народження: {d}",
    "родилась {d}",
    "родился {d}",
    "дата рождения {d}",
    "{d} г.р.",
]
MONTHS = {
    "ro": "ianuarie februarie martie aprilie mai iunie iulie august septembrie octombrie noiembrie decembrie",
    "en": "January February March April May June July August September October November December",
    "uk": "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня",
    "ru": "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
}


def birth_date(rng: random.Random, today: datetime.date) -> str:
    born = today - datetime.timedelta(days=rng.randint(1, 99 * 365))
    wording = rng.choice(BIRTH_WORDS)
    lang = "uk" if any(c in wording for c in "ії") else "ru" if any("а" <= c <= "я" for c in wording) else rng.choice(["ro", "en"])
    month = MONTHS[lang].split()[born.month - 1]
    layouts = [f"{born:%d.%m.%Y}", f"{born:%d/%m/%Y}", f"{born:%Y-%m-%d}", f"{born.day} {month} {born.year}", f"{born.day}.{born.month}.{born.year}"]
    if lang == "en":
        layouts.append(f"{month} {born.day}, {born.year}")
    date = rng.choice(layouts)
    text = wording.format(d=date)
    return rng.choice(["Victima, {x}, are nevoie de adăpost.", "She was {x} in Vaslui.", "{x}; потребує притулку.", "Клиентка {x}, нужна помощь."]).format(x=text)


STREETS = "Florilor Teilor Zorilor Păcii Unirii Libertății Independenței Trandafirilor Mihai Viteazu Republicii Gării Morii".split()
UK_STREETS = "Шевченка Хрещатик Франка Грушевського Садова Миру Соборна".split()
RU_STREETS = "Ленина Пушкина Гагарина Садовая Мира Советская Лесная".split()


def street_address(rng: random.Random) -> str:
    n, ap, street = rng.randint(1, 180), rng.randint(1, 120), rng.choice(STREETS)
    forms = [
        f"Str. {street} {n}",
        f"str. {street} nr. {n}",
        f"Strada {street} nr. {n}",
        f"Strada {street}, nr. {n}, bl. A{rng.randint(1, 9)}, sc. {rng.choice('ABC')}, ap. {ap}",
        f"Bd. {street} {n}",
        f"Bulevardul {street} nr. {n}",
        f"Calea {street} {n}",
        f"Aleea {street} {n}",
        f"Șos. {street} nr. {n}",
        f"Piața {street} nr. {n}",
        f"bl. {rng.randint(1, 40)}, ap. {ap}",
        f"{n} {street} Street",
        f"Flat {ap}, {n} {street} Road",
        f"вул. {rng.choice(UK_STREETS)}, {n}, кв. {ap}",
        f"вулиця {rng.choice(UK_STREETS)} {n}",
        f"ул. {rng.choice(RU_STREETS)}, д. {n}, кв. {ap}",
        f"улица {rng.choice(RU_STREETS)} {n}",
        f"просп. {rng.choice(RU_STREETS)} {n}",
    ]
    template = rng.choice(
        ["Locuiește pe {x}, Vaslui.", "Domiciliată în {x}.", "She lives at {x}, Iași.", "Проживає: {x}, Одеса.", "Адрес: {x}, Кишинёв."]
    )
    return template.format(x=rng.choice(forms))


def named_note(rng: random.Random) -> str:
    return rng.choice(NAME_NOTES).format(x=person_name(rng))


def sentences() -> list[str]:
    lines = SENTENCES.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def build_corpus(seed: int = 14, combined: int = 420) -> list[str]:
    """Every sentence alone, then ``combined`` notes of two or three sentences in one alphabet."""
    rng = random.Random(seed)
    alone = sentences()
    cyrillic = [s for s in alone if any("а" <= c.lower() <= "я" or c in "іїєґ" for c in s)]
    latin = [s for s in alone if s not in cyrillic]
    notes = list(alone)
    for _ in range(combined):
        pool = cyrillic if rng.random() < 0.3 else latin
        notes.append(" ".join(rng.sample(pool, rng.choice([2, 2, 3]))))
    return notes


def corpus() -> list[str]:
    return [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
