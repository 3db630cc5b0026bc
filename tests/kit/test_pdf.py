"""Every PDF the platform generates carries its font: ``pdffonts`` lists every font as embedded, and
every character drawn is in the embedded font's character map — so nothing depends on the fonts of
the viewer or the printer, and no character prints as a missing-glyph box (☒).

Why the character check is the glyph check: reportlab draws a character the font has no glyph for
with code 0 (the ``.notdef`` glyph, the box) and maps that code to U+0000 in the PDF's ToUnicode
map; every other code maps to the character whose glyph it draws. So a page whose extracted
characters are all non-zero and all in the font's cmap draws no ``.notdef``. Each page is also
rendered with poppler (``pdftoppm``, the renderer that showed the boxes) into ``test-output/``.
"""

from __future__ import annotations

import ctypes
import io
import logging
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import pdf
from app.stations import labels as parcel_documents
from app.supply import labels as lot_labels
from tests.fixtures.builders import make_product, make_supplier, make_variant, receive
from tests.stations.test_labels import make_world

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
EXT_A = "\u3400"  # 㐀, CJK Extension A: outside the shipped subset


@dataclass(frozen=True)
class FontRow:
    name: str
    type: str
    embedded: bool


def pdffonts(document: bytes, path: Path) -> list[FontRow]:
    """``pdffonts``' table, read by the column widths its dashed line gives."""
    path.write_bytes(document)
    lines = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout.splitlines()
    assert lines[0].split()[:4] == ["name", "type", "encoding", "emb"], lines
    spans, start = [], 0
    for dashes in lines[1].split(" "):
        spans.append((start, start + len(dashes)))
        start += len(dashes) + 1
    rows = []
    for line in lines[2:]:
        cells = [line[a:b].strip() for a, b in spans]
        rows.append(FontRow(name=cells[0], type=cells[1], embedded=cells[3] == "yes"))
    return rows


@dataclass(frozen=True)
class Drawn:
    char: str
    font: str
    page: int


def drawn_characters(document: bytes) -> list[Drawn]:
    """Every character drawn on every page, with the font it is drawn in (pdfium reads the
    characters through each font's ToUnicode map; the spaces and line ends it infers are skipped)."""
    found: list[Drawn] = []
    doc = pdfium.PdfDocument(document)
    try:
        for number in range(len(doc)):
            page = doc[number]
            text = page.get_textpage()
            for i in range(text.count_chars()):
                if pdfium_c.FPDFText_IsGenerated(text.raw, i) == 1:
                    continue
                name = ctypes.create_string_buffer(256)
                flags = ctypes.c_int()
                pdfium_c.FPDFText_GetFontInfo(text.raw, i, name, 256, ctypes.byref(flags))
                char = chr(pdfium_c.FPDFText_GetUnicode(text.raw, i))
                found.append(Drawn(char, name.value.decode(), number + 1))
            text.close()
            page.close()
    finally:
        doc.close()
    return found


def font_problems(document: bytes, name: str) -> list[str]:
    """What is wrong with the fonts of ``document`` (empty when nothing is): fonts not embedded,
    text in another font than the document font, characters its cmap lacks (U+0000: a .notdef)."""
    OUTPUT.mkdir(exist_ok=True)
    problems = [
        f"font not embedded: {row.name} ({row.type})"
        for row in pdffonts(document, OUTPUT / f"{name}.pdf")
        if not row.embedded
    ]
    glyphs = pdf.font().face.charToGlyph
    for drawn in drawn_characters(document):
        if not drawn.font.endswith("NotoSansSC-Regular"):
            problems.append(f"page {drawn.page}: {drawn.char!r} drawn in {drawn.font}, not the document font")
        elif drawn.char not in " \r\n" and ord(drawn.char) not in glyphs:
            problems.append(f"page {drawn.page}: U+{ord(drawn.char):04X} has no glyph in the document font")
    return sorted(set(problems))


