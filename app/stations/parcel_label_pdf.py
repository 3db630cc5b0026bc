"""Drawing parcel labels (100 × 150 mm, thermal); what they print is gathered in
``app.stations.labels``.

A parcel label tells the packer, the driver and the station operator where a box goes, at a
glance from a metre away: the destination station (name, code, township and village) and the
route with the stop's place on it are the biggest things on the label. The tracking number is
printed three ways — as text, as a Code128 for the PDA scanners, and inside the QR code under
"扫码查件": the address of the parcel's public status page, ``{PUBLIC_BASE_URL}/p/{tracking}``, which
a phone camera opens and whose last segment the PDA and the station console read as the tracking
number (``app.stations.tracking``). The recipient is on the label only as much as the station
needs to hand over the box: the name masked to its first character (``李**``) and the phone's last
four digits (``尾号 8000``); the full name and number stay in the order, never on a box left on a
truck or a shelf.

Thermal printing: black only — no greys, which a thermal head dithers into speckle. Headings are
thickened with fill + stroke (the font has one weight) and the station code is printed white
on a solid black bar, which thermal heads print cleanly. The Code128 module is a whole number of
dots of a 203 dpi head (0.125 mm a dot; 0.5, 0.375 or at least 0.25 mm a module, the widest that
fits with a ten-module quiet zone each side), and the barcode starts on the dot grid, so every bar
prints at the same width. The QR code (error correction M, four-module quiet zone) is drawn from
its module matrix as one filled path, its module also a whole number of dots.

Font: the embedded document font of ``app.kit.pdf`` (Noto Sans SC with TrueType outlines), as for
the lot labels: labels and manifests carry their glyphs, so they print the same from any viewer on
any printer driver, and no page names a font that is not in the file.

Speed: a batch is one canvas, one page per label; the barcode and the QR code are drawn straight
onto the page as paths (no per-label PDF to merge, no widget drawings), and the QR mask is chosen
with a regex-based penalty score instead of reportlab's Python loops (that search was over half a
label's time). 300 labels take about 1.4 s of CPU here (under 5 ms a label; the status page URL
makes a larger QR code than the bare tracking number did, about a third of that time, while the
embedded font's subsetting costs next to nothing; see
``tests/stations/test_labels.py::test_label_batch_render_time``). Endpoints render in a thread.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from reportlab.graphics.barcode import qrencoder
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from app.config import get_settings
from app.kit import pdf
from app.kit.errors import InvalidInput
from app.kit.money import format_minor

if TYPE_CHECKING:  # the data module imports this one when it prints
    from app.stations.labels import ParcelLabel

FONT = pdf.FONT

LABEL_WIDTH = 100 * mm
LABEL_HEIGHT = 150 * mm
MARGIN = 4 * mm
DOT = 25.4 / 203 * mm  # one dot of a 203 dpi thermal head (0.125 mm)
BAR_MODULES = (4 * DOT, 3 * DOT, 2 * DOT)  # preferred Code128 module widths, widest first
BAR_HEIGHT = 16 * mm
QUIET_MODULES = 10
QR_BOX = 30 * mm  # the square the QR code and its quiet zone fit in
QR_QUIET = 4


def _width(text: str, size: float) -> float:
    return pdf.width(text, size)


def _fit(text: str, size: float, max_width: float, min_size: float) -> float:
    """The largest size ≤ ``size`` (down to ``min_size``) at which ``text`` fits ``max_width``."""
    width = _width(text, size)
    if width <= max_width:
        return size
    return max(min_size, size * max_width / width)


def _split_line(text: str, size: float, max_width: float) -> tuple[str, str]:
    """The longest head of ``text`` that fits ``max_width`` at ``size``, and the rest."""
    end = len(text)
    while end > 1 and _width(text[:end], size) > max_width:
        end -= 1
    return text[:end], text[end:]


def _text(
    canvas: Canvas,
    x: float,
    y: float,
    text: str,
    size: float,
    *,
    bold: bool = False,
    max_width: float | None = None,
    min_size: float | None = None,
) -> float:
    """Draw ``text`` with its baseline at ``y``; shrink (to ``min_size``) then cut to ``max_width``.
    Returns the width drawn."""
    if max_width is not None:
        size = _fit(text, size, max_width, min_size or size)
        text = pdf.ellipsised(text, size, max_width)
    body = canvas.beginText(x, y)
    body.setFont(FONT, size)
    if bold:
        # Fill + stroke thickens a face without bold; the render mode is fenced in save/restore
        # because reportlab does not reset it after the text object.
        canvas.saveState()
        canvas.setLineWidth(size * 0.05)
        body.setTextRenderMode(2)
        body.textOut(text)
        canvas.drawText(body)
        canvas.restoreState()
    else:
        body.textOut(text)
        canvas.drawText(body)
    return _width(text, size)


def _snap(value: float) -> float:
    """``value`` (points) moved down onto the thermal head's dot grid."""
    return float(int(value / DOT) * DOT)


