"""The quarterly report's four charts, drawn once as plain shapes and rendered two ways: as SVG for
the page (server-side, no script) and as reportlab drawings for the PDF — so the page and the
printed report show the same picture from the same snapshot.

- sales by channel (horizontal bars), with each bar's amount;
- the quarter's sales by month (columns stacked by channel, the month's total on top);
- target progress (done to date as a share of plan, capped at 100 %, met in green);
- funds: spent to date against each line's budget.

Coordinates run top-down as in SVG, in a 360-unit-wide box: narrow enough that a phone shows the
labels at a readable size when the chart is scaled to the screen. Presentation attributes, not a
``<style>`` element: the page's CSP has no inline styles. Every text from the snapshot is
XML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from app.channels import SalesChannel
from app.county.report_snapshot import Snapshot
from app.county.reports import budget_of, month_channels

WIDTH = 360.0
FONT_SIZE = 15.0
SMALL = 13.0
LABEL_LINE = 21.0  # the label's line above a bar
BAR = 15.0
ROW = LABEL_LINE + BAR + 12.0
TOP = 4.0
INK = "#222222"
MUTED = "#666666"
GRID = "#dddddd"
TRACK = "#e8efe4"
GREEN = "#2f7d46"
AMBER = "#c77d12"
BLUE = "#1f6fb2"
# Channel colours, distinct on screen and apart in greys when printed.
CHANNEL_COLOURS = {
    SalesChannel.shop.value: "#2f7d46",
    SalesChannel.wholesale.value: "#1f6fb2",
    SalesChannel.pos.value: "#c77d12",
    SalesChannel.crossborder.value: "#8e44ad",
}
OTHER_COLOUR = "#7a7a7a"
SVG_FONTS = "system-ui, -apple-system, 'PingFang SC', 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float = FONT_SIZE
    fill: str = INK
    anchor: str = "start"  # start | middle | end
    bold: bool = False


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = GRID
    width: float = 1.0


Shape = Rect | Text | Line


@dataclass
class Chart:
    key: str
    title: str
    height: float
    shapes: list[Shape] = field(default_factory=list)
    width: float = WIDTH


# ---- measuring and formatting -------------------------------------------------------------------


def text_width(text: str, size: float) -> float:
    """Roughly how wide ``text`` sets, on the generous side: an ideograph or a CJK font's
    punctuation (…, ·, full-width signs) one em, Latin and digits 0.6 em. The chart only needs it to
    keep labels clear of each other and of the edge."""
    return sum(size if ord(char) >= 0x2000 else size * 0.6 for char in text)


def money_short(fen: int) -> str:
    """A bar's amount: ``¥8,520`` below ten thousand yuan, ``¥12.3万`` above (the tables are exact)."""
    yuan = Decimal(fen) / 100
    sign = "-" if yuan < 0 else ""
    yuan = abs(yuan)
    if yuan >= 10_000:
        return f"{sign}¥{(yuan / 10_000).quantize(Decimal('0.1'), ROUND_HALF_UP)}万"
    return f"{sign}¥{yuan.quantize(Decimal(1), ROUND_HALF_UP):,}"


def _nice_max(value: int) -> int:
    """The axis' end: the next 1, 2 or 5 × 10ⁿ at or above ``value`` (1 when nothing)."""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _colour(channel: str) -> str:
    return CHANNEL_COLOURS.get(channel, OTHER_COLOUR)


# ---- the four charts ----------------------------------------------------------------------------


def _bar_rows(chart: Chart, rows: Sequence[tuple[str, float, str, str]]) -> None:
    """One row per item: its label at the left and its figure at the right on one line, the bar
    across the whole width under them (``share`` 0–1 of the track); a phone shows every label
    whole at a readable size, which labels beside the bars would not leave room for."""
    from app.kit import pdf  # reportlab: loaded by the report pages that draw, not by every worker

    for index, (label, share, shown, colour) in enumerate(rows):
        y = TOP + index * ROW
        room = WIDTH - text_width(shown, SMALL) - 10
        chart.shapes.append(Text(0, y + FONT_SIZE, pdf.ellipsised(label, FONT_SIZE, room, measure=text_width)))
        chart.shapes.append(Text(WIDTH, y + FONT_SIZE, shown, size=SMALL, fill=MUTED, anchor="end"))
        chart.shapes.append(Rect(0, y + LABEL_LINE, WIDTH, BAR, TRACK))
        if share > 0:
            chart.shapes.append(Rect(0, y + LABEL_LINE, max(WIDTH * min(share, 1.0), 1.5), BAR, colour))
    if not rows:
        chart.shapes.append(Text(WIDTH / 2, TOP + FONT_SIZE, "（无数据）", fill=MUTED, anchor="middle"))


