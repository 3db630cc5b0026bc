"""The wholesale channel's documents, rendered from plain data: each PDF opens, has the pages it
should, embeds its font and draws every character in it (``tests/kit/test_pdf.py``'s checks, which
also render each page with poppler into ``test-output/``), and prints the figures worked out by
hand; the statement workbook holds the same figures as numbers."""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import openpyxl
import pypdfium2 as pdfium
import pytest
import zxingcpp

from app.config import get_settings
from app.kit import pdf
from app.wholesale import invoicing
from app.wholesale.confirmation_pdf import confirmation_pdf
from app.wholesale.document_data import InvoiceKind
from app.wholesale.invoice_pdf import invoice_pdf
from app.wholesale.statement import YUAN_FORMAT, statement_pdf, statement_xlsx
from app.wholesale.trip_documents import manifest_pdf, pick_list_pdf
from tests.fixtures import wholesale_documents as build
from tests.fixtures.wholesale_documents import page_count
from tests.kit.test_pdf import OUTPUT, check, font_problems, page_text


def page_texts(document: bytes) -> list[str]:
    doc = pdfium.PdfDocument(document)
    try:
        texts = []
        for page in doc:
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range().replace("\r\n", ""))
            textpage.close()
            page.close()
        return texts
    finally:
        doc.close()


