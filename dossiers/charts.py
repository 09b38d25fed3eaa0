"""Breakdown charts as SVG, drawn on the server by pygal, so that they print."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pygal
from pygal.style import Style

from .report import Breakdown

STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1b1f24",
    foreground_strong="#1b1f24",
    foreground_subtle="#5a6472",
    colors=("#9aa5b5", "#12284c"),  # the year before in grey, the year in navy
    font_family="DejaVu Sans, Helvetica, Arial, sans-serif",
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=12,
    tooltip_font_size=13,
)
WIDTH, HEIGHT = 760, 380  # app.css gives the page's <object> the same ratio
# pygal always writes a <script> with its configuration; the charts need none, and a
# page's Content-Security-Policy would refuse it.
_SCRIPT = re.compile(r"<script\b.*?</script>", re.S)


def breakdown_svg(breakdown: Breakdown, year: int, link: Callable[[Any], str] | None = None) -> str:
    """Draw the breakdown for the year against the year before; each bar of the year
    links to the rows behind it."""
    longest = max((len(g.label) for g in breakdown.groups), default=0)
    horizontal = breakdown.key != "tp_by_month" and (len(breakdown.groups) > 6 or longest > 14)
    chart_type = pygal.HorizontalBar if horizontal else pygal.Bar
    chart = chart_type(
        style=STYLE,
        js=[],
        width=WIDTH,
        height=HEIGHT,
        max_scale=6,
        disable_xml_declaration=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=2,
        print_values=False,
        show_y_guides=not horizontal,
        show_x_guides=horizontal,
        truncate_label=40,
        margin=12,
    )
    # pygal stacks horizontal bars from the bottom up: reverse them to read like the table.
    groups = breakdown.groups[::-1] if horizontal else breakdown.groups
    chart.x_labels = [g.label for g in groups]
    chart.add(str(year - 1), [g.previous for g in groups])
    chart.add(
        str(year),
        [
            {"value": g.value, "xlink": {"href": link(g.group), "target": "_top"}}
            if link and g.value
            else g.value
            for g in groups
        ],
    )
    svg = _SCRIPT.sub("", chart.render(is_unicode=True))
    # The one style attribute (on the script-driven tooltip) becomes a presentation
    # attribute, so that the chart's policy needs no inline-style allowance.
    return svg.replace('style="opacity: 0"', 'opacity="0"')