def _bar_chart(key: str, title: str, rows: Sequence[tuple[str, float, str, str]]) -> Chart:
    chart = Chart(key, title, TOP + max(len(rows), 1) * ROW)
    _bar_rows(chart, rows)
    return chart


def channel_chart(snapshot: Snapshot) -> Chart:
    """Sales by channel, each bar a share of the largest channel's."""
    channels = snapshot["performance"]["channels"]
    top = max((max(c["sales_fen"], 0) for c in channels), default=0) or 1
    rows = [
        (c["label"], max(c["sales_fen"], 0) / top, money_short(c["sales_fen"]), _colour(c["channel"])) for c in channels
    ]
    return _bar_chart("channels", "各渠道销售额", rows)


def monthly_chart(snapshot: Snapshot) -> Chart:
    """Columns per month stacked by channel, the month's total above; a legend underneath."""
    months = snapshot["performance"]["monthly"]
    legend = month_channels(snapshot)
    channels = [channel for channel, _ in legend]
    plot_top, plot_height, axis_room = TOP + 18, 160.0, 62.0
    legend_y = plot_top + plot_height + 48
    chart = Chart("monthly", "季度内各月销售额（按渠道）", legend_y + 8)
    totals = [sum(max(v, 0) for v in m["sales_fen"].values()) for m in months]
    axis_max = _nice_max(max(totals, default=0))
    baseline = plot_top + plot_height
    for tick in range(5):
        value = axis_max * tick // 4
        y = baseline - plot_height * tick / 4
        chart.shapes.append(Line(axis_room, y, WIDTH - 8, y))
        chart.shapes.append(Text(axis_room - 6, y + 4, money_short(value), size=SMALL, fill=MUTED, anchor="end"))
    slot = (WIDTH - 8 - axis_room) / max(len(months), 1)
    column = min(64.0, slot * 0.55)
    for index, month in enumerate(months):
        x = axis_room + slot * index + (slot - column) / 2
        y = baseline
        for channel in channels:
            value = max(month["sales_fen"].get(channel, 0), 0)
            height = plot_height * value / axis_max
            if height > 0:
                y -= height
                chart.shapes.append(Rect(x, y, column, height, _colour(channel)))
        chart.shapes.append(Text(x + column / 2, y - 5, money_short(totals[index]), size=SMALL, anchor="middle"))
        name = month["month"]
        chart.shapes.append(Text(x + column / 2, baseline + 18, f"{int(name[5:])} 月", anchor="middle"))
    x = 0.0
    for channel, label in legend:
        room = 16 + text_width(label, SMALL)
        if x > 0 and x + room > WIDTH:  # next legend line
            x, legend_y = 0.0, legend_y + 22
            chart.height += 22
        chart.shapes.append(Rect(x, legend_y - 11, 12, 12, _colour(channel)))
        chart.shapes.append(Text(x + 16, legend_y, label, size=SMALL))
        x += room + 14
    return chart


def progress_chart(snapshot: Snapshot) -> Chart:
    """Each target's done-to-date as a share of its plan; the bar stops at 100 %, green when met."""
    rows = []
    for row in snapshot["progress"]:
        planned, done = row["planned"], row["done_to_date"]
        share = 1.0 if planned <= 0 else done / planned
        rows.append((row["title"], share, f"{done}/{planned} {row['unit']}", GREEN if row["met"] else AMBER))
    return _bar_chart("progress", "目标完成情况（累计 / 计划）", rows)