def check_long(document: bytes, name: str) -> str:
    """``check`` for a document of many pages: every page's fonts and characters, but poppler
    renders only the first and the last page (PNG encoding is most of a second a page)."""
    assert font_problems(document, name) == []
    source = OUTPUT / f"{name}.pdf"
    last = page_count(document)
    for page in (1, last):
        done = subprocess.run(
            ["pdftoppm", "-r", "150", "-png", "-f", str(page), "-l", str(page), str(source), str(OUTPUT / name)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0 and done.stderr == "", done.stderr
    return page_text(document)


def barcodes(document: bytes, name: str) -> list[str]:
    """Every barcode on the first page at 300 dpi, as a scanner reads it."""
    doc = pdfium.PdfDocument(document)
    try:
        image = doc[0].render(scale=300 / 72).to_pil()
    finally:
        doc.close()
    OUTPUT.mkdir(exist_ok=True)
    image.save(OUTPUT / f"{name}.png")
    return [f"{found.format}:{found.text}" for found in zxingcpp.read_barcodes(image)]


def test_order_confirmation() -> None:
    order = build.order_confirmation()
    document = confirmation_pdf(order)

    text = check(document, "wholesale-confirmation")
    assert page_count(document) == 1
    brand = get_settings().brand_name
    # ¥34.50 + 15.98 + 38.70 + 368.00 + 59.50 + 1,380.00 + 768.00 + 4,608.00 + 1,632.00 + 2,160.00
    for shown in (
        f"{brand} · 订货确认单",
        "订单号：WO-20261207-0042",
        "广州市荔湾区喆丰生鲜果行有限公司",
        "车次 TR-20261208-GZ1 2026-12-08 04:30 发车",  # a paragraph sets the 　 as a space
        "收货时间：周一至周六 06:00–10:00",
        "始兴香芋（散装称重）",
        "20 千克",  # case pack
        "80 千克",  # 4 cases of 20 kg
        "¥4.60/千克",
        "¥368.00",
        "¥11,064.68",
        "人民币壹万壹仟零陆拾肆元陆角捌分",
        "付款方式：月结 30 天",
        "第 1 / 1 页",
    ):
        assert shown in text, shown
    assert pdf.MISSING_MARK not in text
    assert "Code 128:WO-20261207-0042" in barcodes(document, "wholesale-confirmation-scan")


def test_a_long_order_confirmation_runs_onto_more_pages() -> None:
    document = confirmation_pdf(build.order_confirmation(lines=90))
    texts = page_texts(document)
    assert len(texts) >= 2
    assert all(f"第 {n} / {len(texts)} 页" in t for n, t in enumerate(texts, start=1))


def test_invoice_with_its_tax_line_and_capital_amount() -> None:
    document = invoice_pdf(build.invoice())

    text = check(document, "wholesale-invoice")
    assert page_count(document) == 1
    # 200 × 34.50 = 6,900.00; 12.345 kg × 7.99 = 98.63655 → 98.64; 3 × 34.50 = 103.50.
    # Total 7,102.14; tax 710214 × 9 / 109 = 58641.6… → 586.42; before tax 6,515.72.
    for shown in (
        "销售结算单",
        "付款到期日：2027-01-07",
        "税号：91440103MA5CXXXX0K",
        "开户行及账号：中国工商银行广州芳村支行 3602 0012 0920",
        get_settings().service_centre_name,  # the seller
        "税号：12440222MB2D00000X",
        "12.345 千克",
        "¥98.64",
        "¥6,900.00",
        "¥7,102.14",
        "税额（税率 9%）",
        "¥586.42",
        "¥6,515.72",
        "人民币柒仟壹佰零贰元壹角肆分",
    ):
        assert shown in text, shown
    assert "Code 128:INV-202612-0007" in barcodes(document, "wholesale-invoice-scan")


def test_a_pro_forma_at_rate_zero_has_no_tax_line() -> None:
    text = check(invoice_pdf(build.invoice(InvoiceKind.proforma, rate=0)), "wholesale-proforma")

    assert "形式发票" in text and "不作为收款或报销凭证" in text
    assert "¥7,102.14" in text and "人民币柒仟壹佰零贰元壹角肆分" in text
    assert "税额" not in text and "不含税" not in text


def test_credit_note_for_a_damaged_case() -> None:
    lines = invoicing.credit_note_lines(build.INVOICE_LINES, [invoicing.Shortfall("PP-A-KG", Decimal("1.235"), "破损")])
    note = replace(build.invoice(InvoiceKind.credit_note), lines=lines, against_number="INV-202612-0007")

    text = check(invoice_pdf(note), "wholesale-credit-note")

    # 1.235 kg × ¥7.99 = 9.86765 → −¥9.87; tax −987 × 9 / 109 = −81.49… → −¥0.81.
    for shown in ("红字结算单", "冲减结算单：INV-202612-0007", "-1.235 千克", "-¥9.87", "-¥0.81", "破损"):
        assert shown in text, shown
    assert "人民币负玖元捌角柒分" in text
    assert "付款到期日" not in text


def test_statement_pdf_shows_the_hand_computed_figures() -> None:
    document = statement_pdf(build.statement())

    text = check(document, "wholesale-statement")
    assert page_count(document) == 1
    # Opening 2,500.00 + 12,345.50 + 987.65 − 44.37 − 5,000.00 − 3,000.00 = 7,788.78. On 15
    # December: INV-2 (due 20 Dec) is current, INV-1 (due 3 Dec) 12 days late, INV-0 (due 20 Oct)
    # 56 days late.
    for shown in (
        "2026 年 11 月对账单",
        "对账期间：2026-11-01 至 2026-11-30",
        "¥2,500.00",
        "¥13,333.15",
        "¥44.37",
        "¥8,000.00",
        "¥7,788.78",
        "人民币柒仟柒佰捌拾捌元柒角捌分",
        "账龄（截至 2026-12-15",
        "¥987.65",
        "¥4,301.13",
        "网银 88120",
    ):
        assert shown in text, shown
    assert "未核销" not in text  # the open invoices are the whole balance


def test_statement_workbook_holds_the_same_figures_as_numbers() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(statement_xlsx(build.statement())))
    sheet = workbook["对账单"]
    rows = {row[0].value: row for row in sheet.iter_rows() if isinstance(row[0].value, str)}
    by_reference = {row[2].value: row for row in sheet.iter_rows() if row[2].value}

    def fen(cell: openpyxl.cell.cell.Cell) -> int:
        assert isinstance(cell.value, int | float), (cell.coordinate, cell.value)
        assert cell.number_format == YUAN_FORMAT
        return round(cell.value * 100)

    assert fen(rows["期初应收余额"][1]) == 250_000
    assert fen(rows["加：本期结算单"][1]) == 1_333_315
    assert fen(rows["减：本期红字结算单"][1]) == 4_437
    assert fen(rows["减：本期收款"][1]) == 800_000
    assert fen(rows["期末应收余额"][1]) == 778_878
    assert rows["期末余额（大写）"][1].value == "人民币柒仟柒佰捌拾捌元柒角捌分"
    assert fen(by_reference["INV-1"][4]) == 1_234_550 and fen(by_reference["INV-1"][6]) == 1_484_550
    assert fen(by_reference["CN-1"][5]) == 4_437
    assert fen(by_reference["网银 90311"][6]) == 778_878
    ageing_values = next(row for row in sheet.iter_rows() if row[0].value == "未到期")
    ageing_row = ageing_values[0].row + 1
    assert [fen(sheet.cell(row=ageing_row, column=c)) for c in range(1, 7)] == [
        98_765,
        430_113,
        250_000,
        0,
        0,
        778_878,
    ]


@pytest.fixture(scope="module")
def big_trip() -> tuple[bytes, bytes, build.TripPickList, build.TripManifest]:
    pick, manifest = build.synthetic_trip(orders=200, lines=5)
    return pick_list_pdf(pick), manifest_pdf(manifest), pick, manifest


def test_load_manifest_of_200_orders_paginates(big_trip: tuple[bytes, bytes, object, object]) -> None:
    _, document, _, manifest = big_trip
    assert isinstance(manifest, build.TripManifest)

    text = check_long(document, "wholesale-manifest-200")
    texts = page_texts(document)

    assert len(texts) == 12
    for number, page in enumerate(texts, start=1):
        assert f"第 {number} / 12 页" in page
        assert "车次 TR-20261208-GZ1" in page
        assert "站序" in page  # the header row repeats on every page
    # Every stop once, in delivery order, and nothing past the last.
    found = [int(n) for n in re.findall(r"WO-20261207-(\d{4})", text)]
    assert found == list(range(1, 201))
    # 200 stops of 5 lines of 1–3 cases; kg as the stops say.
    cases = sum((s.cases for s in manifest.stops), Decimal(0))
    weight = sum((s.weight_kg for s in manifest.stops), Decimal(0))
    assert f"合计 200 站　{cases} 箱 / 容量 2400 箱　{weight.quantize(Decimal('0.1')):,} kg / 载重 30,000.0 kg" in text
    assert "冷链：装车温度" in text
    assert pdf.MISSING_MARK not in text


def test_pick_list_of_200_orders_groups_by_sku_with_fefo_lots(
    big_trip: tuple[bytes, bytes, object, object],
) -> None:
    document, _, pick, _ = big_trip
    assert isinstance(pick, build.TripPickList)

    text = check_long(document, "wholesale-pick-list-200")
    texts = page_texts(document)

    assert len(texts) == page_count(document) > 20
    assert all(f"第 {n} / {len(texts)} 页" in t and "车次 TR-20261208-GZ1" in t for n, t in enumerate(texts, 1))
    assert "200 站 200 个订单 1000 行 10 种商品" in text  # a paragraph sets 　 as a space
    # One box to tick per lot taken, on every row.
    assert text.count("□") == sum(len(row.lots) for row in pick.rows) + 200  # + one per stop total
    # Each SKU's heading states its total; the lots are listed oldest best-before first.
    tea = [row for row in pick.rows if row.sku == "CY-250"]
    total = sum((row.quantity for row in tea), Decimal(0))
    assert f"CY-250　车八岭高山茶 250 克　每箱 12 个　共 {total} 个 / {total / 12} 箱" in text
    lots = text[text.index("CY-250　车八岭") :]
    lots = lots[: lots.index("✓")]
    dates = re.findall(r"（(\d{4}-\d{2}-\d{2}) 到期）", lots)
    assert dates == sorted(dates) and len(dates) > 1


def test_a_small_trip_is_one_page_each() -> None:
    pick, manifest = build.synthetic_trip(orders=3, lines=2)
    # A line the allocator found no lot for is printed, not dropped.
    pick = replace(pick, rows=(*pick.rows[:-1], replace(pick.rows[-1], lots=())))
    small_pick, small_manifest = pick_list_pdf(pick), manifest_pdf(manifest)
    assert page_count(small_pick) == 1 and page_count(small_manifest) == 1
    last = pick.rows[-1]
    assert last.order_number in check(small_pick, "wholesale-pick-list-small")
    assert "未分配批次" in page_texts(small_pick)[0]
    assert "尚未分配批次，拣货前请找仓库主管" in page_texts(small_pick)[0]
    text = check(small_manifest, "wholesale-manifest-small")
    assert "第 1 / 1 页" in text and "始兴—广州—佛山—东莞—深圳" in text
    assert date(2026, 12, 8).isoformat() in text


@pytest.fixture
def another_county(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings of another county's brand (get_settings is cached: read again, and again after)."""
    monkeypatch.setenv("BRAND_NAME", "丹霞优品")
    monkeypatch.setenv("SERVICE_CENTRE_NAME", "仁化县电子商务公共服务中心")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("another_county")
def test_brand_and_centre_come_from_settings() -> None:
    pick, manifest = build.synthetic_trip(orders=2, lines=1)

    texts = [
        check(manifest_pdf(manifest), "wholesale-manifest-other-brand"),
        check(pick_list_pdf(pick), "wholesale-pick-list-other-brand"),
        check(invoice_pdf(build.invoice()), "wholesale-invoice-other-brand"),
        check(confirmation_pdf(build.order_confirmation()), "wholesale-confirmation-other-brand"),
        check(statement_pdf(build.statement()), "wholesale-statement-other-brand"),
    ]

    for text in texts:
        assert "丹霞优品 · " in text and "南岭明珠" not in text
    assert "仁化县电子商务公共服务中心" in texts[2] and "仁化县电子商务公共服务中心" in texts[3]
    assert "始兴县农村电子商务公共服务中心" not in "".join(texts)