def _code128(value: str, max_width: float) -> tuple[str, float, int]:
    """Code128 of ``value`` as reportlab encodes it (a run string: upper-case letters are bars,
    lower-case spaces, ``A``/``a`` one module wide), with the widest whole-dot module that fits
    ``max_width`` together with its quiet zones — never narrower than two dots, since a narrower
    bar is lost on a 203 dpi head. Returns (runs, module, width in modules)."""
    barcode = Code128(value, barWidth=1, quiet=0)
    modules = round(float(barcode.width))  # with barWidth 1 the width is the module count
    runs = str(barcode.decomposed)
    for module in BAR_MODULES:
        if (modules + 2 * QUIET_MODULES) * module <= max_width:
            return runs, module, modules
    return runs, BAR_MODULES[-1], modules


def _bars(canvas: Canvas, runs: str, x: float, y: float, module: float, height: float) -> None:
    """Draw Code128 ``runs`` with the lower-left corner at (x, y): one path in module units, so
    every bar is a whole number of modules (and of printer dots) wide."""
    path = canvas.beginPath()
    position = 0
    for run in runs:
        if run.isupper():
            width = ord(run) - ord("A") + 1
            path.rect(position, 0, width, 1)
        else:
            width = ord(run) - ord("a") + 1
        position += width
    canvas.saveState()
    canvas.transform(module, 0, 0, height, x, y)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


_RUN = re.compile(r"0{5,}|1{5,}")
_FINDER_LIKE = re.compile(r"(?=(10111010000|00001011101))")


class _QRCode(qrencoder.QRCode):  # type: ignore[misc]
    """reportlab's encoder with the mask chosen by the same four ISO 18004 penalty rules, scored
    on row and column strings with regular expressions instead of Python loops: the mask search
    was most of a label's render time. Any mask decodes; the score only avoids masks that make
    finder-like patterns or large blocks."""

    def getBestMaskPattern(self) -> int:
        best, best_score = 0, -1
        for mask in range(8):
            self.makeImpl(True, mask)
            score = _penalty(self.modules)
            if best_score < 0 or score < best_score:
                best, best_score = mask, score
        return best


