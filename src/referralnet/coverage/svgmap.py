"""A choropleth of Romania's counties as a standalone SVG document. Pure; no tiles, no network.

Projection: equirectangular, longitude scaled by the cosine of the mean latitude of the country
(about 0.70), so shapes keep their proportions at this latitude. One ``<path>`` per county
(``id`` = ISO 3166-2 code, ``class="county"``, a ``<title>`` with name and value; holes such as
Ilfov's around Bucharest use ``fill-rule="evenodd"``), a short-code label at a label point (the
centroid of the county's largest ring, or when that falls outside it, the inner point farthest
from its edges on a grid), a legend and the boundaries' attribution.

Colour bins: 0 has its own class in light red (nobody within reach / no free place), counties
without a figure are grey ("not reported"); the non-zero values are split at the 20/40/60/80 %
quantiles of the counties' non-zero values (rounded up to integers, duplicate edges merged), so
up to five classes, coloured with ColorBrewer's sequential "Blues" scheme of that many classes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

import numpy as np

ZERO_COLOUR = "#fc9272"
UNKNOWN_COLOUR = "#d9d9d9"
BLUES: dict[int, list[str]] = {
    1: ["#3182bd"],
    2: ["#9ecae1", "#3182bd"],
    3: ["#deebf7", "#9ecae1", "#3182bd"],
    4: ["#eff3ff", "#bdd7e7", "#6baed6", "#2171b5"],
    5: ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],
}
Ring = list[tuple[float, float]]


def bins(values: Sequence[float | None]) -> list[tuple[int, int]]:
    """Inclusive (low, high) classes of the non-zero values; see the module docstring."""
    nonzero = np.array([v for v in values if v is not None and v > 0], dtype=np.float64)
    if not len(nonzero):
        return []
    top = int(math.ceil(nonzero.max()))
    lows = sorted({1, *(int(math.ceil(q)) for q in np.quantile(nonzero, [0.2, 0.4, 0.6, 0.8]))})
    lows = [lo for lo in lows if lo <= top]
    return [(lo, (lows[i + 1] - 1) if i + 1 < len(lows) else top) for i, lo in enumerate(lows)]


def colour(value: float | None, classes: Sequence[tuple[int, int]]) -> str:
    if value is None:
        return UNKNOWN_COLOUR
    if value <= 0:
        return ZERO_COLOUR
    palette = BLUES[len(classes)]
    for (_lo, hi), fill in zip(classes, palette):
        if value <= hi:
            return fill
    return palette[-1]


def _polygons(geometry: Mapping) -> list[list[Ring]]:
    coords = geometry["coordinates"]
    polys = [coords] if geometry["type"] == "Polygon" else coords
    return [[[(float(x), float(y)) for x, y, *_ in ring] for ring in poly] for poly in polys]


def _area_centroid(ring: np.ndarray) -> tuple[float, float, float]:
    x, y = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    area = cross.sum() / 2
    if abs(area) < 1e-12:
        return 0.0, float(x.mean()), float(y.mean())
    return abs(area), float(((x + x1) * cross).sum() / (6 * area)), float(((y + y1) * cross).sum() / (6 * area))


def _inside(px: np.ndarray, py: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Even-odd point-in-ring test, vectorised over points."""
    x, y = ring[:, 0], ring[:, 1]
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    px, py = px[:, None], py[:, None]
    crosses = ((y > py) != (y1 > py)) & (px < (x1 - x) * (py - y) / np.where(y1 == y, 1e-12, y1 - y) + x)
    return crosses.sum(axis=1) % 2 == 1


def _edge_distance(px: np.ndarray, py: np.ndarray, rings: list[np.ndarray]) -> np.ndarray:
    best = np.full(len(px), np.inf)
    for ring in rings:
        a, b = ring, np.roll(ring, -1, axis=0)
        d = b - a
        length2 = np.maximum((d**2).sum(axis=1), 1e-18)
        t = np.clip(((px[:, None] - a[:, 0]) * d[:, 0] + (py[:, None] - a[:, 1]) * d[:, 1]) / length2, 0, 1)
        dist = np.hypot(px[:, None] - (a[:, 0] + t * d[:, 0]), py[:, None] - (a[:, 1] + t * d[:, 1]))
        best = np.minimum(best, dist.min(axis=1))
    return best


