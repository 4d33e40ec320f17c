"""Where distances, rankings and maps place a site: a confidential one at its locality, never its own point."""

from __future__ import annotations

from referralnet.matching.geodesy import shown_km
from referralnet.vocabulary import geo

HOUSE = (46.69, 27.805)


def test_a_confidential_site_stands_at_its_locality_or_county_seat() -> None:
    assert geo.shown_point("RO-VS", "Vaslui", *HOUSE, confidential=True) == geo.point_of("RO-VS", "Vaslui")
    assert geo.shown_point("RO-VS", None, *HOUSE, confidential=True) == geo.point_of("RO-VS")
    assert geo.shown_point("RO-VS", "Nowhere-at-all", *HOUSE, confidential=True) == geo.point_of("RO-VS")


def test_an_open_site_keeps_its_coordinates_or_stands_at_the_county_seat() -> None:
    assert geo.shown_point("RO-VS", "Vaslui", *HOUSE, confidential=False) == HOUSE
    assert geo.shown_point("RO-VS", "Vaslui", None, None, confidential=False) == geo.point_of("RO-VS")


def test_distances_to_a_confidential_site_are_shown_in_5_km_steps() -> None:
    assert shown_km(52.4, confidential=True) == 50.0
    assert shown_km(52.6, confidential=True) == 55.0
    assert shown_km(52.4, confidential=False) == 52.4
