"""Rebuild src/referralnet/matching/names/given_names.txt (run by hand; needs `pip install faker`).

The list is the union of Faker's Romanian, Ukrainian and Russian given names (MIT licence),
their Latin transliterations (Ukrainian: the national 2010 system; Russian: the common English
and Romanian spellings, as used for people from Moldova), and the project's own supplement
(names_supplement.txt: Moldovan, Roma and diminutive forms). See names/SOURCES.md.
"""

from __future__ import annotations

import importlib
import unicodedata
from pathlib import Path

import faker

HERE = Path(__file__).resolve().parents[1] / "src" / "referralnet" / "matching" / "names"
# Words that are also common nouns or holiday names in a note ("Медовий Спас", "Дитячий Мир").
DROPPED = {"Мир", "Сила", "Спас", "Ия", "Кир", "Тит", "Пров", "Ким", "Лора", "Мина", "Лев"}

UK = dict(zip("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'ʼ", [
    "a", "b", "v", "h", "g", "d", "e", "ie", "zh", "z", "y", "i", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s",
    "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "iu", "ia", "", "",
]))
UK_FIRST = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
RU_EN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", [
    "a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f",
    "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya",
]))
RU_RO = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя", [
    "a", "b", "v", "g", "d", "e", "io", "j", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s", "t", "u", "f",
    "h", "ț", "ci", "ș", "șci", "", "â", "i", "e", "iu", "ea",
]))


def translit(name: str, table: dict[str, str], first: dict[str, str] | None = None) -> str:
    out = []
    for i, ch in enumerate(name.lower()):
        out.append((first or {}).get(ch, table.get(ch, ch)) if i == 0 else table.get(ch, ch))
    return "".join(out).capitalize()


def main() -> None:
    names: set[str] = set()
    for locale in ("ro_RO", "uk_UA", "ru_RU"):
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for name in provider.first_names:
            if name in DROPPED:
                continue
            names.add(name)
            if locale == "uk_UA":
                names.add(translit(name, UK, UK_FIRST))
                names.add(translit(name, UK))  # "Iaroslava" as well as "Yaroslava"
            elif locale == "ru_RU":
                names.add(translit(name, RU_EN))
                names.add(translit(name, RU_RO))
    supplement = HERE / "names_supplement.txt"
    for line in supplement.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        names.update(line.split())
    names = {unicodedata.normalize("NFC", n) for n in names if len(n) >= 2}
    header = (
        f"# Given names for the privacy guard; built by scripts/build_given_names.py from Faker {faker.VERSION} (MIT)"
        " and names_supplement.txt. See SOURCES.md.\n"
    )
    (HERE / "given_names.txt").write_text(header + "\n".join(sorted(names)) + "\n", encoding="utf-8")
    print(len(names), "names")


if __name__ == "__main__":
    main()
