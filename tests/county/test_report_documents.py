"""The issued report's three renderings hold the same figures: the page, the workbook (one sheet
per section, yuan from fen) and the A4 PDF (fonts embedded, charts drawn, tables over pages)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pypdfium2 as pdfium
import pytest
from fastapi import FastAPI
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.county import report_charts, report_pdf, reports
from app.county.report_snapshot import Snapshot, checked
from app.kit import clock
from app.kit.money import format_minor
from tests.county.report_fixtures import FixtureSources, progress_rows
from tests.county.test_reports import admin as admin_principal
from tests.kit.test_pdf import check, font_problems
from tests.web.test_stock_pages import HTML, log_in

AFTER_Q4 = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
PAGE = "/admin/county/reports/2026-Q4"


@pytest.fixture(autouse=True)
def after_q4() -> Iterator[None]:
    with clock.pinned(AFTER_Q4):
        yield


def money_figures(snapshot: Snapshot) -> list[int]:
    """Every amount the report shows, in fen: lines, totals, months and their totals."""
    performance = snapshot["performance"]
    found = [c["sales_fen"] for c in performance["channels"]]
    found.append(reports.channel_totals(snapshot)["sales_fen"])
    for line in snapshot["funds"]:
        found += [line["budget_central_fen"], line["spent_quarter_fen"], line["spent_to_date_fen"]]
        if line["budget_total_fen"] is not None:
            found.append(line["budget_total_fen"])
    found += list(reports.fund_totals(snapshot).values())
    found += [performance["online_retail_agri_fen"], performance["upward_value_fen"], performance["wholesale_fen"]]
    for month in performance["monthly"]:
        found += list(month["sales_fen"].values())
        found.append(sum(month["sales_fen"].values()))
    return found


def count_figures(snapshot: Snapshot) -> list[int]:
    performance = snapshot["performance"]
    found = [c["orders"] for c in performance["channels"]] + [reports.channel_totals(snapshot)["orders"]]
    found += [
        performance["parcels_to_stations"], performance["villages_served"], performance["people_served"],
        performance["crossborder_orders"],
    ]  # fmt: skip
    return found


def xlsx_numbers(content: bytes) -> tuple[dict[str, list[list[object]]], set[Decimal]]:
    book = load_workbook(io.BytesIO(content))
    sheets = {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in book.worksheets}
    numbers = {
        Decimal(str(value)).quantize(Decimal("0.001"))
        for rows in sheets.values()
        for row in rows
        for value in row
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    return sheets, numbers


async def issued(client: httpx.AsyncClient, db_session: AsyncSession, sources: FixtureSources) -> Snapshot:
    await log_in(client, db_session, Role.admin)
    report = await reports.issue_report(db_session, 2026, 4, await admin_principal(db_session), sources=sources)
    return checked(report.snapshot)


async def test_page_workbook_and_pdf_hold_the_same_figures(
    app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    sources = FixtureSources()
    app.state.report_sources = sources
    snapshot = await issued(client, db_session, sources)
    # A correction after issuing: none of the three may show it.
    sources.performance_answer["channels"][0]["sales_fen"] = 1

    page = await client.get(PAGE, headers=HTML)
    workbook = await client.get(f"{PAGE}.xlsx")
    document = await client.get(f"{PAGE}.pdf")
    assert page.status_code == workbook.status_code == document.status_code == 200

    pdf_text = check(document.content, "county-report")
    page_text = re.sub(r"<[^>]+>", " ", page.text)
    sheets, numbers = xlsx_numbers(workbook.content)

    for fen in money_figures(snapshot):
        shown = format_minor(fen)
        assert shown in page_text, shown
        assert shown in pdf_text, shown
        assert (Decimal(fen) / 100).quantize(Decimal("0.001")) in numbers, shown
    for count in count_figures(snapshot):
        assert f"{count:,}" in page_text and f"{count:,}" in pdf_text, count
        assert Decimal(count).quantize(Decimal("0.001")) in numbers, count
    for row in snapshot["progress"]:
        for figure in (row["planned"], row["done_quarter"], row["done_to_date"]):
            assert Decimal(figure).quantize(Decimal("0.001")) in numbers
        percent = reports.percent(row["done_to_date"], row["planned"])
        assert percent in page_text and percent in pdf_text
        assert any(percent in r for r in sheets["项目进度"]), percent
        assert row["title"] in page_text and row["title"] in pdf_text
    for kg in ("12345.678", "34567.5"):
        assert kg in page_text and kg in pdf_text
        assert Decimal(kg).quantize(Decimal("0.001")) in numbers
    assert format_minor(1) not in page_text  # the correction is nowhere

    # The workbook: one sheet per section, each headed with who issued which version when.
    assert list(sheets) == ["项目进度", "资金使用", "项目绩效"]
    for rows in sheets.values():
        assert rows[0][0] == "始兴县电子商务进农村综合示范项目 季度报告"
        assert rows[1][0] == "始兴县农村电子商务公共服务中心 · 南岭明珠"
        assert rows[2][0] == "2026 年第 4 季度（2026-10-01 至 2026-12-31）"
        assert rows[3][0] == "第 1 版 · 发布人 中心管理员 陈 · 发布时间 2027-01-05 10:00（北京时间）"
    book = load_workbook(io.BytesIO(workbook.content))
    funds = book["资金使用"]
    first_line = next(row for row in funds.iter_rows() if row[0].value == "F01")
    assert first_line[3].value == 150000 and first_line[3].number_format == '"¥"#,##0.00'
    assert first_line[6].value == pytest.approx(98765.43)
    # And the PDF's header says the same.
    assert "第 1 版 · 发布人 中心管理员 陈 · 发布时间 2027-01-05 10:00（北京时间）" in pdf_text


async def test_the_pdf_is_a4_with_embedded_fonts_and_tables_over_pages(db_session: AsyncSession) -> None:
    """Forty targets push the progress table over a page: its heading row repeats on the next."""
    sources = FixtureSources()
    many = []
    for index in range(40):
        row = progress_rows()[index % 3]
        row["code"] = f"T{index:02d}"
        many.append(row)
    sources.progress_answer = many
    snapshot = await reports.build_snapshot(db_session, 2026, 4, sources)
    view = reports.ReportView(reports.Quarter(2026, 4), snapshot, 3, "中心管理员", AFTER_Q4, [])

    content = report_pdf.report_pdf(view)

    assert font_problems(content, "county-report-long") == []
    document = pdfium.PdfDocument(content)
    try:
        assert len(document) >= 4
        for page in document:
            width, height = page.get_size()
            assert (round(width), round(height)) == (595, 842)  # A4 in points
        # pdfium breaks lines where it guesses them; the footer can come out as "共 5 \r\n页".
        texts = [document[i].get_textpage().get_text_range().replace("\r\n", "") for i in range(len(document))]
    finally:
        document.close()
    progress_pages = [t for t in texts if "系统记录" in t]  # the table's 来源 column
    assert len(progress_pages) >= 2
    assert all("完成率" in t for t in progress_pages)  # the heading row on every page of the table
    assert all(f"共 {len(texts)} 页" in t for t in texts)
    assert "第 3 版" in texts[-1]


async def test_a_preview_rendering_says_it_is_not_issued(db_session: AsyncSession) -> None:
    snapshot = await reports.build_snapshot(db_session, 2026, 4, FixtureSources())
    view = reports.ReportView(reports.Quarter(2026, 4), snapshot, None, "", None, [])
    text = check(report_pdf.report_pdf(view), "county-report-preview")
    assert "未发布（预览）" in text


RENDER_SCALE = 2.0  # 144 dpi


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


def colour_pixels(image: Image.Image, hex_colour: str, tolerance: int = 6) -> int:
    """How many pixels of ``image`` are ``hex_colour`` (give or take ``tolerance`` per channel)."""
    want = _rgb(hex_colour)
    total = 0
    for count, colour in image.convert("RGB").getcolors(maxcolors=image.width * image.height) or []:
        assert isinstance(colour, tuple)
        if all(abs(int(got) - wanted) <= tolerance for got, wanted in zip(colour, want, strict=True)):
            total += count
    return total


async def test_the_pdf_draws_each_chart_under_its_title_with_bars_in_proportion(db_session: AsyncSession) -> None:
    """Rendered (pdfium, 144 dpi): under each chart's title, the chart's own area holds bars of its
    colours — the channel bars as long as their sales are to each other — and no chart colour is
    anywhere else on the page (the tables are black on white and pale green)."""
    snapshot = await reports.build_snapshot(db_session, 2026, 4, FixtureSources())
    view = reports.ReportView(reports.Quarter(2026, 4), snapshot, 1, "中心管理员", AFTER_Q4, [])
    charts = report_charts.charts(snapshot)
    document = pdfium.PdfDocument(report_pdf.report_pdf(view))
    regions: dict[str, Image.Image] = {}
    rest: list[Image.Image] = []
    try:
        for index in range(len(document)):
            page = document[index]
            _, page_height = page.get_size()
            image = page.render(scale=RENDER_SCALE).to_pil().convert("RGB")
            blank = image.copy()
            texts = page.get_textpage()
            for key, chart in charts.items():
                found = texts.search(chart.title).get_next()
                if not found:
                    continue
                left, bottom, _, _ = texts.get_charbox(found[0])
                scale = min(report_pdf.CHART_SCALE, report_pdf.CHART_MAX_HEIGHT / chart.height)
                box = tuple(
                    round(v * RENDER_SCALE)
                    for v in (
                        left - 4,
                        page_height - bottom,
                        left + chart.width * scale + 4,
                        page_height - bottom + chart.height * scale + 12,
                    )
                )
                regions[key] = image.crop(box)
                blank.paste((255, 255, 255), box)
            rest.append(blank)
    finally:
        document.close()
    assert sorted(regions) == ["channels", "funds", "monthly", "progress"]

    colours = report_charts.CHANNEL_COLOURS
    bars = {channel: colour_pixels(regions["channels"], colours[channel]) for channel in ("shop", "wholesale", "pos")}
    sales = {c["channel"]: c["sales_fen"] for c in snapshot["performance"]["channels"]}
    assert all(count > 100 for count in bars.values()), bars
    for channel in ("shop", "pos"):  # each bar's length against the longest (wholesale)
        assert bars[channel] / bars["wholesale"] == pytest.approx(sales[channel] / sales["wholesale"], rel=0.1), bars
    assert colour_pixels(regions["channels"], report_charts.TRACK) > 1000  # the bars' tracks

    monthly = {channel: colour_pixels(regions["monthly"], colours[channel]) for channel in ("shop", "wholesale", "pos")}
    assert all(count > 100 for count in monthly.values()), monthly
    month_sums = {c: sum(m["sales_fen"][c] for m in snapshot["performance"]["monthly"]) for c in monthly}
    assert monthly["shop"] / monthly["wholesale"] == pytest.approx(
        month_sums["shop"] / month_sums["wholesale"], rel=0.15
    )

    # Progress: two targets met (green), one not (amber); funds: no line over budget (blue).
    assert colour_pixels(regions["progress"], report_charts.GREEN) > 1000
    assert colour_pixels(regions["progress"], report_charts.AMBER) > 100
    assert colour_pixels(regions["funds"], report_charts.BLUE) > 1000
    assert colour_pixels(regions["funds"], report_charts.AMBER) == 0
    for blank in rest:
        for colour in (*colours.values(), report_charts.GREEN, report_charts.AMBER, report_charts.BLUE):
            assert colour_pixels(blank, colour) == 0, colour
