"""The quarterly report as an A4 PDF in Chinese: the header block, then 项目进度, 资金使用 and
项目绩效, each with its charts (the page's, drawn by reportlab) and its tables, which run over as
many pages as they need with their heading row repeated. Every page names the report and its
version in the footer with "第 n 页 / 共 N 页".

Drawn in the embedded document font of ``app.kit.pdf`` (the file carries its glyphs), from a
stored snapshot only.
"""

from __future__ import annotations

import io
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import CondPageBreak, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.county import report_charts, reports
from app.kit import pdf
from app.kit.money import format_minor
from app.kit.quantities import format_quantity

FONT = pdf.FONT
MARGIN_X = 16 * mm
USABLE_WIDTH = A4[0] - 2 * MARGIN_X
CHART_SCALE = 0.7
# A chart and its title fit on one page with room to spare.
CHART_MAX_HEIGHT = 560.0
HEAD_FILL = colors.HexColor("#e8f0e0")
LINE = colors.HexColor("#9aa59a")


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=FONT, fontSize=9, leading=12.5, wordWrap="CJK")
    return {
        "base": base,
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=24),
        "meta": ParagraphStyle("meta", parent=base, fontSize=10, leading=15),
        "preview": ParagraphStyle("preview", parent=base, fontSize=11, leading=16, textColor=colors.HexColor("#a33")),
        "h2": ParagraphStyle("h2", parent=base, fontSize=13.5, leading=19, spaceBefore=10, spaceAfter=4),
        "h3": ParagraphStyle("h3", parent=base, fontSize=10.5, leading=15, spaceBefore=6, spaceAfter=2),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11),
        "num": ParagraphStyle("num", parent=base, fontSize=8.5, leading=11, alignment=2),
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5),
    }


def _esc(text: str) -> str:
    return pdf.printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(
    rows: list[list[Any]], widths: list[float], *, numeric_from: int, numeric_to: int = -1, total_row: bool = False
) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("FONTNAME", (0, 0), (-1, -1), FONT),
        ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("LEADING", (0, 0), (-1, -1), 11),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
        ("GRID", (0, 0), (-1, -1), 0.4, LINE),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (numeric_from, 0), (numeric_to, -1), "RIGHT"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
    ]
    if total_row:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f4f4ee")))
    table.setStyle(TableStyle(style))
    return table


def _chart(chart: report_charts.Chart, styles: dict[str, ParagraphStyle]) -> KeepTogether:
    picture = report_charts.drawing(chart, CHART_SCALE, CHART_MAX_HEIGHT)
    return KeepTogether([Paragraph(_esc(chart.title), styles["h3"]), picture])


def _progress(view: reports.ReportView, styles: dict[str, ParagraphStyle], charts: dict[str, Any]) -> list[Any]:
    snapshot = view.snapshot
    summary = reports.progress_summary(snapshot)
    story: list[Any] = [
        Paragraph("一、项目进度", styles["h2"]),
        Paragraph(f"共 {summary['targets']} 项目标，截至本季度末已达标 {summary['met']} 项。", styles["base"]),
        _chart(charts["progress"], styles),
    ]
    cell, num = styles["cell"], styles["num"]
    rows: list[list[Any]] = [["编号", "目标", "计划", "本季度", "累计", "完成率", "达标", "来源"]]
    for row in snapshot["progress"]:
        rows.append([
            Paragraph(_esc(row["code"]), cell),
            Paragraph(f"{_esc(row['title'])}<br/><font size=7 color='#666666'>{_esc(row['section'])} · "
                      f"{row['period_start']} 至 {row['period_end']}</font>", cell),
            Paragraph(f"{row['planned']} {_esc(row['unit'])}", num),
            str(row["done_quarter"]),
            str(row["done_to_date"]),
            reports.percent(row["done_to_date"], row["planned"]),
            "达标" if row["met"] else "未达标",
            reports.SOURCE_ZH[row["source"]],
        ])  # fmt: skip
    widths = [14 * mm, 62 * mm, 20 * mm, 14 * mm, 14 * mm, 15 * mm, 15 * mm]
    widths.append(USABLE_WIDTH - sum(widths))
    story.append(Spacer(1, 2 * mm))
    story.append(_table(rows, widths, numeric_from=2, numeric_to=5))
    with_evidence = [row for row in snapshot["progress"] if row["evidence"]]
    if with_evidence:
        story.append(Paragraph("本季度佐证材料", styles["h3"]))
        for row in with_evidence:
            items = "；".join(_esc(line) for line in reports.evidence_text(row).split("\n"))
            story.append(Paragraph(f"<b>{_esc(row['code'])} {_esc(row['title'])}</b>：{items}", styles["small"]))
    return story