def label_point(polygon: list[np.ndarray]) -> tuple[float, float]:
    """A point inside the polygon (outer ring first, then holes) for its label, projected units."""
    outer, holes = polygon[0], polygon[1:]

    def inside(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        ok = _inside(px, py, outer)
        for hole in holes:
            ok &= ~_inside(px, py, hole)
        return ok

    _, cx, cy = _area_centroid(outer)
    if inside(np.array([cx]), np.array([cy]))[0]:
        return cx, cy
    (x0, y0), (x1, y1) = outer.min(axis=0), outer.max(axis=0)
    gx, gy = np.meshgrid(np.linspace(x0, x1, 40), np.linspace(y0, y1, 40))
    px, py = gx.ravel(), gy.ravel()
    keep = inside(px, py)
    if not keep.any():
        return cx, cy
    px, py = px[keep], py[keep]
    i = int(np.argmax(_edge_distance(px, py, polygon)))
    return float(px[i]), float(py[i])


def render(
    values: Mapping[str, float | None],
    shapes: Mapping,
    *,
    names: Mapping[str, str],
    short: Mapping[str, str],
    title: str,
    subtitle: str = "",
    legend_title: str = "",
    value_label: str = "",
    width: int = 960,
    links: Mapping[str, str] | None = None,
    unknown_label: str = "not reported",
) -> str:
    """The SVG document: ``values`` by ISO code (None: not reported), ``shapes`` a GeoJSON FeatureCollection.

    With ``links`` (ISO code -> URL) the SVG is for inline use in a page: no XML declaration and no
    ``<style>`` (the page's stylesheet styles ``.county`` and ``.label``), and each county is a link
    whose accessible name is its name and value.
    """
    order = {code: i for i, code in enumerate(values)}  # paths in the order of ``values``
    features = sorted((f for f in shapes["features"] if f["properties"]["iso_3166_2"] in order),
                      key=lambda f: order[f["properties"]["iso_3166_2"]])
    polys = {f["properties"]["iso_3166_2"]: _polygons(f["geometry"]) for f in features}
    points = np.array([p for ps in polys.values() for poly in ps for ring in poly for p in ring])
    (lon0, lat0), (lon1, lat1) = points.min(axis=0), points.max(axis=0)
    k = math.cos(math.radians((lat0 + lat1) / 2))
    margin, top = 20.0, 70.0
    scale = (width - 2 * margin) / ((lon1 - lon0) * k)
    map_height = (lat1 - lat0) * scale

    def project(ring: Ring) -> np.ndarray:
        a = np.array(ring)
        return np.column_stack([margin + (a[:, 0] - lon0) * k * scale, top + (lat1 - a[:, 1]) * scale])

    classes = bins(list(values.values()))
    legend_y = top + map_height + 30
    entries = [(ZERO_COLOUR, "0"), *[(c, f"{lo}" if lo == hi else f"{lo}–{hi}") for (lo, hi), c in zip(classes, BLUES.get(len(classes), []))]]
    if any(v is None for v in values.values()):
        entries.append((UNKNOWN_COLOUR, unknown_label))
    attribution = shapes.get("attribution") or "geoBoundaries ROU ADM1 (gbOpen), CC BY 4.0"
    credits = [f"Boundaries: {part}" if i == 0 else part for i, part in enumerate(attribution.split("; "))]
    height = legend_y + 40 + 12 * len(credits)
    head = (
        [f'<svg xmlns="http://www.w3.org/2000/svg" class="county-map" width="{width}" height="{height:.0f}" '
         f'viewBox="0 0 {width} {height:.0f}" font-family="sans-serif" role="group" aria-labelledby="map-title">',
         f'<title id="map-title">{escape(title)}</title>']
        if links is not None else
        ['<?xml version="1.0" encoding="UTF-8"?>',
         f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
         f'viewBox="0 0 {width} {height:.0f}" font-family="sans-serif" role="img">',
         f"<title>{escape(title)}</title>",
         "<style>.county{stroke:#555;stroke-width:0.6;stroke-linejoin:round}.county:hover{stroke:#000;stroke-width:1.5}"
         ".label{font-size:11px;text-anchor:middle;dominant-baseline:central;fill:#111;pointer-events:none;"
         "paint-order:stroke;stroke:#fff;stroke-width:2.5px}</style>"]
    )  # fmt: skip
    out = [
        *head,
        f'<rect width="{width}" height="{height:.0f}" fill="#fff"/>',
        f'<text x="{margin}" y="28" font-size="18" font-weight="bold">{escape(title)}</text>',
        f'<text x="{margin}" y="50" font-size="12" fill="#444">{escape(subtitle)}</text>',
        '<g id="counties">',
    ]
    labels = []
    for code, poly_list in polys.items():
        value = values[code]
        projected = [[project(ring) for ring in poly] for poly in poly_list]
        d = "".join(
            "M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in ring) + "Z" for poly in projected for ring in poly
        )
        shown = "not reported" if value is None else f"{value:g}"
        tooltip = f"{names.get(code, code)} ({code}) — {value_label or 'value'}: {shown}"
        path = (f'<path id="{code}" class="county" fill="{colour(value, classes)}" fill-rule="evenodd" d="{d}">'
                f"<title>{escape(tooltip)}</title></path>")  # fmt: skip
        if links is not None and code in links:
            name = f"{names.get(code, code)}: {value_label or 'value'} {shown}"
            path = f'<a href="{escape(links[code])}" id="map-{code}" aria-label="{escape(name, {chr(34): "&quot;"})}">{path}</a>'
        out.append(path)
        largest = max(projected, key=lambda poly: _area_centroid(poly[0])[0])
        lx, ly = label_point(largest)
        labels.append(f'<text class="label" x="{lx:.1f}" y="{ly:.1f}">{escape(short.get(code, code))}</text>')
    out += ["</g>", '<g id="labels">', *labels, "</g>", '<g id="legend">']
    out.append(f'<text x="{margin}" y="{legend_y - 8:.0f}" font-size="12" font-weight="bold">{escape(legend_title)}</text>')
    for i, (fill, text) in enumerate(entries):
        x = margin + i * 110
        out.append(f'<rect x="{x:.0f}" y="{legend_y:.0f}" width="18" height="14" fill="{fill}" stroke="#555" stroke-width="0.6"/>')
        out.append(f'<text x="{x + 24:.0f}" y="{legend_y + 11:.0f}" font-size="12">{escape(text)}</text>')
    out += ["</g>", '<g id="attribution" font-size="9" fill="#555">']
    for i, line in enumerate(credits):
        out.append(f'<text x="{margin}" y="{legend_y + 40 + 12 * i:.0f}">{escape(line)}</text>')
    out += ["</g>", "</svg>"]
    return "\n".join(out) + "\n"