def funds_chart(snapshot: Snapshot) -> Chart:
    """Spent to date over each line's budget: the light track is the budget, the bar what is spent
    (amber past the budget)."""
    rows = []
    for line in snapshot["funds"]:
        budget, spent = budget_of(line), line["spent_to_date_fen"]
        share = 1.0 if budget <= 0 else max(spent, 0) / budget
        shown = "—" if budget <= 0 else f"{Decimal(spent * 100 / budget).quantize(Decimal(1), ROUND_HALF_UP)}%"
        rows.append((line["title"], share, f"{money_short(spent)} · {shown}", AMBER if spent > budget else BLUE))
    return _bar_chart("funds", "资金使用（累计支出 / 预算）", rows)


def charts(snapshot: Snapshot) -> dict[str, Chart]:
    """Every chart of the report by key: progress, funds, channels, monthly."""
    found = [progress_chart(snapshot), funds_chart(snapshot), channel_chart(snapshot), monthly_chart(snapshot)]
    return {chart.key: chart for chart in found}


# ---- SVG ------------------------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def svg(chart: Chart) -> str:
    """The chart as an inline ``<svg>`` that scales to its box, titled for screen readers."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_num(chart.width)} {_num(chart.height)}" '
        f'role="img" aria-labelledby="chart-{chart.key}-title" class="report-chart-svg" '
        f"font-family={quoteattr(SVG_FONTS)}>",
        f'<title id="chart-{chart.key}-title">{escape(chart.title)}</title>',
    ]
    for shape in chart.shapes:
        if isinstance(shape, Rect):
            parts.append(
                f'<rect x="{_num(shape.x)}" y="{_num(shape.y)}" width="{_num(shape.w)}" height="{_num(shape.h)}" '
                f'fill="{shape.fill}"/>'
            )
        elif isinstance(shape, Line):
            parts.append(
                f'<line x1="{_num(shape.x1)}" y1="{_num(shape.y1)}" x2="{_num(shape.x2)}" y2="{_num(shape.y2)}" '
                f'stroke="{shape.stroke}" stroke-width="{_num(shape.width)}"/>'
            )
        else:
            weight = ' font-weight="700"' if shape.bold else ""
            parts.append(
                f'<text x="{_num(shape.x)}" y="{_num(shape.y)}" font-size="{_num(shape.size)}" fill="{shape.fill}" '
                f"text-anchor={quoteattr(shape.anchor)}{weight}>{escape(shape.text)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


# ---- reportlab ------------------------------------------------------------------------------------


def drawing(chart: Chart, scale: float, max_height: float) -> Any:
    """The chart as a platypus flowable ``scale`` times its size (smaller if it would be taller
    than ``max_height`` points: a chart is never split over pages), drawn straight on the canvas
    in the embedded document font (reportlab's own graphics renderer selects Helvetica, a font
    nobody embeds, before it draws anything); y flipped, since PDF coordinates run bottom-up."""
    from reportlab.lib.colors import HexColor
    from reportlab.platypus import Flowable

    from app.kit import pdf

    font = pdf.register()
    scale = min(scale, max_height / chart.height)

    class ChartFlowable(Flowable):  # type: ignore[misc]
        def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
            return chart.width * scale, chart.height * scale

        def draw(self) -> None:
            canvas = self.canv
            canvas.saveState()
            canvas.scale(scale, scale)
            height = chart.height
            for shape in chart.shapes:
                if isinstance(shape, Rect):
                    canvas.setFillColor(HexColor(shape.fill))
                    canvas.rect(shape.x, height - shape.y - shape.h, shape.w, shape.h, stroke=0, fill=1)
                elif isinstance(shape, Line):
                    canvas.setStrokeColor(HexColor(shape.stroke))
                    canvas.setLineWidth(shape.width)
                    canvas.line(shape.x1, height - shape.y1, shape.x2, height - shape.y2)
                else:
                    canvas.setFillColor(HexColor(shape.fill))
                    canvas.setFont(font, shape.size)
                    draw = {"middle": canvas.drawCentredString, "end": canvas.drawRightString}.get(
                        shape.anchor, canvas.drawString
                    )
                    draw(shape.x, height - shape.y, pdf.printable(shape.text))
            canvas.restoreState()

    return ChartFlowable()