def _funds(view: reports.ReportView, styles: dict[str, ParagraphStyle], charts: dict[str, Any]) -> list[Any]:
    snapshot = view.snapshot
    cell = styles["cell"]
    rows: list[list[Any]] = [["编号", "项目", "中央资金预算", "总预算", "本季度支出", "累计支出", "执行率"]]
    for line in snapshot["funds"]:
        total = line["budget_total_fen"]
        rows.append([
            Paragraph(_esc(line["code"]), cell),
            Paragraph(f"{_esc(line['title'])}<br/><font size=7 color='#666666'>{_esc(line['category'])}</font>", cell),
            format_minor(line["budget_central_fen"]),
            "—" if total is None else format_minor(total),
            format_minor(line["spent_quarter_fen"]),
            format_minor(line["spent_to_date_fen"]),
            reports.percent(line["spent_to_date_fen"], reports.budget_of(line)),
        ])  # fmt: skip
    totals = reports.fund_totals(snapshot)
    rows.append([
        "合计", "", format_minor(totals["budget_central_fen"]), format_minor(totals["budget_total_fen"]),
        format_minor(totals["spent_quarter_fen"]), format_minor(totals["spent_to_date_fen"]),
        reports.percent(totals["spent_to_date_fen"], totals["budget_total_fen"]),
    ])  # fmt: skip
    widths = [14 * mm, 50 * mm, 24 * mm, 24 * mm, 22 * mm, 24 * mm]
    widths.append(USABLE_WIDTH - sum(widths))
    return [
        CondPageBreak(60 * mm),
        Paragraph("二、资金使用", styles["h2"]),
        _chart(charts["funds"], styles),
        Spacer(1, 2 * mm),
        _table(rows, widths, numeric_from=2, total_row=True),
        Spacer(1, 1.5 * mm),
        Paragraph("执行率 = 累计支出 ÷ 总预算（未列总预算的项目按中央资金预算计）。", styles["small"]),
    ]


def _quantity(kind: str, value: Any) -> str:
    if kind == "fen":
        return format_minor(value)
    if kind == "usd":
        return format_minor(value, "USD")
    if kind == "kg":
        return f"{format_quantity(reports.kg(value))} 千克"
    return f"{value:,}"


def _performance(view: reports.ReportView, styles: dict[str, ParagraphStyle], charts: dict[str, Any]) -> list[Any]:
    snapshot = view.snapshot
    rows: list[list[Any]] = [["渠道", "订单数", "销售额"]]
    for channel in snapshot["performance"]["channels"]:
        rows.append([channel["label"], f"{channel['orders']:,}", format_minor(channel["sales_fen"])])
    sums = reports.channel_totals(snapshot)
    rows.append(["合计", f"{sums['orders']:,}", format_minor(sums["sales_fen"])])
    figures: list[list[Any]] = [["指标", "本季度"]]
    for label, value, kind in reports.performance_rows(snapshot):
        figures.append([label.replace("（千克）", ""), _quantity(kind, value)])
    channels = reports.month_channels(snapshot)
    monthly: list[list[Any]] = [["月份", *[label for _, label in channels], "合计"]]
    for month in snapshot["performance"]["monthly"]:
        values = [month["sales_fen"].get(channel, 0) for channel, _ in channels]
        monthly.append([month["month"], *[format_minor(v) for v in values], format_minor(sum(values))])
    month_widths = [22 * mm] + [(USABLE_WIDTH - 22 * mm) / (len(channels) + 1)] * (len(channels) + 1)
    return [
        CondPageBreak(60 * mm),
        Paragraph("三、项目绩效", styles["h2"]),
        _chart(charts["channels"], styles),
        Spacer(1, 2 * mm),
        _table(rows, [60 * mm, 40 * mm, USABLE_WIDTH - 100 * mm], numeric_from=1, total_row=True),
        Spacer(1, 3 * mm),
        _table(figures, [100 * mm, USABLE_WIDTH - 100 * mm], numeric_from=1),
        _chart(charts["monthly"], styles),
        Spacer(1, 2 * mm),
        _table(monthly, month_widths, numeric_from=1),
        Spacer(1, 1.5 * mm),
        Paragraph("销售额 = 实付金额减退款，按北京时间付款日期计入。", styles["small"]),
    ]


def report_pdf(view: reports.ReportView) -> bytes:
    """The A4 PDF of one report view (normally an issued version)."""
    pdf.register()
    styles = _styles()
    snapshot = view.snapshot
    lines = reports.header_lines(view)
    charts = report_charts.charts(snapshot)
    story: list[Any] = [
        Paragraph(_esc(lines[0]), styles["title"]),
        Paragraph(_esc(lines[1]), styles["meta"]),
        Paragraph(_esc(lines[2]), styles["meta"]),
        Paragraph(_esc(lines[3]), styles["preview" if view.is_preview else "meta"]),
        Spacer(1, 3 * mm),
    ]
    story += _progress(view, styles, charts)
    story += _funds(view, styles, charts)
    story += _performance(view, styles, charts)
    quarter = snapshot["quarter"]
    footer = f"{snapshot['brand']['county_name']} {quarter['year']} 年第 {quarter['quarter']} 季度报告 · " + (
        f"第 {view.version} 版" if view.version else "未发布（预览）"
    )

    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=f"季度报告 {quarter['year']}-Q{quarter['quarter']}",
        author=snapshot["brand"]["service_centre_name"],
    )
    doc.build(story, canvasmaker=pdf.numbered_canvas(footer, MARGIN_X))
    return out.getvalue()