def _penalty(modules: list[list[bool]]) -> int:
    rows = ["".join("1" if m else "0" for m in row) for row in modules]
    cols = ["".join(col) for col in zip(*rows, strict=True)]
    score = 0
    for line in (*rows, *cols):
        score += sum(len(run) - 2 for run in _RUN.findall(line))  # N1 = 3 for five in a row, +1 each
        score += 40 * len(_FINDER_LIKE.findall(line))  # N3
    for upper, lower in itertools.pairwise(rows):  # N2: 2 × 2 blocks of one colour
        a, b = int(upper, 2), int(lower, 2)
        same = ~(a ^ b)
        blocks = same & (same >> 1) & ~(a ^ (a >> 1))
        score += 3 * bin(blocks & ((1 << (len(upper) - 1)) - 1)).count("1")
    dark = sum(line.count("1") for line in rows)
    score += 10 * (abs(100 * dark // (len(rows) ** 2) - 50) // 5)  # N4
    return score


def _qr(canvas: Canvas, value: str, x: float, y: float, box: float) -> None:
    """A QR code of ``value`` (error correction M, reportlab's encoder choosing the mask) centred
    in the ``box``-wide square whose lower-left corner is (x, y), quiet zone included: one filled
    path of its dark runs, drawn in module units with a whole-dot module."""
    code = _QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(value)
    code.make()
    count = code.getModuleCount()
    module = max(_snap(box / (count + 2 * QR_QUIET)), DOT)
    size = module * count
    left = _snap(x + (box - size) / 2)
    bottom = _snap(y + (box - size) / 2)
    path = canvas.beginPath()
    for r, row in enumerate(code.modules):
        c = 0
        y_row = count - 1 - r
        while c < count:
            if row[c]:
                start = c
                while c < count and row[c]:
                    c += 1
                path.rect(start, y_row, c - start, 1)
            else:
                c += 1
    canvas.saveState()
    canvas.transform(module, 0, 0, module, left, bottom)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


# ---- the parcel label -----------------------------------------------------------------------------

LEFT, RIGHT = MARGIN, LABEL_WIDTH - MARGIN
WIDTH = RIGHT - LEFT
TOP = LABEL_HEIGHT - MARGIN
KIND = "村站自提包裹"
CODE_BAR_TOP, CODE_BAR_HEIGHT = TOP - 24.5 * mm, 13 * mm  # the black bar the station code is on
FOOTER_NOTE = "凭取件码到村站领取 · 请当面核对包裹完好"
PICKUP_ROW_BOTTOM = MARGIN + 7.5 * mm
PICKUP_ROW_TOP = PICKUP_ROW_BOTTOM + 10 * mm
ITEM_STEP = 4.2 * mm


def _rule(canvas: Canvas, y: float, weight: float = 1.0) -> None:
    canvas.setLineWidth(weight)
    canvas.line(LEFT, y, RIGHT, y)


def _draw_label(canvas: Canvas, info: ParcelLabel, brand: str) -> None:
    """One label. Top down: header, destination, route and stop, the tracking barcode; bottom up:
    the footer note and the pickup row; between them the details on the left and the QR code on
    the right."""
    canvas.setFillColor(colors.black)
    canvas.setStrokeColor(colors.black)
    _draw_header(canvas, brand)
    route_top = _draw_destination(canvas, info)
    bars_top = _draw_route(canvas, info, route_top)
    details_top = _draw_tracking_barcode(canvas, info.tracking_number, bars_top)
    _draw_footer(canvas)
    _draw_pickup_row(canvas, info)
    qr_x = RIGHT - QR_BOX
    _draw_status_qr(canvas, info.status_url, qr_x, details_top)
    _draw_details(canvas, info, details_top, column=qr_x - LEFT - 2 * mm)


def _draw_header(canvas: Canvas, brand: str) -> None:
    """Brand on the left, what this is on the right, a heavy rule under both."""
    _text(canvas, LEFT, TOP - 6 * mm, brand, 16, bold=True)
    _text(canvas, RIGHT - _width(KIND, 11), TOP - 5.6 * mm, KIND, 11, bold=True)
    _rule(canvas, TOP - 8.5 * mm, 1.5)


def _draw_destination(canvas: Canvas, info: ParcelLabel) -> float:
    """The station's name, then its code white on black beside the township and village, a heavy
    rule under them; returns the rule's height, where the route starts."""
    _text(canvas, LEFT, TOP - 11.8 * mm, "送达村站", 8)
    _draw_station_name(canvas, info.station_name)
    code_w = _draw_station_code(canvas, info.station_code)
    place_x = LEFT + code_w + 3 * mm
    place_w = RIGHT - place_x
    _text(canvas, place_x, CODE_BAR_TOP - 5.6 * mm, info.township, 15, bold=True, max_width=place_w, min_size=9)
    _text(canvas, place_x, CODE_BAR_TOP - 11.6 * mm, info.village, 15, bold=True, max_width=place_w, min_size=9)
    rule_y: float = CODE_BAR_TOP - CODE_BAR_HEIGHT - 3 * mm
    _rule(canvas, rule_y, 1.5)
    return rule_y


def _draw_station_name(canvas: Canvas, name: str) -> None:
    if _width(name, 16) <= WIDTH:
        _text(canvas, LEFT, TOP - 21.5 * mm, name, 20, bold=True, max_width=WIDTH, min_size=16)
    else:
        # A long name goes on two lines rather than losing its end (often "服务站").
        first, rest = _split_line(name, 13, WIDTH)
        _text(canvas, LEFT, TOP - 17.4 * mm, first, 13, bold=True)
        _text(canvas, LEFT, TOP - 22.5 * mm, rest, 13, bold=True, max_width=WIDTH, min_size=10)


def _draw_station_code(canvas: Canvas, code: str) -> float:
    """The station code white on a solid black bar; returns the bar's width."""
    size = _fit(code, 26, WIDTH * 0.55, 14)
    bar_w: float = _width(code, size) + 4 * mm
    canvas.rect(LEFT, CODE_BAR_TOP - CODE_BAR_HEIGHT, bar_w, CODE_BAR_HEIGHT, stroke=0, fill=1)
    canvas.saveState()
    canvas.setFillColor(colors.white)
    canvas.setStrokeColor(colors.white)
    _text(canvas, LEFT + 2 * mm, CODE_BAR_TOP - CODE_BAR_HEIGHT + 3.6 * mm, code, size, bold=True)
    canvas.restoreState()
    return bar_w


def _draw_route(canvas: Canvas, info: ParcelLabel, top: float) -> float:
    """The route code and the stop's place on it, what the sorter reads to put the box on the
    right truck in the right order, then the route's name and a heavy rule; returns where the
    barcode starts."""
    _text(canvas, LEFT, top - 4.2 * mm, "配送路线", 8)
    route_code = info.route_code or "未排线"
    code_drawn = _text(canvas, LEFT, top - 13 * mm, route_code, 24, bold=True, max_width=WIDTH * 0.45, min_size=14)
    stop_x = LEFT + code_drawn + 4 * mm
    stop_w = WIDTH - code_drawn - 4 * mm
    if info.stop_position is not None:
        stop = f"第 {info.stop_position} 站 / 共 {info.stop_count} 站"
        _text(canvas, stop_x, top - 12.6 * mm, stop, 15, bold=True, max_width=stop_w, min_size=9)
    elif info.route_code:
        _text(canvas, stop_x, top - 12.6 * mm, "不在本路线上，请核对", 11, max_width=stop_w, min_size=8)
    if info.route_name:
        _text(canvas, LEFT, top - 17.6 * mm, info.route_name, 9, max_width=WIDTH, min_size=7)
    _rule(canvas, top - 20 * mm, 1.5)
    barcode_top: float = top - 23 * mm
    return barcode_top


def _draw_tracking_barcode(canvas: Canvas, number: str, top: float) -> float:
    """The tracking number as a Code128 across the label, on the dot grid, the number in text
    under it, a heavy rule; returns the rule's height, where the details start."""
    runs, module, modules = _code128(number, WIDTH)
    _bars(canvas, runs, _snap(LEFT + (WIDTH - modules * module) / 2), top - BAR_HEIGHT, module, BAR_HEIGHT)
    size = _fit(number, 14, WIDTH, 9)
    _text(canvas, LEFT + (WIDTH - _width(number, size)) / 2, top - BAR_HEIGHT - 5.2 * mm, number, size, bold=True)
    rule_y: float = top - BAR_HEIGHT - 7.5 * mm
    _rule(canvas, rule_y, 1.5)
    return rule_y


def _draw_footer(canvas: Canvas) -> None:
    _rule(canvas, MARGIN + 5.5 * mm, 0.75)
    _text(canvas, LEFT, MARGIN + 1.5 * mm, FOOTER_NOTE, 8, max_width=WIDTH, min_size=6)


def _draw_pickup_row(canvas: Canvas, info: ParcelLabel) -> None:
    """The dispatch date on the right; on the left what is due at pickup, framed so the operator
    cannot miss that money is to be collected at handover, or that nothing is."""
    when = f"发车 {info.dispatch_date.isoformat()}"
    when_w = _width(when, 11)
    _text(canvas, RIGHT - when_w, PICKUP_ROW_BOTTOM + 3.3 * mm, when, 11, bold=True)
    room = WIDTH - when_w - 4 * mm
    if info.amount_due_minor > 0:
        due = f"到付 {format_minor(info.amount_due_minor, info.currency)}"
        size = _fit(due, 18, room - 5 * mm, 11)
        box_w = _width(due, size) + 5 * mm
        canvas.setLineWidth(2)
        canvas.rect(LEFT + 1, PICKUP_ROW_BOTTOM, box_w, PICKUP_ROW_TOP - PICKUP_ROW_BOTTOM, stroke=1, fill=0)
        _text(canvas, LEFT + 2.5 * mm, PICKUP_ROW_BOTTOM + 3 * mm, due, size, bold=True)
    else:
        paid = "已付款 · 无需到付"
        _text(canvas, LEFT, PICKUP_ROW_BOTTOM + 3.3 * mm, paid, 11, bold=True, max_width=room, min_size=8)


def _draw_status_qr(canvas: Canvas, url: str, x: float, top: float) -> None:
    """The QR code of the parcel's status page under ``top`` at ``x``, "扫码查件" centred under it."""
    _qr(canvas, url, x, top - 1 * mm - QR_BOX, QR_BOX)
    hint = "扫码查件"
    _text(canvas, x + (QR_BOX - _width(hint, 8)) / 2, top - 3.8 * mm - QR_BOX, hint, 8)


def _draw_details(canvas: Canvas, info: ParcelLabel, top: float, *, column: float) -> None:
    """Order number, the masked recipient, the item count and as many item lines as fit above the
    pickup row, "…另有 N 种" for the rest."""
    y = top - 5.5 * mm
    _text(canvas, LEFT, y, f"订单 {info.order_number}", 10, max_width=column, min_size=7)
    y -= 6.5 * mm
    recipient = f"收件人 {info.recipient}  尾号 {info.phone_last4}"
    _text(canvas, LEFT, y, recipient, 13, bold=True, max_width=column, min_size=8)
    y -= 5.8 * mm
    _text(canvas, LEFT, y, f"商品 共 {info.line_count} 种", 9, bold=True)
    floor = PICKUP_ROW_TOP + 2.5 * mm  # the lowest baseline an item line may take
    fits = max(int((y - floor) / ITEM_STEP), 1)
    more = info.line_count > len(info.items)
    shown = list(info.items)
    if len(shown) + more > fits:
        shown, more = shown[: fits - 1], True
    for item in shown:
        y -= ITEM_STEP
        _text(canvas, LEFT, y, item, 8.5, max_width=column, min_size=7)
    if more:
        y -= ITEM_STEP
        _text(canvas, LEFT, y, f"…另有 {info.line_count - len(shown)} 种", 8.5)


def parcel_label_pdf(labels: Sequence[ParcelLabel]) -> bytes:
    """All ``labels`` as one PDF, one 100 × 150 mm page each, in the order given."""
    if not labels:
        raise InvalidInput("没有要打印的面单")
    brand = get_settings().brand_name
    buffer = io.BytesIO()
    canvas = pdf.new_canvas(buffer, (LABEL_WIDTH, LABEL_HEIGHT))
    more = f" 等 {len(labels)} 张" if len(labels) > 1 else ""
    canvas.setTitle(f"{brand} 包裹面单 {labels[0].tracking_number}{more}")
    canvas.setAuthor(brand)
    for info in labels:
        _draw_label(canvas, info, brand)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
