"""The quarterly report as a workbook: one sheet per section (项目进度, 资金使用, 项目绩效), each
headed by the county, the centre, the quarter, the version and who issued it when.

Rendered from a stored snapshot only. Money cells hold yuan as numbers (two decimals, formatted
¥) converted exactly from fen; kilograms hold three decimals; counts are integers.
"""

from __future__ import annotations

import io
from datetime import datetime

from app.county import reports

YUAN_FORMAT = '"¥"#,##0.00'
USD_FORMAT = '"US$"#,##0.00'
KG_FORMAT = "#,##0.000"
PROGRESS_HEADERS = [
    "编号", "类别", "目标", "单位", "计划", "期间开始", "期间结束", "本季度完成", "累计完成", "完成率", "是否达标",
    "数据来源", "佐证材料",
]  # fmt: skip
FUNDS_HEADERS = [
    "编号", "类别", "项目", "中央资金预算（元）", "总预算（元）", "本季度支出（元）", "累计支出（元）", "预算执行率",
]  # fmt: skip


def workbook(view: reports.ReportView, *, generated_at: datetime | None = None) -> bytes:
    """The workbook of one report view (normally an issued version)."""
    # Imported here: a web worker that never writes a workbook does not carry openpyxl.
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.worksheet import Worksheet

    snapshot = view.snapshot
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="E8F0E0")

    def start(sheet: Worksheet, title: str, headers: list[str], widths: list[int]) -> int:
        sheet.title = title
        for line in reports.header_lines(view):
            sheet.append([line])
        sheet["A1"].font = Font(bold=True, size=13)
        sheet.append([])
        sheet.append(headers)
        row: int = sheet.max_row
        for cell in sheet[row]:
            cell.font = bold
            cell.fill = head_fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = width
        sheet.freeze_panes = sheet.cell(row=row + 1, column=1)
        return row

    def money_cells(sheet: Worksheet, first_row: int, columns: set[int]) -> None:
        for row in sheet.iter_rows(min_row=first_row):
            for cell in row:
                if cell.column in columns and cell.value is not None and not isinstance(cell.value, str):
                    cell.number_format = YUAN_FORMAT

    book = Workbook()
    # 项目进度
    sheet = book.active
    head = start(sheet, "项目进度", PROGRESS_HEADERS, [8, 14, 30, 8, 8, 12, 12, 11, 10, 9, 9, 10, 60])
    for row in snapshot["progress"]:
        sheet.append([
            row["code"], row["section"], row["title"], row["unit"], row["planned"], row["period_start"],
            row["period_end"], row["done_quarter"], row["done_to_date"],
            reports.percent(row["done_to_date"], row["planned"]), "达标" if row["met"] else "未达标",
            reports.SOURCE_ZH[row["source"]], reports.evidence_text(row),
        ])  # fmt: skip
        sheet.cell(row=sheet.max_row, column=13).alignment = Alignment(wrap_text=True, vertical="top")
    summary = reports.progress_summary(snapshot)
    sheet.append(["合计", None, f"{summary['targets']} 项目标，已达标 {summary['met']} 项"])
    for cell in sheet[sheet.max_row]:
        cell.font = bold

    # 资金使用
    sheet = book.create_sheet()
    head = start(sheet, "资金使用", FUNDS_HEADERS, [8, 14, 34, 18, 16, 16, 16, 12])
    for line in snapshot["funds"]:
        sheet.append([
            line["code"], line["category"], line["title"], reports.yuan(line["budget_central_fen"]),
            None if line["budget_total_fen"] is None else reports.yuan(line["budget_total_fen"]),
            reports.yuan(line["spent_quarter_fen"]), reports.yuan(line["spent_to_date_fen"]),
            reports.percent(line["spent_to_date_fen"], reports.budget_of(line)),
        ])  # fmt: skip
    totals = reports.fund_totals(snapshot)
    sheet.append([
        "合计", None, None, reports.yuan(totals["budget_central_fen"]), reports.yuan(totals["budget_total_fen"]),
        reports.yuan(totals["spent_quarter_fen"]), reports.yuan(totals["spent_to_date_fen"]),
        reports.percent(totals["spent_to_date_fen"], totals["budget_total_fen"]),
    ])  # fmt: skip
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    money_cells(sheet, head + 1, {4, 5, 6, 7})

    # 项目绩效
    sheet = book.create_sheet()
    head = start(sheet, "项目绩效", ["渠道", "订单数", "销售额（元）"], [30, 16, 18, 16, 16, 16])
    performance_start = head + 1
    for channel in snapshot["performance"]["channels"]:
        sheet.append([channel["label"], channel["orders"], reports.yuan(channel["sales_fen"])])
    sums = reports.channel_totals(snapshot)
    sheet.append(["合计", sums["orders"], reports.yuan(sums["sales_fen"])])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    money_cells(sheet, performance_start, {3})

    sheet.append([])
    sheet.append(["指标", "数值"])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
        cell.fill = head_fill
    for label, value, kind in reports.performance_rows(snapshot):
        if kind == "fen":
            sheet.append([label + "（元）", reports.yuan(value)])
            sheet.cell(row=sheet.max_row, column=2).number_format = YUAN_FORMAT
        elif kind == "usd":
            sheet.append([label, reports.yuan(value)])
            sheet.cell(row=sheet.max_row, column=2).number_format = USD_FORMAT
        elif kind == "kg":
            sheet.append([label, reports.kg(value)])
            sheet.cell(row=sheet.max_row, column=2).number_format = KG_FORMAT
        else:
            sheet.append([label, value])

    sheet.append([])
    channels = reports.month_channels(snapshot)
    sheet.append(["月份", *[f"{label}（元）" for _, label in channels], "合计（元）"])
    for cell in sheet[sheet.max_row]:
        cell.font = bold
        cell.fill = head_fill
    for month in snapshot["performance"]["monthly"]:
        values = [month["sales_fen"].get(channel, 0) for channel, _ in channels]
        sheet.append([month["month"], *[reports.yuan(v) for v in values], reports.yuan(sum(values))])
        for cell in sheet[sheet.max_row][1:]:
            cell.number_format = YUAN_FORMAT

    quarter = snapshot["quarter"]
    book.properties.title = f"季度报告 {quarter['year']}-Q{quarter['quarter']}" + (
        f" 第{view.version}版" if view.version else " 预览"
    )
    book.properties.creator = snapshot["brand"]["service_centre_name"]
    if generated_at is not None:
        book.properties.created = generated_at.replace(tzinfo=None)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
