"""The county map: valid XML, one path per county with its ISO code, legend, labels and attribution."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from referralnet.coverage import svgmap
from referralnet.coverage.groups import single_group
from referralnet.coverage.matrix import ServiceRecord, ServiceTable, SiteRecord, compute
from referralnet.coverage.reports import render_map
from referralnet.vocabulary import geo
from referralnet.vocabulary.codes import COUNTY_CODES

SVG = "{http://www.w3.org/2000/svg}"


def _map(mode: str = "providers") -> ET.Element:
    services = [
        ServiceRecord(service_id=1, organisation_id=1, service_type="residential_shelter", capacity_total=10, capacity_available=2),
        ServiceRecord(service_id=2, organisation_id=2, service_type="residential_shelter", area_counties=("RO-IS", "RO-VS")),
    ]
    sites = [SiteRecord(service_id=1, county="RO-CJ")]
    cube = compute(ServiceTable.build(services, sites), [single_group("adult", "male")], types=["residential_shelter"])
    return ET.fromstring(render_map(cube, mode, distance_km=50).encode())  # type: ignore[arg-type]


def test_one_path_per_county_with_its_code_and_a_title() -> None:
    root = _map()
    assert root.tag == f"{SVG}svg" and root.get("viewBox")
    paths = root.findall(f".//{SVG}path")
    assert len(paths) == 42
    assert sorted(p.get("id") for p in paths) == sorted(COUNTY_CODES)
    by_id = {p.get("id"): p for p in paths}
    assert all(p.get("class") == "county" and p.get("d", "").startswith("M") for p in paths)
    assert by_id["RO-CJ"].findtext(f"{SVG}title") == "Cluj (RO-CJ) — providers: 1"
    assert by_id["RO-IS"].findtext(f"{SVG}title") == "Iași (RO-IS) — providers: 1"
    assert by_id["RO-TL"].findtext(f"{SVG}title") == "Tulcea (RO-TL) — providers: 0"
    assert by_id["RO-TL"].get("fill") == svgmap.ZERO_COLOUR and by_id["RO-CJ"].get("fill") != svgmap.ZERO_COLOUR
    labels = [t.text for t in root.findall(f".//{SVG}g[@id='labels']/{SVG}text")]
    assert sorted(labels) == sorted(c.short for c in geo.counties().values())
    legend = [t.text for t in root.findall(f".//{SVG}g[@id='legend']/{SVG}text")]
    assert legend[:3] == ["Organisations", "0", "1"]
    credits = " ".join(t.text or "" for t in root.findall(f".//{SVG}g[@id='attribution']/{SVG}text"))
    assert "geoBoundaries" in credits and "CC BY 4.0" in credits


def test_free_capacity_mode_marks_counties_without_figures() -> None:
    root = _map("free_capacity")
    by_id = {p.get("id"): p for p in root.findall(f".//{SVG}path")}
    assert by_id["RO-CJ"].findtext(f"{SVG}title") == "Cluj (RO-CJ) — free capacity: 2"
    assert by_id["RO-IS"].get("fill") == svgmap.UNKNOWN_COLOUR  # its only shelter reports nothing
    assert "not reported" in [t.text for t in root.findall(f".//{SVG}g[@id='legend']/{SVG}text")]


def test_bins_split_non_zero_values_at_quantiles() -> None:
    assert svgmap.bins([0, 0, None]) == []
    assert svgmap.bins([1, 1, 1]) == [(1, 1)]
    assert svgmap.bins([0, 1, 2, 3, 4, 5]) == [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)]
    classes = svgmap.bins(list(range(0, 101)))
    assert classes[0][0] == 1 and classes[-1][1] == 100 and len(classes) == 5
    assert all(hi + 1 == lo for (_, hi), (lo, _) in zip(classes, classes[1:]))
    assert svgmap.colour(0, classes) == svgmap.ZERO_COLOUR and svgmap.colour(None, classes) == svgmap.UNKNOWN_COLOUR
    assert svgmap.colour(100, classes) == svgmap.BLUES[5][-1]


def test_label_point_is_inside_a_ring_with_a_hole() -> None:
    # A square with a hole around its centroid: the label must avoid the hole.
    outer = np.array([(0, 0), (10, 0), (10, 10), (0, 10)], dtype=float)
    hole = np.array([(3, 3), (7, 3), (7, 7), (3, 7)], dtype=float)
    x, y = svgmap.label_point([outer, hole])
    assert 0 < x < 10 and 0 < y < 10 and not (3 <= x <= 7 and 3 <= y <= 7)
    assert svgmap.label_point([outer]) == (5.0, 5.0)
