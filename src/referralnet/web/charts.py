"""Bar charts of the secretariat's pages as inline SVG, drawn by pygal and made safe for the page.

pygal draws the bars; what it adds for its own web use is taken out so that no request leaves the
server and the page's Content-Security-Policy holds: no external script (``js=[]``), no inline
script or ``<style>`` (the page's stylesheet styles the ``rn-chart`` classes), no tooltips, no
``style`` attribute. Each chart is one series with its value written on each bar, so it reads
without colour; it carries a ``<title>`` and a ``<desc>`` listing every value, and the table beside
it holds the same figures. A count hidden by disclosure control (``<10``, ``x``) is drawn as a
hatched bar of one fixed length, whatever the count, labelled with its marker: the bar gives
nothing away that the table does not.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from typing import Any

import pygal
import pygal.style
from markupsafe import Markup

SVG = "http://www.w3.org/2000/svg"
ET.register_namespace("", SVG)
Value = int | float | str | None
WIDTH = 400  # viewBox width: scaled to the column, text stays legible at 360 px
ROW = 26
# Only the sizes matter (pygal lays out labels with them); colours and fonts come from the page's stylesheet.
STYLE = pygal.style.Style(font_family="system-ui, sans-serif", label_font_size=12, major_label_font_size=12, value_font_size=12,
                          title_font_size=14, tooltip_font_size=12)  # fmt: skip


def _q(tag: str) -> str:
    return f"{{{SVG}}}{tag}"


def _plain(value: float) -> str:
    return f"{value:g}"


def _point(value: Value, hidden_length: float, fmt: Callable[[float], str]) -> Any:
    if value is None:
        return None
    if isinstance(value, str):  # a hidden count: fixed length, its marker as the label
        return {"value": hidden_length, "formatter": lambda _, text=value: text, "node": {"class": "suppressed"}}
    return {"value": value, "formatter": lambda v: fmt(v)}


def _clean(svg: str, chart_id: str, title: str, description: str) -> str:
    root = ET.fromstring(svg)
    for parent in list(root.iter()):
        for child in list(parent):
            tag = child.tag
            cls = child.get("class", "")
            if tag in (_q("script"), _q("style")) or "tooltip-overlay" in cls:
                parent.remove(child)
            elif tag == _q("desc") or (tag == _q("title") and parent is not root):
                parent.remove(child)  # pygal's tooltip data and axis positions
            elif tag == _q("title"):
                parent.remove(child)  # replaced by ours below
        for attr in ("style", "id"):
            parent.attrib.pop(attr, None)
    hatch = f"{chart_id}-hatch"
    for rect in root.iter(_q("rect")):
        if rect.get("class") == "suppressed":
            rect.set("fill", f"url(#{hatch})")
            rect.set("stroke", "#0b3a63")
    defs = root.find(_q("defs"))
    if defs is None:
        defs = ET.SubElement(root, _q("defs"))
    pattern = ET.SubElement(defs, _q("pattern"), {"id": hatch, "width": "6", "height": "6", "patternUnits": "userSpaceOnUse",
                                                  "patternTransform": "rotate(45)"})  # fmt: skip
    ET.SubElement(pattern, _q("rect"), {"width": "6", "height": "6", "fill": "#ffffff"})
    ET.SubElement(pattern, _q("line"), {"x1": "0", "y1": "0", "x2": "0", "y2": "6", "stroke": "#1f5f99", "stroke-width": "3"})
    head_title = ET.Element(_q("title"), {"id": f"{chart_id}-title"})
    head_title.text = title
    head_desc = ET.Element(_q("desc"), {"id": f"{chart_id}-desc"})
    head_desc.text = description
    root.insert(0, head_desc)
    root.insert(0, head_title)
    root.set("id", chart_id)
    root.set("class", "rn-chart")
    root.set("role", "img")
    root.set("aria-labelledby", f"{chart_id}-title {chart_id}-desc")
    out = ET.tostring(root, encoding="unicode")
    return re.sub(r"\s*<!--.*?-->", "", out, flags=re.S)


def bar_chart(
    chart_id: str,
    title: str,
    labels: Sequence[str],
    values: Sequence[Value],
    *,
    threshold: int = 10,
    fmt: Callable[[float], str] = _plain,
    missing: str = "—",
) -> Markup:
    """A horizontal bar chart of one series, as inline SVG markup; ``None`` draws no bar (not shown)."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    top = max([*numbers, 0])
    hidden_length = float(threshold)  # the same for every hidden count
    hidden = any(isinstance(v, str) for v in values)
    if not numbers and not any(isinstance(v, str) for v in values):
        return Markup("")  # nothing to draw: the table says "—"
    chart = pygal.HorizontalBar(
        js=[], css=[], disable_xml_declaration=True, no_prefix=True, show_legend=False, print_values=True, style=STYLE,
        print_values_position="top", width=WIDTH, height=70 + ROW * max(1, len(labels)), explicit_size=False,
        title=title, margin=8, spacing=6, truncate_label=-1, show_x_guides=False, tooltip_border_radius=0,
        x_labels_major_count=3, show_minor_x_labels=False, range=(0, 1.3 * max(top, hidden_length if hidden else 0, 1)),  # room for the last value
    )  # fmt: skip
    # pygal lists the first label at the bottom: reversed, the chart reads top-down in the table's order.
    chart.x_labels = [label if len(label) <= 26 else label[:25] + "…" for label in reversed(labels)]  # in full in <desc> and the table
    chart.add(title, [_point(v, hidden_length, fmt) for v in reversed(values)])
    description = "; ".join(f"{label}: {missing if v is None else (v if isinstance(v, str) else fmt(v))}" for label, v in zip(labels, values))
    return Markup(_clean(chart.render(is_unicode=True), chart_id, title, description))