def render(document: bytes, name: str) -> list[Path]:
    """Each page as PNG through poppler; poppler must have had nothing to complain about."""
    source = OUTPUT / f"{name}.pdf"
    source.write_bytes(document)
    done = subprocess.run(
        ["pdftoppm", "-r", "150", "-png", str(source), str(OUTPUT / f"{name}-poppler")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return sorted(OUTPUT.glob(f"{name}-poppler-*.png"))


def page_text(document: bytes) -> str:
    return "".join(d.char for d in drawn_characters(document) if d.char not in "\r\n")


def check(document: bytes, name: str) -> str:
    """Assert the document's fonts are right, render it, and return its text."""
    assert font_problems(document, name) == []
    assert render(document, name)
    return page_text(document)


# ---- the documents ------------------------------------------------------------------------------


async def test_lot_label(db_session: AsyncSession) -> None:
    product = await make_product(db_session, name_zh="始兴沈所蜂蜜", shelf_life_days=365)
    # The grade is not in the SKU's name, so the label joins them with the " · " that printed as ☒.
    variant = await make_variant(db_session, product=product, name_zh="500 克玻璃瓶", grade="一级")
    supplier = await make_supplier(
        db_session, name="始兴县沈所镇喆丰蜂业专业合作社", township="沈所镇", village="沈南村"
    )
    lot = await receive(db_session, variant, "12", supplier=supplier)
    info = await lot_labels.lot_label(db_session, lot.code, base_url="https://shop.example.cn")

    text = check(lot_labels.lot_label_pdf(info), "fonts-lot-label")

    # 喆 is in GBK but not in GB2312: names need the larger set.
    for shown in ("南岭明珠", "500 克玻璃瓶 · 一级", "喆丰蜂业", "沈所镇沈南村", f"批次 {lot.code}"):
        assert shown in text, shown
    assert pdf.MISSING_MARK not in text


async def test_parcel_labels_and_manifest(db_session: AsyncSession) -> None:
    world = await make_world(db_session)
    found = await parcel_documents.parcel_labels(
        db_session, run_number=world.run.number, base_url="https://shop.example.cn"
    )

    labels_text = check(parcel_documents.parcel_label_pdf(found), "fonts-parcel-labels")
    manifest = await parcel_documents.run_manifest(db_session, world.run.number)
    manifest_text = check(parcel_documents.manifest_pdf(manifest), "fonts-manifest")

    assert labels_text.count("凭取件码到村站领取 · 请当面核对包裹完好") == 3
    assert "到付 ¥158.85" in labels_text and "扫码查件" in labels_text and "…另有 1 种" in labels_text
    assert f"南岭明珠 · 发车清单 {world.run.number} · {world.route.code}" in manifest_text
    assert "城区线 太平—城南" in manifest_text and "第 1 页 / 共 1 页" in manifest_text
    assert pdf.MISSING_MARK not in labels_text + manifest_text


async def test_a_character_the_font_lacks_prints_as_a_geta_mark(
    db_session: AsyncSession, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "_reported", set())  # each missing character is logged once a process
    world = await make_world(db_session)
    [info] = await parcel_documents.parcel_labels(db_session, tracking_numbers=[world.parcels[0].tracking_number])
    odd = replace(info, village=f"石{EXT_A}村", items=(f"蜂蜜 ×1瓶 {EXT_A}",))

    with caplog.at_level(logging.WARNING, logger="app.kit.pdf"):
        text = check(parcel_documents.parcel_label_pdf([odd]), "fonts-missing-character")

    assert f"石{pdf.MISSING_MARK}村" in text and EXT_A not in text
    assert any(EXT_A in record.getMessage() for record in caplog.records)
    assert pdf.missing(f"张{EXT_A}三{EXT_A}") == [EXT_A]
    assert pdf.printable(f"张{EXT_A}") == f"张{pdf.MISSING_MARK}"
    # Measured as drawn: layout never leaves room for one glyph and draws another.
    assert pdf.width(f"张{EXT_A}", 10) == pdf.width(f"张{pdf.MISSING_MARK}", 10)


def test_the_checks_fail_on_what_the_documents_used_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks above can fail: on the old fonts (a CID font and reportlab's default Helvetica,
    neither embedded), and on the embedded font drawing a character it has no glyph for."""
    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    old = io.BytesIO()
    canvas = Canvas(old, pagesize=(300, 100))
    canvas.setFont("STSong-Light", 12)
    canvas.drawString(10, 50, "领取 · 核对")
    canvas.save()
    assert font_problems(old.getvalue(), "fonts-old-cid") == [
        "font not embedded: Helvetica (Type 1)",
        "font not embedded: STSong-Light (CID Type 0)",
        *sorted(f"page 1: {c!r} drawn in STSong-Light, not the document font" for c in set("领取 · 核对")),
    ]

    # Without the 〓 substitution a missing character is drawn with the .notdef glyph.
    monkeypatch.setattr(pdf.font(), "printable", lambda text: text)
    boxed = io.BytesIO()
    canvas = pdf.new_canvas(boxed, (300, 100))
    canvas.setFont(pdf.FONT, 12)
    canvas.drawString(10, 50, f"张{EXT_A}三")
    canvas.save()
    assert font_problems(boxed.getvalue(), "fonts-notdef") == ["page 1: U+0000 has no glyph in the document font"]


def test_every_module_that_makes_a_pdf_is_checked_here() -> None:
    """A new document must start from ``app.kit.pdf`` and get a test above: this lists the modules
    that draw PDFs with reportlab."""
    drawing = {
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if any(
            marker in path.read_text(encoding="utf-8")
            for marker in ("reportlab.pdfgen", "reportlab.platypus", "SimpleDocTemplate", "registerFont")
        )
    }
    # The wholesale documents lay out on app/wholesale/pdf_layout.py, checked the same way in
    # tests/wholesale/test_documents.py (font_problems and poppler on every document).
    assert drawing == {
        "app/kit/pdf.py",
        "app/supply/labels.py",
        "app/stations/parcel_label_pdf.py",
        "app/stations/manifest_pdf.py",
        "app/wholesale/case_labels.py",  # tests/wholesale/test_tripops.py
        "app/wholesale/confirmation_pdf.py",
        "app/wholesale/invoice_pdf.py",
        "app/wholesale/pdf_layout.py",
        "app/wholesale/statement.py",
        "app/wholesale/trip_documents.py",
        "app/pos/receipt_pdf.py",  # tests/pos/test_receipts.py
        "app/pos/z_report.py",  # tests/pos/test_shift_console.py
        "app/county/report_pdf.py",  # tests/county/test_report_documents.py
        "app/county/report_charts.py",  # its charts, drawn inside report_pdf.py's document
    }
