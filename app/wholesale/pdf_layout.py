"""The A4 page every wholesale document is set on: the embedded document font (``app.kit.pdf``)
for every paragraph and table cell, a footer with the document's name and "第 n / N 页", and the
blocks the documents share (the title block with the document number as a Code128, a company's
发票 details, ruled tables).

"N" is not known until the last page is laid out. Rather than keep every page in memory and draw
the footers at the end, each page draws its own "第 n / " and places a PDF form (an XObject)
for the "N 页" part; the form is drawn once, when the document is saved. A 60-page manifest
costs one extra object, not a second layout.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from app.config import get_settings
from app.kit import clock, pdf
from app.kit.money import format_minor
from app.kit.quantities import format_quantity
from app.wholesale.document_data import Party

FONT = pdf.FONT
PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 15 * mm
USABLE_WIDTH = PAGE_WIDTH - 2 * MARGIN
FOOTER_Y = 9 * mm
_TOTAL_FORM = "wholesale-page-total"
BAR_MODULE = 0.3 * mm  # Code128 module of the document number: scans from paper and from a screen


class _PagedCanvas(Canvas):  # type: ignore[misc]
    """A canvas that writes "{footer}   第 n / N 页" at the foot of every page."""

    footer = ""

    def showPage(self) -> None:
        self.saveState()
        self.setFont(FONT, 8)
        self.setFillColor(colors.black)
        self.drawString(MARGIN, FOOTER_Y, self.footer)
        centre = PAGE_WIDTH - MARGIN - 14 * mm
        self.drawRightString(centre, FOOTER_Y, f"第 {self.getPageNumber()} / ")
        self.translate(centre, FOOTER_Y)
        self.doForm(_TOTAL_FORM)
        self.restoreState()
        super().showPage()

    def save(self) -> None:
        self.beginForm(_TOTAL_FORM)
        self.setFont(FONT, 8)
        # showPage has already advanced the counter past the last page.
        self.drawString(0, 0, f"{self.getPageNumber() - 1} 页")
        self.endForm()
        super().save()


def render(story: Sequence[Flowable], *, title: str, footer: str, top_margin: float = 14 * mm) -> bytes:
    """Lay ``story`` out on numbered A4 pages and return the PDF."""
    pdf.register()
    settings = get_settings()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=top_margin,
        bottomMargin=16 * mm,
        title=title,
        author=settings.brand_name,
        creator=settings.service_centre_name,
    )

    def make_canvas(*args: Any, **kwargs: Any) -> _PagedCanvas:
        # Pages start in the document font: reportlab's default Helvetica is never embedded.
        canvas = _PagedCanvas(*args, **{**kwargs, "initialFontName": FONT, "pageCompression": 1})
        canvas.footer = footer
        return canvas

    doc.build(list(story), canvasmaker=make_canvas)
    return buffer.getvalue()


# ---- text -----------------------------------------------------------------------------------------


def _style(name: str, size: float, leading: float, **extra: Any) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=FONT, fontSize=size, leading=leading, wordWrap="CJK", **extra)


STYLES = {
    "title": _style("title", 16, 21, spaceAfter=2),
    "subtitle": _style("subtitle", 10, 14),
    "meta": _style("meta", 9, 12.5),
    "heading": _style("heading", 10.5, 14, spaceBefore=5, spaceAfter=2),
    "cell": _style("cell", 8.5, 10.5),
    "cell_right": _style("cell_right", 8.5, 10.5, alignment=TA_RIGHT),
    "small": _style("small", 7.5, 9.5),
    "total": _style("total", 10.5, 14, alignment=TA_RIGHT),
}


def esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def para(text: str, style: str = "cell") -> Paragraph:
    """A paragraph of plain text (escaped: names and addresses are what people typed)."""
    return marked(esc(text), style)


def marked(markup: str, style: str = "meta") -> Paragraph:
    """A paragraph of our own markup (<b>…</b>); every value in it must already be escaped."""
    pdf.register()  # a paragraph looks its font's family up as it is made
    return Paragraph(markup, STYLES[style])


def fit(text: str, width: float, size: float = 8.5) -> str:
    """``text`` cut with "…" to fit a table column ``width`` points wide (padding left) at ``size``."""
    room = width - 6
    if pdf.width(text, size) <= room:
        return text
    while text and pdf.width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def wrap(text: str, width: float, size: float = 8.5) -> list[str]:
    """``text`` broken into lines that fit a table column ``width`` points wide at ``size``: at
    any character (Chinese has no spaces to break at), a line never empty."""
    room = width - 6
    lines: list[str] = []
    line = ""
    for char in text:
        if line and pdf.width(line + char, size) > room:
            lines.append(line)
            line = char.lstrip()
        else:
            line += char
    if line or not lines:
        lines.append(line)
    return lines


def money(amount_minor: int, currency: str = "CNY") -> str:
    return format_minor(amount_minor, currency)


def qty(value: Decimal) -> str:
    return format_quantity(value)


def kg(value: Decimal) -> str:
    """Weights on trip documents: to 0.1 kg, always with the decimal (252.0, not 252)."""
    return f"{value.quantize(Decimal('0.1')):,}"


def printed_at(instant: datetime | None) -> str:
    """'打印于 2026-12-08 17:05' in China time (the pinned clock when none is given)."""
    at = instant if instant is not None else clock.now()
    return "打印于 " + at.astimezone(clock.business_tz()).strftime("%Y-%m-%d %H:%M")


# ---- blocks ---------------------------------------------------------------------------------------


def party_lines(party: Party, *, fapiao: bool) -> list[str]:
    """A company block: its name, then its 发票 details where the document is about billing."""
    lines = [party.name]
    if fapiao:
        lines += [
            f"税号：{party.tax_id or '—'}",
            f"地址、电话：{' '.join(p for p in (party.address, party.phone) if p) or '—'}",
            f"开户行及账号：{' '.join(p for p in (party.bank_name, party.bank_account) if p) or '—'}",
        ]
    elif party.contact or party.phone:
        lines.append(f"联系人：{' '.join(p for p in (party.contact, party.phone) if p)}")
    return lines


def header(title: str, number: str, facts: list[str]) -> Table:
    """Title and facts on the left; the document number and its Code128 on the right."""
    settings = get_settings()
    left = [marked(f"{esc(settings.brand_name)} · {esc(title)}", "title"), *(para(f, "meta") for f in facts)]
    barcode = Code128(number, barWidth=BAR_MODULE, barHeight=11 * mm, humanReadable=False, quiet=True)
    right = [barcode, para(number, "meta")]
    table = Table([[left, right]], colWidths=[USABLE_WIDTH - 62 * mm, 62 * mm])
    table.setStyle(PLAIN)
    return table


def grid(*, header_rows: int = 1, right_from: int | None = None, extra: Sequence[Any] = ()) -> TableStyle:
    """A ruled table: header rule, thin row rules, a box; columns from ``right_from`` right-aligned."""
    commands: list[Any] = [
        ("FONT", (0, 0), (-1, -1), FONT, 8.5),
        ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
        ("LINEBELOW", (0, header_rows - 1), (-1, header_rows - 1), 0.8, colors.black),
        ("LINEBELOW", (0, header_rows), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.Color(0.92, 0.92, 0.92)),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if right_from is not None:
        commands.append(("ALIGN", (right_from, 0), (-1, -1), "RIGHT"))
    commands.extend(extra)
    return TableStyle(commands)


PLAIN = TableStyle(
    [
        ("FONT", (0, 0), (-1, -1), FONT, 9),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
    ]
)
