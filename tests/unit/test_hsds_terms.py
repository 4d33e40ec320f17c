"""Mapping another system's HSDS terms and places to the vocabulary: exact where it can, never guessed."""

from __future__ import annotations

from referralnet.interop.hsds_terms import TermMap, county_of
from referralnet.interop.taxonomy import term_id, term_rows


def terms(*rows: dict[str, str]) -> TermMap:
    return TermMap(list(rows), [])


def test_our_own_terms_map_back_by_id_code_or_uri_in_either_language() -> None:
    mapping = terms()
    assert mapping.resolve(term_id("service_type", "residential_shelter")) == ("service_type", "residential_shelter")
    assert mapping.resolve(term_id("gender", "female", "ro")) == ("gender", "female")
    ours = next(t for t in term_rows() if t["code"] == "exploitation_form.labour")
    copied = terms({"id": "a", "code": ours["code"], "name": "whatever"}, {"id": "b", "term_uri": ours["term_uri"], "name": "x"})
    assert copied.resolve("a") == copied.resolve("b") == ("exploitation_form", "labour")
    assert not mapping.unmapped and not copied.unmapped


def test_other_terms_map_by_unambiguous_code_or_name_ignoring_diacritics() -> None:
    mapping = terms(
        {"id": "1", "code": "female", "name": "Women"},
        {"id": "2", "code": "X12", "name": "munca sau servicii fortate"},  # Romanian name, no diacritics
        {"id": "3", "code": "X13", "name": "Other"},  # a label of several lists
        {"id": "4", "code": "X14", "name": "Food bank", "taxonomy": "211 LA"},
    )
    assert mapping.resolve("1") == ("gender", "female")
    assert mapping.resolve("2") == ("exploitation_form", "labour")
    assert mapping.resolve("3") is None and mapping.resolve("4") is None and mapping.resolve("5") is None
    reported = "\n".join(mapping.unmapped)
    assert "ambiguous: " in reported and "gender.other" in reported
    assert "211 LA: code X14, name 'Food bank' (no such code or name in the vocabulary)" in reported
    assert "term 5 (not in the input's taxonomy_terms)" in reported


def test_counties_by_name_with_or_without_diacritics_or_by_code() -> None:
    assert county_of("Iași") == county_of("IASI") == county_of("Județul Iași") == county_of("RO-IS") == "RO-IS"
    assert county_of("Municipiul București") == county_of("Bucuresti") == "RO-B"
    assert county_of("MyState") is None and county_of(None) is None


def test_names_compare_folded_and_differ_when_their_numbers_do() -> None:
    from referralnet.interop.hsds_import import _similar

    assert _similar("Asociația Pentru Viitor", "ASOCIATIA pentru   viitor") == 100
    assert _similar("Bench organisation 1", "Bench organisation 11") == 0
    assert _similar("Centrul nr. 5 Iași", "Centrul nr. 5 Iasi") == 100
