"""Small server-rendered SVG charts: a horizontal bar chart and a line (trend) chart.

Domain-free: a chart takes labels, numbers and a formatter, and returns an ``<svg>`` element as
``Markup`` to put in a page beside the table that holds the same figures (the table is the
accessible, exact version; the chart has a ``<title>`` and ``role="img"``). No script, no external
font or stylesheet, colours as presentation attributes (the CSP allows no inline style).

Sizes are in a narrow coordinate box (``WIDTH`` units wide) and the page scales the SVG to its
column: text stays readable on a 360–390 px phone (about 11 px: the box is barely wider than the
phone's column) and on a 1366 px screen (the page caps the chart's width, so labels do not grow
huge).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from markupsafe import Markup

Number = int | float | Decimal
Formatter = Callable[[Number], str]

WIDTH = 360
FONT = 13
# Distinguishable on screen and in greyscale print, colour-blind safe (Okabe–Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#999999")
TEXT = "#222222"
MUTED = "#666666"
GRID = "#dddddd"


def plain(value: Number) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value}"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (1 for nothing)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def _text(x: float, y: float, content: str, *, anchor: str = "start", size: int = FONT, fill: str = TEXT) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}">'
        f"{escape(content)}</text>"
    )


def _svg(height: float, title: str, body: list[str], css_class: str) -> Markup:
    # Every piece of text in ``body`` went through ``escape`` (labels, titles, formatted values);
    # the rest is numbers and fixed attribute names.
    return Markup(  # noqa: S704  # nosec B704
        f'<svg class="{escape(css_class)}" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def bar_chart(
    bars: Sequence[tuple[str, Number]],
    *,
    title: str,
    fmt: Formatter = plain,
    label_width: int = 64,
    css_class: str = "chart chart-bar",
) -> Markup:
    """Horizontal bars, one per ``(label, value)``, the value written after each bar. Negative
    values (a day of refunds) draw no bar but keep their figure."""
    row, gap, top = 26, 8, 4
    longest = max((float(value) for _, value in bars), default=0.0)
    scale_max = longest if longest > 0 else 1.0
    value_room = 92
    area = WIDTH - label_width - value_room
    body: list[str] = []
    for n, (label, value) in enumerate(bars):
        y = top + n * (row + gap)
        length = max(0.0, float(value)) / scale_max * area
        colour = PALETTE[n % len(PALETTE)]
        body.append(_text(label_width - 8, y + row * 0.68, label, anchor="end"))
        body.append(
            f'<rect x="{label_width}" y="{y:.1f}" width="{max(length, 1.5 if float(value) > 0 else 0):.1f}" '
            f'height="{row}" rx="3" fill="{colour}"><title>{escape(label)}：{escape(fmt(value))}</title></rect>'
        )
        body.append(_text(label_width + length + 6, y + row * 0.68, fmt(value)))
    height = top * 2 + max(len(bars), 1) * (row + gap) - gap
    return _svg(height, title, body, css_class)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number]


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    fmt: Formatter = plain,
    css_class: str = "chart chart-line",
) -> Markup:
    """One line per series over the x ``labels`` (days), a y axis from 0 with four gridlines, a
    legend above. At most ~8 x labels are written (every n-th), every point gets a dot while
    there are few enough to tell apart."""
    left, right, legend_row = 48, 14, 20
    legend_rows = math.ceil(len(series) / 2) if series else 0
    top = 10 + legend_rows * legend_row
    plot_height = 170
    bottom = 28
    height = top + plot_height + bottom
    plot_width = WIDTH - left - right
    biggest = max((float(v) for s in series for v in s.values), default=0.0)
    ceiling = nice_ceiling(biggest)
    body: list[str] = []
    for n, one in enumerate(series):
        x = left + (n % 2) * (plot_width / 2)
        y = 10 + (n // 2) * legend_row
        colour = PALETTE[n % len(PALETTE)]
        body.append(f'<rect x="{x:.1f}" y="{y + 2:.1f}" width="14" height="4" fill="{colour}"/>')
        body.append(_text(x + 19, y + 9, one.name, size=FONT - 1))
    for tick in range(5):
        tick_value = ceiling * tick / 4
        tick_y = top + plot_height - plot_height * tick / 4
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{tick_y:.1f}" y2="{tick_y:.1f}" stroke="{GRID}"/>')
        shown: Number = int(tick_value) if tick_value == int(tick_value) else tick_value
        body.append(_text(left - 6, tick_y + 4, fmt(shown), anchor="end", size=FONT - 2, fill=MUTED))
    count = len(labels)
    step = plot_width / (count - 1) if count > 1 else 0.0

    def x_of(i: int) -> float:
        return left + (i * step if count > 1 else plot_width / 2)

    every = max(1, math.ceil(count / 7))
    for i, label in enumerate(labels):
        if i % every == 0 or (i == count - 1 and (count - 1) % every >= every / 2):
            body.append(_text(x_of(i), top + plot_height + 18, label, anchor="middle", size=FONT - 2, fill=MUTED))
    for n, one in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        points = [
            (x_of(i), top + plot_height - plot_height * max(0.0, float(v)) / ceiling) for i, v in enumerate(one.values)
        ]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        if len(points) <= 31:
            for (px, py), label, value in zip(points, labels, one.values, strict=False):
                body.append(
                    f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}">'
                    f"<title>{escape(one.name)} {escape(label)}：{escape(fmt(value))}</title></circle>"
                )
    return _svg(height, title, body, css_class)
