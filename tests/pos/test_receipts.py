"""Receipts (issue 14, item 4): the PDF on an 80 mm and a 58 mm roll with the store, till, clerk, sale
number, lines with their weights, totals, payments, change and one QR code to the sale's public
page; the public page lists each line's lots with links to their trace pages, and says so plainly
when the store's book could not cover a line. A till reads only its own store's receipts."""

from __future__ import annotations

import re
import subprocess
import uuid
from datetime import UTC, datetime

import httpx
import zxingcpp
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.pos import receipts
from app.pos.sale_models import Sale
from tests.fixtures.pos_counter import (
    LineSpec,
    SaleSpec,
    TenderSpec,
    lot_of,
    make_sale,
    open_shift,
)
from tests.fixtures.pos_sales import Shop, make_shop, sign_in
from tests.kit.test_pdf import OUTPUT, check, render

CJK = re.compile(r"[\u4e00-\u9fff]")
# 10:05 on 6 December 2026, China time.
SOLD_AT = datetime(2026, 12, 6, 2, 5, tzinfo=UTC)


async def basket(session: AsyncSession, *, jin_stock: str = "20") -> tuple[Sale, Shop]:
    """2 boxes (¥136.00) and 1250 g of loquats by the 斤 (2.5 斤, ¥42.00), ¥8.00 off for a regular,
    paid ¥100 by WeChat and ¥80 in cash: change ¥10.00."""
    shop = await make_shop(session, jin_stock=jin_stock)
    await session.refresh(shop.store)
    shop.store.address = "太平镇农贸市场 12 号档"
    shop.store.phone = "0751-8881234"
    shift = await open_shift(session, shop)
    sale = await make_sale(
        session,
        shop,
        shift,
        SaleSpec(
            lines=[
                LineSpec(shop.box, "2", 6800),
                LineSpec(shop.jin, "2.5", 1680, source="weight_label", grams=1250, code="2000101012500"),
            ],
            discount_minor=800,
            discount_reason="老顾客",
            tenders=[
                TenderSpec("qr", 10000, wallet="wechat", reference_tail="4321"),
                TenderSpec("cash", 8000),
            ],
            change_minor=1000,
            sold_at=SOLD_AT,
        ),
    )
    return sale, shop


def pdftotext(document: bytes, name: str) -> str:
    path = OUTPUT / f"{name}.pdf"
    path.write_bytes(document)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


async def test_the_receipt_pdf_on_an_80_mm_roll(
    client: httpx.AsyncClient, db_session: AsyncSession, settings: Settings
) -> None:
    sale, shop = await basket(db_session)
    headers = await sign_in(client, shop)
    answer = await client.get(f"/api/v1/pos/sales/{sale.number}/receipt.pdf", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    document = answer.content
    drawn = check(document, "pos-receipt-80")  # fonts embedded, every character has its glyph
    assert CJK.search(drawn)
    text = pdftotext(document, "pos-receipt-80")
    for expected in (
        settings.brand_name,
        "太平镇农贸市场 12 号档",
        sale.number,
        "2026-12-06 10:05",
        "2.5 斤（1250 克）",
        "¥16.80/斤",
        "¥42.00",
        "老顾客",
        "-¥8.00",
        "¥170.00",
        "扫码·微信（尾号 4321）",
        "¥100.00",
        "找零",
        "¥10.00",
    ):
        assert expected in text, (expected, text)
    assert (shop.clerk.display_name or shop.clerk.username) in text
    # One QR code, holding the sale's public page.
    pages = render(document, "pos-receipt-80-qr")
    image = Image.open(pages[0])
    width_mm = image.width / 150 * 25.4
    assert 79 < width_mm < 81
    codes = zxingcpp.read_barcodes(image)
    assert [code.text for code in codes] == [f"{settings.public_base_url.rstrip('/')}/r/{sale.client_id}"]


async def test_the_58_mm_receipt_and_a_width_the_printers_do_not_have(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    sale, shop = await basket(db_session)
    headers = await sign_in(client, shop)
    answer = await client.get(f"/api/v1/pos/sales/{sale.number}/receipt.pdf?width=58", headers=headers)
    assert answer.status_code == 200
    check(answer.content, "pos-receipt-58")
    image = Image.open(render(answer.content, "pos-receipt-58-qr")[0])
    assert 57 < image.width / 150 * 25.4 < 59
    assert image.height > image.width  # a roll: as long as the content
    assert len(zxingcpp.read_barcodes(image)) == 1
    wrong = await client.get(f"/api/v1/pos/sales/{sale.number}/receipt.pdf?width=70", headers=headers)
    assert wrong.status_code == 422


async def test_a_till_reads_only_its_own_stores_receipts(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    sale, _ = await basket(db_session)
    elsewhere = await make_shop(db_session)
    headers = await sign_in(client, elsewhere)
    answer = await client.get(f"/api/v1/pos/sales/{sale.number}/receipt.pdf", headers=headers)
    assert answer.status_code == 404
    assert answer.json()["error"] == "sale_not_found"
    assert (await client.get(f"/api/v1/pos/sales/{sale.number}/receipt.pdf")).status_code == 401


async def test_the_public_page_lists_the_lots_each_line_came_from(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    # Only 2 斤 in the store's book: 0.5 斤 of the 2.5 sold is short.
    sale, shop = await basket(db_session, jin_stock="2")
    box_lot, jin_lot = await lot_of(db_session, shop, shop.box), await lot_of(db_session, shop, shop.jin)
    answer = await client.get(f"/r/{sale.client_id}")
    assert answer.status_code == 200
    page = answer.text
    assert shop.store.name in page
    assert "2026年12月6日 10:05" in page
    assert f'href="/t/{box_lot.code}"' in page
    assert f'href="/t/{jin_lot.code}"' in page
    assert "¥170.00" in page
    assert "其中 0.5 斤售出时门店账面库存不足" in page
    # Nothing about who sold it or how it was paid.
    assert shop.clerk.username not in page
    assert "4321" not in page
    view = await receipts.public_sale(db_session, sale.client_id)
    assert [[lot.code for lot in line.lots] for line in view.lines] == [[box_lot.code], [jin_lot.code]]


async def test_an_unknown_sale_page_is_a_404_page(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    for path in (f"/r/{uuid.uuid4()}", "/r/not-a-uuid"):
        answer = await client.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == 404
        assert "text/html" in answer.headers["content-type"]
