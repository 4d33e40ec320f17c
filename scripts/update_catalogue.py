"""Refresh the Romanian catalogue from the texts marked in the code and templates (babel.cfg).

    python scripts/update_catalogue.py

New texts are added untranslated (``tests/unit/test_i18n.py`` fails until each has its Romanian text);
texts no longer used are dropped; existing translations are kept. No compiled ``.mo`` is written: the app
compiles the catalogue in memory at first use.
"""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parents[1]
PO = REPO / "src/referralnet/web/translations/ro/LC_MESSAGES/messages.po"
SOURCES = (("python", "src/referralnet/web", "**.py"), ("python", "src/referralnet/accounts", "**.py"),
           ("jinja2", "src/referralnet/web/templates", "**.html"))  # fmt: skip
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
HEADER = ("Romanian texts of the referralnet pages (texts are written in English in the templates and code).\n"
          "Update: python scripts/update_catalogue.py. Diacritics: ș ț with comma below (U+0219, U+021B).")  # fmt: skip


def extracted() -> list[str]:
    seen: dict[str, None] = {}
    for method, folder, pattern in SOURCES:
        for _f, _l, message, _c, _x in extract_from_dir(REPO / folder, method_map=[(pattern, method)], keywords=KEYWORDS):
            seen[message if isinstance(message, str) else message[0]] = None
    return list(seen)


def update(translations: dict[str, str] | None = None) -> list[str]:
    """Rewrite the catalogue; returns the texts still untranslated."""
    old = {m.id: m.string for m in read_po(PO.open("rb"), locale="ro") if m.id} if PO.exists() else {}
    old.update(translations or {})
    catalog = Catalog(locale="ro", project="referralnet", version="1", fuzzy=False, header_comment="# " + HEADER.replace("\n", "\n# "))
    for text in extracted():
        catalog.add(text, old.get(text, ""), flags=("python-format",) if "%(" in text else ())
    out = io.BytesIO()
    write_po(out, catalog, width=120, no_location=True)
    PO.write_bytes(out.getvalue())
    return [m.id for m in catalog if m.id and not m.string]


if __name__ == "__main__":
    missing = update()
    print(f"{PO.relative_to(REPO)}: {len(missing)} untranslated" + "".join(f"\n  {t}" for t in missing))
