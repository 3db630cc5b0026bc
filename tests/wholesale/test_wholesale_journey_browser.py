"""The whole wholesale channel in a real browser, one order from the grid to the credit note.

uvicorn on 127.0.0.1 over the committed database, Debian's chromium; the real clock (the order
goes on the route's next open trip, whatever the hour). Only the stock, the route, the company and
the warehouse user are made by fixtures; everything else is clicked:

1. the buyer fills the quick-order grid for 10 SKUs (one 按千克), one row below its minimum: the
   page comes back with the message on that row and the other rows kept; fixed, the order is placed
   and its confirmation PDF (订货确认单) downloaded;
2. the warehouse opens the trip board for the trip's day, sees the order, downloads the pick list
   and the load manifest;
3. packs the order on the packing page (scanned by a keyboard wedge, the weighed line's kilograms
   typed), which starts the trip's loading, and dispatches the trip from the board;
4. records the delivery from the board, one line three pieces short: an invoice and a credit note;
5. the buyer reads the invoice with its credit note (phone width) and downloads it; the order page
   shows the trip delivered and links the invoice.

Each PDF is checked as a document: fonts embedded, every character drawn from the embedded font
(``tests/kit/test_pdf.py``'s ``check``), rendered by poppler into PNGs that are not blank, and its
text (``pdftotext``) reads the Chinese and the order's figures. Screens and renders go to
``test-output/wholesale-journey-browser/``.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.db import create_sessionmaker
from tests.fixtures.browser import PC, PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import buyer, supply_sku
from tests.kit.test_pdf import OUTPUT, check
from tests.wholesale.test_tripops import weighed_sku

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

pytestmark = needs_chromium

FOLDER = "wholesale-journey-browser"
CJK = re.compile(r"[\u4e00-\u9fff]")


async def pdf_behind(page: Page, link: Locator) -> bytes:
    """The PDF ``link`` points at, fetched with the page's own cookies (the documents are served
    inline, so the browser would show them rather than download them)."""
    href = await link.get_attribute("href")
    assert href, link
    response = await page.request.get(urljoin(page.url, href))
    assert response.ok, (href, response.status)
    assert response.headers["content-type"] == "application/pdf"
    return await response.body()


def read_pdf(document: bytes, name: str) -> str:
    """Check ``document`` as printed: its fonts embedded and drawing every character, each page
    rendered by poppler and not blank; returns the text ``pdftotext`` reads from it."""
    assert document.startswith(b"%PDF")
    drawn = check(document, f"{FOLDER}/{name}")  # writes <name>.pdf and <name>-poppler-N.png
    assert CJK.search(drawn), f"{name}: no Chinese drawn"
    pages = sorted((OUTPUT / FOLDER).glob(f"{name}-poppler-*.png"))
    assert pages, name
    for png in pages:
        grey = Image.open(png).convert("L")
        dark = sum(grey.histogram()[:128])
        assert dark > 0.002 * grey.width * grey.height, f"{png.name} is blank"
    text = subprocess.run(
        ["pdftotext", "-layout", str(OUTPUT / FOLDER / f"{name}.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert CJK.search(text), f"{name}: pdftotext reads no Chinese"
    return text


async def within_width(page: Page, selector: str) -> None:
    """Every ``selector`` element shows inside the viewport (not behind a table's sideways scroll)."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    boxes = [await element.bounding_box() for element in await page.locator(selector).all()]
    assert boxes, selector
    for box in boxes:
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (selector, box)


async def test_one_order_from_the_grid_to_the_credit_note(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    city = unique_city()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await make_prd_route(session, cities=(city,), weekdays=(1, 2, 3, 4, 5, 6, 7))
        plain = [await supply_sku(session, shelf_life_days=365) for _ in range(7)]
        moq = await supply_sku(session, min_quantity="100", shelf_life_days=365)  # 5 cases of 20 at least
        small = await supply_sku(session, case_pack=10, shelf_life_days=365)
        loose = await weighed_sku(session)  # 10 kg a case, ¥12.00 a kg
        ours = await buyer(session, city=city, credit_limit_minor=5_000_000)
        keeper = await make_user(session, Role.warehouse, username=f"journey-{uuid.uuid4().hex[:6]}")
        await session.commit()
    cases = {v.sku: "1" for v in plain} | {moq.sku: "1", small.sku: "3", loose.sku: "2"}
    assert len(cases) == 10
    short = plain[0].sku
    company = ours.company.name

    shots = Shots(FOLDER)
    async with app_in_browser(committed_database_url, tmp_path) as (base, browser):
        # ---- 1. the buyer orders on the grid (phone), one row below its minimum ---------------
        portal = await signed_in_page(browser, base, ours.user.username, "/wholesale")
        await portal.set_viewport_size(PHONE)
        for sku, count in cases.items():
            await portal.get_by_label(f"{sku} 箱数").fill(count)
        first_trip = portal.locator("#trip_date option:not([disabled])").nth(1)  # [0] is 最早可发的车次
        trip_date = await first_trip.get_attribute("value")
        trip_number = (await first_trip.inner_text()).split(" · ")[0].strip()
        assert trip_date and trip_number
        await portal.locator("#trip_date").select_option(trip_date)
        await shots.take(portal, "grid-filled-phone")
        await portal.get_by_role("button", name="提交订单").click()

        await expect(portal.locator(f"#err-{moq.sku}")).to_contain_text("起订")
        await expect(portal.get_by_role("alert")).to_be_visible()
        for sku, count in cases.items():
            await expect(portal.get_by_label(f"{sku} 箱数")).to_have_value(count)
        await expect(portal.locator(f"#err-{short}")).to_have_count(0)
        await shots.take(portal, "grid-below-minimum-phone")

        await portal.get_by_label(f"{moq.sku} 箱数").fill("5")
        await portal.get_by_role("button", name="提交订单").click()
        await expect(portal.locator("#order-status")).to_have_text("已确认")
        heading = await portal.get_by_role("heading", level=1).inner_text()
        number = heading.removeprefix("订单").strip()
        await expect(portal.locator("#order-trip")).to_contain_text(trip_number)
        await expect(portal.locator("tbody tr")).to_have_count(10)
        # 7 × 20 × 34.50 + 100 × 34.50 + 30 × 34.50 + 20 kg × 12.00
        await expect(portal.locator("#order-total")).to_have_text("¥9,555.00")
        await within_width(portal, "#order-total")  # the order's lines stack as cards on a phone
        await shots.take(portal, "confirmation-phone")
        await portal.set_viewport_size(PC)
        await shots.take(portal, "confirmation")
        text = read_pdf(
            await pdf_behind(portal, portal.get_by_role("link", name="下载订货确认单（PDF）")), "confirmation"
        )
        for shown in ("订货确认单", number, company, short, "9,555.00"):
            assert shown in text, shown

        # ---- 2. the warehouse opens the trip board and prints the pick list and manifest ------
        board_path = f"/admin/wholesale/trips?date={trip_date}"
        board = await signed_in_page(browser, base, keeper.username, board_path)
        board.on("dialog", lambda dialog: dialog.accept())
        card = board.locator(f"#trip-{trip_number}")
        stop = card.get_by_role("row").filter(has_text=number)
        await expect(stop).to_contain_text(company)
        await expect(stop).to_contain_text("已确认")
        await shots.take(board, "trip-board")
        text = read_pdf(await pdf_behind(board, card.get_by_role("link", name="拣货单 PDF")), "pick-list")
        for shown in ("拣货单", trip_number, number, moq.sku, loose.sku):
            assert shown in text, shown
        text = read_pdf(await pdf_behind(board, card.get_by_role("link", name="装车清单 PDF")), "manifest")
        for shown in ("装车清单", trip_number, number, company):
            assert shown in text, shown

        # ---- 3. packing (a wedge scan, the kilograms weighed), loading, dispatch --------------
        await card.get_by_role("link", name="打包").click()
        await expect(board.get_by_label("扫码或输入订单号")).to_be_focused()
        await board.keyboard.type(number)
        await board.keyboard.press("Enter")
        await expect(board.locator(f"#pack-{number}")).to_contain_text("未打包")
        weighed = board.get_by_label(f"{loose.sku} 打包数量（千克）")
        await expect(weighed).to_have_value("")
        await expect(board.get_by_label(f"{moq.sku} 打包数量（个）")).to_have_value("100")
        await weighed.fill("19.6")
        await shots.take(board, "packing")
        await board.get_by_role("button", name="确认打包").click()
        await expect(board.get_by_role("status")).to_contain_text(f"订单 {number}（第 1 站）已打包")
        await expect(board.locator("#packed-progress")).to_contain_text("已打包 1 / 1 单，可以发车")
        await shots.take(board, "packed")

        await board.goto(f"{base}{board_path}")
        await expect(card.get_by_role("heading", level=2)).to_contain_text("装车中")  # packing started the loading
        await card.get_by_role("button", name="发车").click()
        await expect(board.get_by_role("status")).to_contain_text("现在“已发车”")
        await shots.take(board, "dispatched")

        # ---- 4. proof of delivery, one line three pieces short --------------------------------
        await stop.get_by_role("link", name="登记签收").click()
        await expect(board.get_by_role("heading", level=1)).to_contain_text(number)
        await board.get_by_label("签收人").fill("黄先生")
        await board.get_by_label(f"{short} 短缺数量").fill("3")
        await board.get_by_label(f"{short} 说明").fill("少 3 袋")
        await shots.take(board, "delivery-form")
        await board.get_by_role("button", name="登记签收并开具结算单").click()
        status = board.get_by_role("status")
        await expect(status).to_contain_text("已开具结算单 JS-")
        await expect(status).to_contain_text("红字结算单 HZ-")
        notice = await status.inner_text()
        found_invoice = re.search(r"JS-\d{8}-\d{4}", notice)
        found_note = re.search(r"HZ-\d{8}-\d{4}", notice)
        assert found_invoice and found_note
        invoice, note = found_invoice.group(0), found_note.group(0)
        await shots.take(board, "delivered")

        # ---- 5. the buyer reads the invoice with its credit note ------------------------------
        await portal.set_viewport_size(PHONE)
        await portal.goto(f"{base}/wholesale/invoices")
        await expect(portal.locator(f"#doc-{invoice}")).to_contain_text("¥9,550.20")  # 19.6 kg packed, not 20
        await expect(portal.locator(f"#doc-{note}")).to_contain_text("-¥103.50")  # 3 × 34.50
        await expect(portal.locator("#outstanding")).to_have_text("¥9,446.70")
        await shots.take(portal, "invoices-phone")
        await portal.get_by_role("link", name=invoice).click()
        await expect(portal.locator("#total")).to_have_text("¥9,550.20")
        await expect(portal.locator("#outstanding")).to_have_text("¥9,446.70")
        await expect(portal.locator("#credit-notes")).to_contain_text(note)
        await within_width(portal, "td[data-label=金额]")
        await shots.take(portal, "invoice-phone")
        text = read_pdf(await pdf_behind(portal, portal.get_by_role("link", name="下载销售结算单（PDF）")), "invoice")
        for shown in (invoice, number, company, "9,550.20"):
            assert shown in text, shown

        await portal.get_by_role("link", name=number).click()
        await expect(portal.locator("#trip-status")).to_have_text("已送达")
        await expect(portal.locator("#order-invoice").get_by_role("link", name=invoice)).to_be_visible()
        await within_width(portal, "td.packed-quantity")
        await shots.take(portal, "order-delivered-phone")

    assert [name for name in shots.taken() if "poppler" not in name] == [
        "01-grid-filled-phone.png",
        "02-grid-below-minimum-phone.png",
        "03-confirmation-phone.png",
        "04-confirmation.png",
        "05-trip-board.png",
        "06-packing.png",
        "07-packed.png",
        "08-dispatched.png",
        "09-delivery-form.png",
        "10-delivered.png",
        "11-invoices-phone.png",
        "12-invoice-phone.png",
        "13-order-delivered-phone.png",
    ]
