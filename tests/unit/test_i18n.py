"""The pages' languages: the catalogue is complete and correct, Accept-Language is read by q-value,
and dates are shown in Romania's time, written the locale's way."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from referralnet.web import i18n

REPO = Path(__file__).resolve().parents[2]
PO = REPO / "src/referralnet/web/translations/ro/LC_MESSAGES/messages.po"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extracted() -> set[str]:
    """Every text the templates and code mark for translation (the same extraction as babel.cfg)."""
    found: set[str] = set()
    for method, folder, pattern in (
        ("python", "src/referralnet/web", "**.py"),
        ("python", "src/referralnet/accounts", "**.py"),
        ("jinja2", "src/referralnet/web/templates", "**.html"),
    ):
        for _file, _line, message, _comments, _context in extract_from_dir(
            REPO / folder, method_map=[(pattern, method)], keywords=KEYWORDS
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_marked_text_has_a_romanian_translation() -> None:
    catalog = read_po(PO.open("rb"), locale="ro")
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(extracted() - set(translated))
    assert not missing, f"untranslated (run the update in README 'Languages'): {missing}"
    assert len(translated) >= 60


def test_romanian_uses_comma_below_diacritics() -> None:
    text = PO.read_text(encoding="utf-8")
    assert "ș" in text and "ț" in text
    assert not set("şţŞŢ") & set(text), "cedilla ş/ţ instead of comma-below ș/ț"


def test_translation_is_compiled_in_memory() -> None:
    ro = i18n.translations("ro")
    assert ro.gettext("Sign in") == "Autentificare"
    assert ro.gettext("the e-mail address or the password is not right") == "adresa de e-mail sau parola nu este corectă"
    assert i18n.translations("en").gettext("Sign in") == "Sign in"
    assert not list(PO.parent.glob("*.mo")), "binaries are not kept in the repository"


def test_accept_language_by_quality() -> None:
    assert i18n.from_accept_language("ro-RO,ro;q=0.9,en;q=0.8") == "ro"
    assert i18n.from_accept_language("en-US,en;q=0.9,ro;q=0.8") == "en"
    assert i18n.from_accept_language("de, ro;q=0.5, en;q=0.4") == "ro"
    assert i18n.from_accept_language("ro;q=0, en;q=0.1") == "en"
    assert i18n.from_accept_language("de-DE") is None and i18n.from_accept_language(None) is None


def test_dates_in_romania_time_per_locale() -> None:
    winter = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.timezone.utc)  # UTC+2
    summer = dt.datetime(2026, 7, 3, 9, 0, tzinfo=dt.timezone.utc)  # UTC+3
    assert i18n.format_when(winter, "ro") == "3 mar. 2026, 11:00"
    assert i18n.format_when(winter, "en") == "Mar 3, 2026, 11:00"
    assert i18n.format_when(summer, "ro") == "3 iul. 2026, 12:00"


def test_match_reasons_read_in_the_pages_language() -> None:
    """A "not stated" caveat comes from the eligibility registry in Romanian; other reasons keep their text."""
    from types import SimpleNamespace

    from jinja2 import Environment

    from referralnet.matching.schemas import Reason

    env = Environment(autoescape=True)
    i18n.install(env)
    template = env.from_string("{{ r|reason }} | {{ 'full'|constraint }}")

    def page(lang: str) -> SimpleNamespace:
        return SimpleNamespace(scope={"referralnet_locale": lang}, cookies={}, headers={})

    caveat = Reason(code="not_stated", kind="caveat", text="gender eligibility not stated by the provider", attribute="genders")
    assert template.render(r=caveat, request=page("en")) == "gender eligibility not stated by the provider | having no free places"
    assert template.render(r=caveat, request=page("ro")) == "furnizorul nu a precizat genul persoanelor primite | lipsa locurilor libere"
    fit = Reason(code="distance", kind="fit", text="12 km away")
    assert template.render(r=fit, request=page("ro")).startswith("12 km away")


def test_every_history_event_has_a_timeline_text_in_both_languages() -> None:
    """A new event kind fails here until the referral page can name it (and the catalogue has it in Romanian)."""
    from referralnet.referrals.events import EVENT_KINDS
    from referralnet.web.institution import EVENT_TEXTS

    assert set(EVENT_TEXTS) == set(EVENT_KINDS)
    ro = i18n.translations("ro")
    assert ro.gettext(EVENT_TEXTS["referral_placed"]) == "referire plasată"
    assert all(ro.gettext(text) != text for text in EVENT_TEXTS.values())


def test_every_reason_the_system_writes_into_a_history_reads_in_romanian() -> None:
    """A reason written by the code into a referral's history (``reason="..."``) has its Romanian text on the timeline."""
    import pathlib
    import re

    from referralnet import referrals
    from referralnet.web.institution import SYSTEM_REASONS

    source = "".join(p.read_text(encoding="utf-8") for p in pathlib.Path(referrals.__file__).parent.glob("*.py"))
    written = set(re.findall(r'reason="([^"]+)"', source))
    for name in set(re.findall(r"reason=([A-Z][A-Z_]+)\b", source)):  # a module's constant passed as the reason
        written |= set(re.findall(rf'^{name} = "([^"]+)"', source, re.M))
    assert written == set(SYSTEM_REASONS)
    ro = i18n.translations("ro")
    assert all(ro.gettext(text) != text for text in SYSTEM_REASONS)


def test_the_delivery_error_the_system_records_reads_in_romanian() -> None:
    from referralnet.notifications.outbox import NO_CHANNEL
    from referralnet.web.review import KNOWN_ERRORS

    assert NO_CHANNEL in KNOWN_ERRORS and i18n.translations("ro").gettext(NO_CHANNEL) != NO_CHANNEL
