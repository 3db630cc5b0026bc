"""The dispatch manifest of a run (A4): one table per stop in route order, with signature lines;
what it prints is gathered in ``app.stations.labels``. Drawn in the embedded document font of
``app.kit.pdf``, as the parcel labels are."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.config import get_settings
from app.kit import clock, pdf
from app.kit.money import format_minor

if TYPE_CHECKING:  # the data module imports this one when it prints
    from app.stations.labels import ManifestParcel, ManifestStop, RunManifest

FONT = pdf.FONT
CHINA_TZ = clock.business_tz()
MARGIN_X = 18 * mm
USABLE_WIDTH = A4[0] - 36 * mm


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12, wordWrap="CJK", alignment=TA_LEFT)
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=22),
        "meta": ParagraphStyle("meta", parent=base, fontSize=10, leading=14),
        "stop": ParagraphStyle("stop", parent=base, fontSize=11, leading=15, spaceBefore=4),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10),
    }


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


PARCEL_HEADER = ["#", "运单号", "订单号", "收件人", "商品", "到付"]
PARCEL_WIDTHS = [10 * mm, 38 * mm, 36 * mm, 30 * mm, 16 * mm, USABLE_WIDTH - 130 * mm]
STATUS_ZH = {"packing": "打包中", "dispatched": "已发车"}


def manifest_pdf(run: RunManifest) -> bytes:
    """The A4 manifest of a run: header, one table per stop in route order with a signature line
    for the station, totals and the driver's and warehouse's signatures; numbered pages."""
    pdf.register()
    brand = get_settings().brand_name
    styles = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"{brand} 发车清单 {run.run_number}",
        author=brand,
    )
    story: list[Any] = [
        *_heading(run, brand, styles),
        *(_stop_block(stop, styles) for stop in run.stops),
        _totals_and_signatures(run),
    ]
    footer = f"{brand} · 发车清单 {run.run_number} · {run.route_code}"
    doc.build(story, canvasmaker=pdf.numbered_canvas(footer, MARGIN_X))
    return buffer.getvalue()


def _heading(run: RunManifest, brand: str, styles: dict[str, ParagraphStyle]) -> list[Any]:
    """Title, the run (number, route, date, status), and its counts and when it was printed."""
    status = STATUS_ZH.get(run.status, run.status)
    printed = run.printed_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M") if run.printed_at else ""
    return [
        Paragraph(f"{brand} 配送发车清单", styles["title"]),
        Paragraph(
            f"批次 <b>{_esc(run.run_number)}</b>　路线 <b>{_esc(run.route_code)}</b> {_esc(run.route_name)}　"
            f"发车日期 <b>{run.run_date.isoformat()}</b>　状态 {status}",
            styles["meta"],
        ),
        Paragraph(
            f"共 {sum(1 for s in run.stops if s.position is not None)} 个站点，"
            f"包裹合计 <b>{run.total_parcels}</b> 件"
            + (f"，到付合计 {format_minor(run.total_due_minor)}" if run.total_due_minor else "")
            + (f"　打印于 {printed}" if printed else ""),
            styles["meta"],
        ),
        Spacer(1, 3 * mm),
    ]


def _stop_block(stop: ManifestStop, styles: dict[str, ParagraphStyle]) -> KeepTogether:
    """One stop, kept on one page: its heading, then its parcels and the station's signature
    line, or a note that there is nothing to drop."""
    place = f"{stop.township} {stop.village}"
    heading = (
        f"第 {stop.position} 站　" if stop.position is not None else "不在本路线上　"
    ) + f"<b>{_esc(stop.station_code)}</b> {_esc(stop.station_name)}（{_esc(place)}）　{len(stop.parcels)} 件"
    block: list[Any] = [Paragraph(heading, styles["stop"])]
    if stop.parcels:
        block += [_parcel_table(stop.parcels), _station_signature()]
    else:
        block.append(Paragraph("本次无包裹，不需停靠。", styles["small"]))
    block.append(Spacer(1, 2.5 * mm))
    return KeepTogether(block)


def _parcel_table(parcels: Sequence[ManifestParcel]) -> Table:
    data: list[list[Any]] = [PARCEL_HEADER]
    for i, p in enumerate(parcels, start=1):
        data.append(
            [
                str(i),
                p.tracking_number,
                p.order_number,
                f"{p.recipient} 尾号{p.phone_last4}",
                f"{p.line_count} 种",
                format_minor(p.amount_due_minor, p.currency) if p.amount_due_minor else "—",
            ]
        )
    table = Table(data, colWidths=PARCEL_WIDTHS, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 8.5),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.black),
                ("BOX", (0, 0), (-1, -1), 0.8, colors.black),
                ("ALIGN", (4, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _station_signature() -> Table:
    """The line the station fills in on receipt: how many parcels it got, who signed, when."""
    sign = Table(
        [["签收：本站实收 ______ 件　　签收人（签字）：________________　　时间：____月____日 ____:____"]],
        colWidths=[USABLE_WIDTH],
    )
    sign.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 9),
                ("TOPPADDING", (0, 0), (-1, -1), 7),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 5),
            ]
        )
    )
    return sign


def _totals_and_signatures(run: RunManifest) -> Table:
    """The run's totals, then the warehouse's and the driver's signatures and the plate number."""
    totals = Table(
        [
            [
                f"合计 {run.total_parcels} 件"
                + (f"，到付 {format_minor(run.total_due_minor)}" if run.total_due_minor else "")
            ],
            ["仓库发车（签字）：________________　　司机（签字）：________________　　车牌：____________"],
        ],
        colWidths=[USABLE_WIDTH],
    )
    totals.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), FONT, 10),
                ("LINEABOVE", (0, 0), (-1, 0), 1, colors.black),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return totals
