"""A shift's X / Z report as an A4 PDF: the figures of ``shift_report.shift_figures`` (sales, takings
by method, refunds, the drawer's expected and counted cash and the variance, the count by
denomination, sales by SKU, cash in and out) and every QR payment listed with a column to tick it
off against the WeChat / Alipay merchant bill. Set in the embedded document font (``app.kit.pdf``)
on numbered pages; the same figures as the console's page."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.config import Settings
from app.kit import clock, pdf
from app.kit.money import format_minor
from app.pos.sale_models import TenderMethod, tender_name_zh
from app.pos.shift_labels import UNITS_ZH, VARIANCE_ZH
from app.pos.shift_report import ShiftFigures

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 16 * mm
USABLE = PAGE_WIDTH - 2 * MARGIN


def _style(name: str, size: float, leading: float, **extra: Any) -> ParagraphStyle:
    return ParagraphStyle(name, fontName=pdf.FONT, fontSize=size, leading=leading, wordWrap="CJK", **extra)


STYLES = {
    "title": _style("z-title", 16, 21, spaceAfter=3),
    "meta": _style("z-meta", 9.5, 13),
    "heading": _style("z-heading", 11, 15, spaceBefore=8, spaceAfter=3),
    "cell": _style("z-cell", 9, 11.5),
    "right": _style("z-right", 9, 11.5, alignment=TA_RIGHT),
    "note": _style("z-note", 8.5, 11),
}


def _p(text: str, style: str = "cell") -> Paragraph:
    """Plain text (escaped: names and reasons are what people typed) in one of the styles."""
    pdf.register()
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return Paragraph(escaped, STYLES[style])


def variance_label(figures: ShiftFigures) -> str:
    label = VARIANCE_ZH.get(figures.variance_status, figures.variance_status)
    if figures.variance_status == "approved" and figures.variance_approved_by:
        return f"{label}（{figures.variance_approved_by}）"
    return label


def minus(amount_minor: int) -> str:
    """An amount taken off: ``-¥8.00``, but ``¥0.00`` when there is none."""
    return f"-{format_minor(amount_minor)}" if amount_minor else format_minor(0)


def signed(amount_minor: int) -> str:
    """A variance: ``+¥1.00`` over, ``-¥1.00`` short, ``¥0.00`` even."""
    return f"+{format_minor(amount_minor)}" if amount_minor > 0 else format_minor(amount_minor)


def _table(
    rows: Sequence[Sequence[Any]], widths: Sequence[float], *, header: bool = True, total: bool = False
) -> Table:
    cells = [[_p(c) if isinstance(c, str) else c for c in row] for row in rows]
    table = Table(cells, colWidths=list(widths), repeatRows=1 if header else 0, hAlign="LEFT")
    style = [
        # Even an empty cell selects a font: the document's, never reportlab's Helvetica.
        ("FONTNAME", (0, 0), (-1, -1), pdf.FONT),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#bbbbbb")),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        style += [
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
        ]
    if total:
        style += [("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black)]
    table.setStyle(TableStyle(style))
    return table


def _money_rows(pairs: Sequence[tuple[str, str]]) -> Table:
    """Label → amount, the amount flush right."""
    return _table([[label, _p(value, "right")] for label, value in pairs], [USABLE * 0.4, USABLE * 0.2], header=False)


def _story(figures: ShiftFigures, settings: Settings) -> list[Flowable]:
    tz = clock.business_tz()
    kind = "Z 报表" if figures.status == "closed" else "X 报表（班次进行中）"
    story: list[Flowable] = [
        _p(f"{settings.brand_name} · 门店班次 {kind}", "title"),
        _p(
            f"门店：{figures.store_name}（{figures.store_code}）　收银机：{figures.till_name}（{figures.till_code}）",
            "meta",
        ),
        _p(f"班次：{figures.shift_number}", "meta"),
        _p(f"开班：{figures.opened_at.astimezone(tz):%Y-%m-%d %H:%M}　{figures.opened_by}", "meta"),
    ]
    if figures.closed_at is not None:
        offline = "（离线结班，已补传）" if figures.closed_offline else ""
        story.append(
            _p(f"结班：{figures.closed_at.astimezone(tz):%Y-%m-%d %H:%M}　{figures.closed_by or ''}{offline}", "meta")
        )
    story += [
        _p("销售", "heading"),
        _money_rows(
            [
                ("销售笔数", str(figures.sales_count)),
                ("销售额（优惠前）", format_minor(figures.gross_minor)),
                ("优惠", minus(figures.discounts_minor)),
                ("净销售额", format_minor(figures.net_minor)),
                (f"退货退款（{figures.refunds_count} 笔）", minus(figures.refunds_minor)),
            ]
        ),
        _p("收款方式", "heading"),
        _money_rows(
            [
                ("现金（实收 − 找零）", format_minor(figures.cash_minor)),
                ("扫码 · 微信", format_minor(figures.qr_wechat_minor)),
                ("扫码 · 支付宝", format_minor(figures.qr_alipay_minor)),
            ]
        ),
        _p("钱箱现金", "heading"),
    ]
    drawer = [
        ("备用金", format_minor(figures.float_minor)),
        ("+ 现金销售", format_minor(figures.cash_minor)),
        ("+ 存入", format_minor(figures.cash_in_minor)),
        ("− 取出", format_minor(figures.cash_out_minor)),
        ("− 现金退款", format_minor(figures.refunds_minor)),
        ("= 应有现金", format_minor(figures.expected_cash_minor)),
    ]
    if figures.counted_cash_minor is not None:
        drawer.append(("清点现金", format_minor(figures.counted_cash_minor)))
    if figures.variance_minor is not None:
        drawer.append(("差额（清点 − 应有）", signed(figures.variance_minor)))
        drawer.append(("差额处理", variance_label(figures)))
    story.append(_money_rows(drawer))
    if figures.counted:
        story += [
            _p("按面额清点", "heading"),
            _table(
                [
                    ["面额", _p("张 / 枚", "right"), _p("金额", "right")],
                    *(
                        [
                            format_minor(d.denomination_minor),
                            _p(str(d.count), "right"),
                            _p(format_minor(d.amount_minor), "right"),
                        ]
                        for d in figures.counted
                    ),
                ],
                [USABLE * 0.2, USABLE * 0.2, USABLE * 0.2],
            ),
        ]
    if figures.cash_movements:
        story += [
            _p("存入 / 取出", "heading"),
            _table(
                [
                    ["时间", "方向", "原因", _p("金额", "right")],
                    *(
                        [
                            f"{m.moved_at.astimezone(tz):%H:%M}",
                            "存入" if m.direction == "in" else "取出",
                            m.reason,
                            _p(format_minor(m.amount_minor), "right"),
                        ]
                        for m in figures.cash_movements
                    ),
                ],
                [USABLE * 0.12, USABLE * 0.1, USABLE * 0.58, USABLE * 0.2],
            ),
        ]
    story += [
        _p("按商品", "heading"),
        _table(
            [
                ["SKU", "商品", _p("数量", "right"), _p("金额（优惠前）", "right")],
                *(
                    [
                        s.sku,
                        s.name_zh,
                        _p(f"{s.quantity} {UNITS_ZH.get(s.unit, s.unit)}", "right"),
                        _p(format_minor(s.amount_minor), "right"),
                    ]
                    for s in figures.by_sku
                ),
            ]
            if figures.by_sku
            else [["SKU", "商品", "数量", "金额"], ["—", "本班次没有销售", "", ""]],
            [USABLE * 0.2, USABLE * 0.45, USABLE * 0.15, USABLE * 0.2],
        ),
        _p(f"扫码收款明细（{len(figures.qr_tenders)} 笔，与微信 / 支付宝商户账单逐笔核对）", "heading"),
    ]
    if figures.qr_tenders:
        story.append(
            _table(
                [
                    ["时间", "销售单号", "钱包", "流水尾号", _p("金额", "right"), "核对"],
                    *(
                        [
                            f"{q.sold_at.astimezone(tz):%m-%d %H:%M}",
                            q.sale_number,
                            tender_name_zh(TenderMethod.qr.value, q.wallet),
                            q.reference_tail or "—",
                            _p(format_minor(q.amount_minor), "right"),
                            "",
                        ]
                        for q in figures.qr_tenders
                    ),
                    [
                        "",
                        "",
                        "",
                        "合计",
                        _p(format_minor(figures.qr_wechat_minor + figures.qr_alipay_minor), "right"),
                        "",
                    ],
                ],
                [USABLE * 0.16, USABLE * 0.24, USABLE * 0.12, USABLE * 0.16, USABLE * 0.18, USABLE * 0.14],
                total=True,
            )
        )
    else:
        story.append(_p("本班次没有扫码收款。", "note"))
    story += [Spacer(1, 8 * mm), _p("收银员签字：________________　　店长签字：________________", "meta")]
    return story


def z_report_pdf(figures: ShiftFigures, settings: Settings) -> bytes:
    """The shift's report on numbered A4 pages."""
    pdf.register()
    buffer = io.BytesIO()
    footer = f"{settings.brand_name} · {figures.store_name} · 班次 {figures.shift_number}"
    printed = clock.local_now().strftime("%Y-%m-%d %H:%M")

    def on_page(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(pdf.FONT, 8)
        canvas.drawString(MARGIN, 9 * mm, f"{footer} · 打印于 {printed}")
        canvas.drawRightString(PAGE_WIDTH - MARGIN, 9 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=f"班次报表 {figures.shift_number}",
        author=settings.brand_name,
        creator=settings.service_centre_name,
    )

    def make_canvas(*args: Any, **kwargs: Any) -> Canvas:
        # Pages start in the document font: reportlab's default Helvetica is never embedded.
        return Canvas(*args, **{**kwargs, "initialFontName": pdf.FONT, "pageCompression": 1})

    doc.build(_story(figures, settings), onFirstPage=on_page, onLaterPages=on_page, canvasmaker=make_canvas)
    return buffer.getvalue()
