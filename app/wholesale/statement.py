"""月度对账单: a company's month on account, as a PDF to read and an XLSX its bookkeeper can sum.

Both show the same figures from ``app.wholesale.invoicing``: the opening balance, each invoice,
credit note and payment with the running balance, the closing balance (opening + invoices −
credit notes − payments), and the open invoices aged by days past due on the statement date. In
the workbook every amount is a number (yuan, two decimals) with a ¥ number format, never text, so
the buyer's spreadsheet adds them up.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Spacer, Table

from app.config import get_settings
from app.wholesale.document_data import StatementData
from app.wholesale.invoicing import AGEING_BUCKETS, Ageing, StatementFigures, ageing, rmb_capital, statement_figures
from app.wholesale.pdf_layout import FONT, USABLE_WIDTH, grid, header, money, para, render

if TYPE_CHECKING:
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

YUAN_FORMAT = '"¥"#,##0.00;-"¥"#,##0.00'
# The movement table's columns; the PDF puts the note after the reference, the workbook in its own column.
MOVEMENT_HEADINGS = ["日期", "类型", "单号 / 收款参考", "到期日", "应收增加", "应收减少", "余额", "备注"]


def _title(data: StatementData) -> str:
    return f"{data.period_start.year} 年 {data.period_start.month} 月对账单"


def _period(data: StatementData) -> str:
    return f"{data.period_start.isoformat()} 至 {data.period_end.isoformat()}"


def _summary_rows(figures: StatementFigures) -> list[tuple[str, int]]:
    return [
        ("期初应收余额", figures.opening_minor),
        ("加：本期结算单", figures.invoiced_minor),
        ("减：本期红字结算单", figures.credited_minor),
        ("减：本期收款", figures.paid_minor),
        ("期末应收余额", figures.closing_minor),
    ]


def _unallocated(figures: StatementFigures, aged: Ageing) -> int:
    """What the closing balance holds besides open invoices (payments or credits not yet set
    against an invoice show as a negative figure)."""
    return figures.closing_minor - aged.total_minor


# ---- PDF ------------------------------------------------------------------------------------------


def statement_pdf(data: StatementData) -> bytes:
    """The statement as a PDF: the header, the account's movements with the running balance, the
    summary, the ageing, and the line the customer signs to confirm."""
    brand = get_settings().brand_name
    figures = statement_figures(data.opening_balance_minor, data.entries)
    aged = ageing(data.open_items, data.as_of)
    cur = data.currency
    story: list[Any] = [
        _pdf_header(data),
        Spacer(1, 3 * mm),
        _pdf_movements(figures, cur),
        Spacer(1, 4 * mm),
        *_pdf_summary(figures, cur),
        Spacer(1, 4 * mm),
        *_pdf_ageing(figures, aged, cur),
        Spacer(1, 5 * mm),
        *_pdf_confirmation(data),
    ]
    return render(
        story,
        title=f"{brand} {data.company.name} {_title(data)}",
        footer=f"{brand} · {data.company.name} · {_title(data)}",
    )


def _pdf_header(data: StatementData) -> Table:
    cur = data.currency
    limit = f"　信用额度 {money(data.credit_limit_minor, cur)}" if data.credit_limit_minor is not None else ""
    return header(
        _title(data),
        data.number,
        [f"客户：{data.company.name}", f"对账期间：{_period(data)}", f"结算方式：{data.payment_terms}{limit}"],
    )


def _pdf_movements(figures: StatementFigures, cur: str) -> Table:
    """Opening balance, each invoice, credit note and payment with the running balance, the
    period's totals."""
    widths = [22 * mm, 24 * mm, 38 * mm, 22 * mm, 24 * mm, 24 * mm]
    widths.append(USABLE_WIDTH - sum(widths))
    rows: list[list[Any]] = [MOVEMENT_HEADINGS[:7]]
    rows.append(["", "期初余额", "", "", "", "", money(figures.opening_minor, cur)])
    for row in figures.rows:
        entry = row.entry
        rows.append(
            [
                entry.day.isoformat(),
                entry.kind.label_zh,
                para(entry.reference + (f"（{entry.note}）" if entry.note else "")),
                entry.due_date.isoformat() if entry.due_date else "",
                money(row.debit_minor, cur) if row.debit_minor else "",
                money(row.credit_minor, cur) if row.credit_minor else "",
                money(row.balance_minor, cur),
            ]
        )
    rows.append(
        [
            "",
            "本期合计",
            "",
            "",
            money(figures.invoiced_minor, cur),
            money(figures.credited_minor + figures.paid_minor, cur),
            money(figures.closing_minor, cur),
        ]
    )
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(grid(right_from=4, extra=[("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black)]))
    return table


def _pdf_summary(figures: StatementFigures, cur: str) -> list[Any]:
    """Opening + invoices − credit notes − payments = closing, and the closing balance in words."""
    summary = Table(
        [[label, money(amount, cur)] for label, amount in _summary_rows(figures)],
        colWidths=[50 * mm, 35 * mm],
        hAlign="LEFT",
    )
    summary.setStyle(
        grid(
            header_rows=1,
            right_from=1,
            extra=[
                ("BACKGROUND", (0, 0), (-1, 0), colors.white),
                ("LINEBELOW", (0, 0), (-1, 0), 0.25, colors.grey),
                ("LINEABOVE", (0, -1), (-1, -1), 0.8, colors.black),
                ("FONT", (0, -1), (-1, -1), FONT, 10),
            ],
        )
    )
    return [summary, para(f"期末应收余额（大写）：人民币{rmb_capital(figures.closing_minor)}", "meta")]


def _pdf_ageing(figures: StatementFigures, aged: Ageing, cur: str) -> list[Any]:
    """The open invoices by days past due, and what the closing balance holds besides them."""
    ageing_table = Table(
        [[*AGEING_BUCKETS, "合计"], [*(money(b, cur) for b in aged.buckets), money(aged.total_minor, cur)]],
        colWidths=[USABLE_WIDTH / 6] * 6,
    )
    ageing_table.setStyle(grid(right_from=0))
    story: list[Any] = [para(f"账龄（截至 {aged.as_of.isoformat()}，按到期日计）", "heading"), ageing_table]
    rest = _unallocated(figures, aged)
    if rest:
        story.append(para(f"另有未核销的收款或红字金额 {money(rest, cur)}（计入期末余额，不计入账龄）。", "small"))
    return story


def _pdf_confirmation(data: StatementData) -> list[Any]:
    """Whom to tell of a difference and by when, and the line the customer signs."""
    return [
        para(
            f"请核对上述往来。如有不符，请于收到本对账单 7 日内与{data.seller.name}联系；逾期未回复视为确认。",
            "small",
        ),
        Spacer(1, 6 * mm),
        para("客户确认（盖章 / 签字）：____________________　　日期：______________", "meta"),
    ]


# ---- XLSX -----------------------------------------------------------------------------------------

# openpyxl is imported where a workbook is made: some 7 MB that a web worker which never writes
# one does not carry.


def _bold() -> Font:
    from openpyxl.styles import Font

    return Font(bold=True)


def _yuan(amount_minor: int) -> Decimal:
    """Fen as a yuan number for a cell: exact (a Decimal of two places), formatted as ¥."""
    return Decimal(amount_minor) / 100


def _money_cell(sheet: Worksheet, row: int, column: int, amount_minor: int, *, bold: bool = False) -> None:
    cell = sheet.cell(row=row, column=column, value=_yuan(amount_minor))
    cell.number_format = YUAN_FORMAT
    if bold:
        cell.font = _bold()


def _heading_row(sheet: Worksheet, row: int, labels: list[str]) -> None:
    from openpyxl.styles import Alignment, Border, PatternFill, Side

    for column, label in enumerate(labels, start=1):
        cell = sheet.cell(row=row, column=column, value=label)
        cell.font = _bold()
        cell.fill = PatternFill("solid", fgColor="EDEDED")
        cell.border = Border(bottom=Side(style="thin", color="999999"))
        cell.alignment = Alignment(horizontal="center")


def statement_xlsx(data: StatementData) -> bytes:
    """The statement as a workbook: one sheet, the same figures as the PDF, amounts as numbers."""
    figures = statement_figures(data.opening_balance_minor, data.entries)
    aged = ageing(data.open_items, data.as_of)
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "对账单"
    row = _xlsx_header(sheet, data, get_settings().brand_name)
    row = _xlsx_movements(sheet, figures, row + 1)
    row = _xlsx_summary(sheet, figures, row + 2)
    _xlsx_ageing(sheet, figures, aged, row + 2)
    for column, width in enumerate([14, 16, 26, 14, 16, 16, 16, 20], start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _xlsx_header(sheet: Worksheet, data: StatementData, brand: str) -> int:
    from openpyxl.styles import Font

    """The title in A1, then one labelled fact a row; returns the row after the facts."""
    sheet["A1"] = f"{brand} {_title(data)}"
    sheet["A1"].font = Font(bold=True, size=14)
    facts = [
        ("客户", data.company.name),
        ("税号", data.company.tax_id),
        ("对账期间", _period(data)),
        ("结算方式", data.payment_terms),
        ("供货方", data.seller.name),
    ]
    row = 2
    for label, value in facts:
        sheet.cell(row=row, column=1, value=label).font = _bold()
        sheet.cell(row=row, column=2, value=value)
        row += 1
    if data.credit_limit_minor is not None:
        sheet.cell(row=row, column=1, value="信用额度").font = _bold()
        _money_cell(sheet, row, 2, data.credit_limit_minor)
        row += 1
    return row


def _xlsx_movements(sheet: Worksheet, figures: StatementFigures, row: int) -> int:
    """From ``row`` down: the headings, the opening balance, one row an entry with the running
    balance (the note in its own column), the period's totals; returns the totals' row."""
    _heading_row(sheet, row, MOVEMENT_HEADINGS)
    row += 1
    sheet.cell(row=row, column=2, value="期初余额")
    _money_cell(sheet, row, 7, figures.opening_minor)
    for line in figures.rows:
        row += 1
        entry = line.entry
        sheet.cell(row=row, column=1, value=entry.day).number_format = "yyyy-mm-dd"
        sheet.cell(row=row, column=2, value=entry.kind.label_zh)
        sheet.cell(row=row, column=3, value=entry.reference)
        if entry.due_date:
            sheet.cell(row=row, column=4, value=entry.due_date).number_format = "yyyy-mm-dd"
        if line.debit_minor:
            _money_cell(sheet, row, 5, line.debit_minor)
        if line.credit_minor:
            _money_cell(sheet, row, 6, line.credit_minor)
        _money_cell(sheet, row, 7, line.balance_minor)
        if entry.note:
            sheet.cell(row=row, column=8, value=entry.note)
    row += 1
    sheet.cell(row=row, column=2, value="本期合计").font = _bold()
    _money_cell(sheet, row, 5, figures.invoiced_minor, bold=True)
    _money_cell(sheet, row, 6, figures.credited_minor + figures.paid_minor, bold=True)
    _money_cell(sheet, row, 7, figures.closing_minor, bold=True)
    return row


def _xlsx_summary(sheet: Worksheet, figures: StatementFigures, row: int) -> int:
    """From ``row`` down: opening + invoices − credit notes − payments = closing, then the closing
    balance in words; returns the row of the words."""
    for label, amount in _summary_rows(figures):
        sheet.cell(row=row, column=1, value=label).font = _bold()
        _money_cell(sheet, row, 2, amount)
        row += 1
    sheet.cell(row=row, column=1, value="期末余额（大写）").font = _bold()
    sheet.cell(row=row, column=2, value=f"人民币{rmb_capital(figures.closing_minor)}")
    return row


def _xlsx_ageing(sheet: Worksheet, figures: StatementFigures, aged: Ageing, row: int) -> None:
    """From ``row`` down: the ageing's title, its buckets and total, and any unallocated rest."""
    sheet.cell(row=row, column=1, value=f"账龄（截至 {aged.as_of.isoformat()}）").font = _bold()
    row += 1
    _heading_row(sheet, row, [*AGEING_BUCKETS, "合计"])
    row += 1
    for column, amount in enumerate([*aged.buckets, aged.total_minor], start=1):
        _money_cell(sheet, row, column, amount)
    rest = _unallocated(figures, aged)
    if rest:
        row += 1
        sheet.cell(row=row, column=1, value="未核销收款/红字")
        _money_cell(sheet, row, 2, rest)
