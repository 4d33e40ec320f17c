"""Pages in Romanian and English: the locale of a request, the message catalogues, and Babel formatting.

Texts are written in English in the templates and code (``_()`` in templates, ``N_()`` where code raises a
message a page shows) and translated by the ``.po`` catalogue under ``web/translations``. The catalogue is
compiled in memory the first time it is needed, so no binary ``.mo`` file is kept in the repository.
The locale is the visitor's choice (a cookie set by the switch on every page), else the best of
Accept-Language, else English. Dates and times are shown in Romania's time zone.
"""

from __future__ import annotations

import datetime as dt
import gettext as gettext_module
import io
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from babel import dates, numbers
from babel.messages import mofile, pofile
from babel.support import Translations
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from referralnet.matching.eligibility import caveat_text
from referralnet.matching.explain import constraint_text
from referralnet.web import reason_texts, summaries

LOCALES = ("ro", "en")
DEFAULT = "en"
COOKIE = "rn_lang"
ZONE = ZoneInfo("Europe/Bucharest")
NAMES = {"ro": "Română", "en": "English"}


@cache
def translations(locale: str) -> gettext_module.NullTranslations:
    """The compiled catalogue of ``locale`` (English needs none: the texts are written in it)."""
    if locale == "en":
        return gettext_module.NullTranslations()
    source = resources.files("referralnet.web").joinpath("translations", locale, "LC_MESSAGES", "messages.po")
    with source.open("rb") as handle:
        catalog = pofile.read_po(handle, locale=locale)
    compiled = io.BytesIO()
    mofile.write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def from_accept_language(header: str | None) -> str | None:
    """The first of our locales in an Accept-Language header, by its q-values (``ro-RO`` counts as ``ro``)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        language = tag.strip().lower().split("-")[0]
        if language in LOCALES and quality > 0:
            ranked.append((-quality, position, language))
    return min(ranked)[2] if ranked else None


def locale_of(request: Any) -> str:
    """The locale of a request: the remembered choice, else Accept-Language, else English."""
    if request is None:
        return DEFAULT
    state = request.scope.setdefault("referralnet_locale", None)
    if state:
        return state
    chosen = request.cookies.get(COOKIE)
    locale = chosen if chosen in LOCALES else from_accept_language(request.headers.get("accept-language")) or DEFAULT
    request.scope["referralnet_locale"] = locale
    return locale


def _context_locale(context: Context) -> str:
    return locale_of(context.get("request"))


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(_context_locale(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(_context_locale(context)).ngettext(singular, plural, n)


def format_when(value: dt.datetime, locale: str) -> str:
    """A moment as Romania's local date and time, written the locale's way (e.g. ``3 mar. 2026, 11:00``)."""
    local = value.astimezone(ZONE)
    return f"{dates.format_date(local, 'medium', locale=locale)}, {dates.format_time(local, 'HH:mm', locale=locale)}"


@pass_context
def _when(context: Context, value: dt.datetime | None) -> str:
    return "" if value is None else format_when(value, _context_locale(context))


@pass_context
def _number(context: Context, value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return ""
    return numbers.format_decimal(round(value, digits), locale=_context_locale(context))


def _sentence(text: str) -> str:
    """A message as a sentence: capital first letter, one full stop."""
    text = str(text).strip()
    return text[:1].upper() + text[1:].rstrip(".") + "." if text else ""


@pass_context
def _lang(context: Context) -> str:
    return _context_locale(context)


@pass_context
def _reason(context: Context, reason: Any, candidate: Any = None) -> str:
    """A match reason of ``candidate`` in the page's language (:mod:`referralnet.web.reason_texts` for Romanian)."""
    if _context_locale(context) == "ro":
        if candidate is not None:
            return reason_texts.in_romanian(reason, candidate) or str(reason.text)
        if reason.code == "not_stated" and reason.attribute:
            return caveat_text(reason.attribute, "ro") or str(reason.text)
    return str(reason.text)


@pass_context
def _summary(context: Context, text: str | None) -> str:
    """A referral's anonymised summary in the page's language (:mod:`referralnet.web.summaries` for Romanian)."""
    if not text:
        return ""
    return summaries.in_romanian(text) if _context_locale(context) == "ro" else summaries.in_english(text)


@pass_context
def _explanation(context: Context, message: str) -> str:
    """Why nothing fits (``excluded.messages``), in the page's language."""
    return summaries.explanation_in_romanian(message) if _context_locale(context) == "ro" else message


@pass_context
def _constraint(context: Context, code: str) -> str:
    """What a hard filter excluded by, in the page's language."""
    return constraint_text(code, _context_locale(context))


def _here(request: Any) -> str:
    """The current path and query, to come back to after switching language."""
    if request is None:
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def install(env: Environment) -> None:
    """Add the i18n extension, the catalogues and the formatting filters to a Jinja environment."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = _when
    env.filters["number"] = _number
    env.filters["sentence"] = _sentence
    env.filters["reason"] = _reason
    env.filters["constraint"] = _constraint
    env.filters["summary"] = _summary
    env.filters["explanation"] = _explanation
    env.globals["page_lang"] = _lang
    env.globals["here"] = _here
    env.globals["LANGUAGES"] = NAMES
