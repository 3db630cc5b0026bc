"""The wholesale billing documents (A4): the 销售结算单 of a delivered order, the 形式发票 a prepay
company pays against, and the 红字结算单 (credit note) for shortages and damage at delivery.

None of them is the tax fapiao: the centre issues that from the buyer's 发票 details printed here
(抬头, 税号, address and phone, bank and account). The figures follow ``app.wholesale.invoicing``:
each line rounded once, the total their sum, the tax line (prices include VAT) shown when the
rate is not 0, and the total again in capital numerals (人民币大写).
"""

from __future__ import annotations

from typing import Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table

from app.config import get_settings
from app.kit.quantities import UNIT_LABELS_ZH
from app.wholesale.document_data import InvoiceDocument, InvoiceKind
from app.wholesale.invoicing import invoice_totals, rmb_capital
from app.wholesale.pdf_layout import FONT, PLAIN, USABLE_WIDTH, grid, header, money, para, party_lines, qty, render


def _parties(invoice: InvoiceDocument) -> Table:
    blocks = Table(
        [
            [
                [
                    para("购买方（开票信息）", "heading"),
                    *(para(x, "meta") for x in party_lines(invoice.buyer, fapiao=True)),
                ],
                [para("销售方", "heading"), *(para(x, "meta") for x in party_lines(invoice.seller, fapiao=True))],
            ]
        ],
        colWidths=[USABLE_WIDTH / 2, USABLE_WIDTH / 2],
    )
    blocks.setStyle(PLAIN)
    return blocks


def _lines(invoice: InvoiceDocument) -> tuple[Table, list[Any]]:
    totals = invoice_totals(invoice.lines, invoice.tax_rate_percent)
    credit = invoice.kind is InvoiceKind.credit_note
    widths = [8 * mm, 24 * mm, 58 * mm, 24 * mm, 24 * mm]
    widths.append(USABLE_WIDTH - sum(widths) - (18 * mm if credit else 0))
    header = ["#", "SKU", "品名", "实送数量" if not credit else "冲减数量", "单价（含税）", "金额（含税）"]
    if credit:
        widths.append(18 * mm)
        header.append("原因")
    data: list[list[Any]] = [header]
    for i, (line, amount) in enumerate(zip(invoice.lines, totals.line_amounts, strict=True), start=1):
        unit = UNIT_LABELS_ZH[line.unit]
        row: list[Any] = [
            str(i),
            line.sku,
            para(line.name),
            f"{qty(line.quantity)} {unit}",
            f"{money(line.unit_price_minor, invoice.currency)}/{unit}",
            money(amount, invoice.currency),
        ]
        if credit:
            row.append(line.note)
        data.append(row)
    last = len(header) - 1 - (1 if credit else 0)
    summary: list[list[Any]] = [["", "", "价税合计", "", "", money(totals.total_minor, invoice.currency)]]
    if totals.shows_tax:
        summary += [
            ["", "", "其中：不含税金额", "", "", money(totals.excluding_tax_minor, invoice.currency)],
            ["", "", f"其中：税额（税率 {totals.rate_percent}%）", "", "", money(totals.tax_minor, invoice.currency)],
        ]
    for row in summary:
        data.append(row + ([""] if credit else []))
    first_summary = len(data) - len(summary)
    table = Table(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        grid(
            right_from=3,
            extra=[
                ("LINEABOVE", (0, first_summary), (-1, first_summary), 0.8, colors.black),
                ("SPAN", (2, first_summary), (last - 1, first_summary)),
                *[("SPAN", (2, r), (last - 1, r)) for r in range(first_summary + 1, len(data))],
                ("ALIGN", (2, first_summary), (2, -1), "LEFT"),
                ("FONT", (0, first_summary), (-1, first_summary), FONT, 10),
                *([("ALIGN", (-1, 0), (-1, -1), "LEFT")] if credit else []),
            ],
        )
    )
    words = [para(f"价税合计（大写）：人民币{rmb_capital(totals.total_minor)}", "total")]
    return table, words


def invoice_pdf(invoice: InvoiceDocument) -> bytes:
    """Render a 销售结算单, 形式发票 or 红字结算单 by ``invoice.kind``."""
    settings = get_settings()
    facts = [
        f"单号：{invoice.number}",
        f"开具日期：{invoice.issue_date.isoformat()}",
        f"订单号：{invoice.order_number}",
    ]
    if invoice.kind is InvoiceKind.credit_note:
        facts.append(f"冲减结算单：{invoice.against_number or '—'}")
    elif invoice.due_date is not None:
        facts.append(f"付款到期日：{invoice.due_date.isoformat()}")
    table, words = _lines(invoice)
    story: list[Any] = [
        header(invoice.kind.title_zh, invoice.number, facts),
        Spacer(1, 3 * mm),
        _parties(invoice),
        Spacer(1, 3 * mm),
        table,
        Spacer(1, 2 * mm),
        *words,
        Spacer(1, 3 * mm),
    ]
    notes = {
        InvoiceKind.invoice: "本结算单按实际送达（称重）数量结算；增值税发票由服务中心按上列开票信息另行开具。",
        InvoiceKind.proforma: "本单为形式发票（预付款通知），不作为收款或报销凭证；"
        "款项到账并经服务中心确认后安排发货。",
        InvoiceKind.credit_note: "本单冲减上列结算单的应收金额（短缺、破损按原结算单价计算），"
        "已开具发票的将开具红字发票。",
    }
    story.append(para(notes[invoice.kind], "small"))
    if invoice.payment_instructions and invoice.kind is not InvoiceKind.credit_note:
        story.append(para(invoice.payment_instructions, "meta"))
    return render(
        story,
        title=f"{settings.brand_name} {invoice.kind.title_zh} {invoice.number}",
        footer=f"{settings.brand_name} · {invoice.kind.title_zh} {invoice.number}",
    )
