"""THE till in a real browser (issue 14, "Must be shown by tests"): a counter PC's chromium enrols
as a till, the clerk signs in with user name + PIN, opens a shift with a float, scans an EAN-13 item
and a scale label (typed as a wedge scanner does: digits then Enter), takes cash and prints the
receipt (the print layout is screenshotted). Then the server is STOPPED — not the browser context
set offline: Playwright's offline switch does not stop service-worker requests — the browser is
closed and launched again on the same profile: /pos opens from the service worker and 3 more sales
are made while no request reaches the server (counted in the server). The server is started again
at the same address; the queued sales land exactly once, at the till's prices (a price raised
meanwhile does not change them); the shift closes with a Z report.

Screens go to ``test-output/till-browser/``."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import zxingcpp
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Receive, Scope, Send

from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.pos.sale_models import Sale, Shift
from app.pos.selling import sale_number
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS, PC, Shots, needs_chromium
from tests.fixtures.builders import set_price
from tests.fixtures.http_server import serve_in_thread
from tests.fixtures.pos import PIN
from tests.fixtures.pos_till import StockedTill, committed_stocked_till, scale_label

pytestmark = needs_chromium


class CountRequests:
    """ASGI wrapper: every HTTP request that reaches the server, by path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.paths.append(scope["path"])
        await self.app(scope, receive, send)


async def launch(playwright: Any, profile: Path) -> Any:
    context = await playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS,
        viewport=PC,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(10_000)
    return context


async def wedge(page: Any, code: str) -> None:
    """What a keyboard-wedge scanner does: the digits, then Enter, into whatever has focus."""
    await page.keyboard.type(code, delay=5)
    await page.keyboard.press("Enter")


async def pay_cash(page: Any, amount: str) -> None:
    await page.locator("#pay-button").click()
    await page.locator("#cash-amount").fill(amount)
    await page.get_by_role("button", name="收现金").click()


async def print_receipt(page: Any, shots: Shots, name: str) -> None:
    await page.evaluate("() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }")
    await page.locator("#print-button").click()
    assert await page.evaluate("() => window.__printed") == 1
    await page.emulate_media(media="print")
    await shots.take(page, name)
    await page.emulate_media(media="screen")


async def sales_of(engine: AsyncEngine, shop: StockedTill) -> dict[str, int]:
    async with create_sessionmaker(engine)() as session:
        rows = await session.execute(
            select(Sale.number, func.count()).where(Sale.till_id == shop.till.id).group_by(Sale.number)
        )
        return {number: count for number, count in rows.all()}


async def test_the_till_sells_offline_across_a_browser_restart_and_lands_each_sale_once(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    shop = await committed_stocked_till(committed_engine)
    assert shop.box.barcode is not None and shop.loquat.plu is not None and shop.pear.plu is not None
    shots = Shots("till-browser")
    profile = tmp_path / "chromium-profile"
    server_engine = create_engine(committed_database_url, null_pool=True)
    settings = Settings(app_env=AppEnv.test, app_data_dir=tmp_path / "data", database_url=committed_database_url)
    server = CountRequests(create_app(settings, engine=server_engine, task_sender=RecordingSender()))
    prefix = shop.till.sale_prefix
    try:
        async with async_playwright() as playwright:
            # ---- 1. online: enrol, sign in, open the shift, sell one basket for cash, print.
            with serve_in_thread(server, name="till server") as base:
                port = int(base.rsplit(":", 1)[1])
                till = await launch(playwright, profile)
                page = till.pages[0] if till.pages else await till.new_page()
                await page.goto(f"{base}/pos")
                await expect(page.get_by_role("heading", name="本机还不是收银机")).to_be_visible()
                await shots.take(page, "not-enrolled")
                await page.goto(f"{base}/pos/enrol?code={shop.enrol_code}")
                await page.get_by_label("本机说明").fill("墨江市场柜台电脑")
                await page.get_by_role("button", name="登记本机").click()
                await expect(page.locator("#enrolled-till")).to_contain_text("1 号收银台")

                await page.goto(f"{base}/pos")
                await expect(page.get_by_role("heading", name="店员登录")).to_be_visible()
                await page.get_by_label("工号").fill(shop.clerk.username)
                for digit in PIN:
                    await page.locator(f"#screen-signin .keypad button[data-key='{digit}']").click()
                await shots.take(page, "sign-in")
                await page.get_by_role("button", name="登录").click()
                await expect(page.get_by_role("heading", name="开班")).to_be_visible()
                await page.locator("#open-float").fill("200")
                await page.get_by_role("button", name="开班").click()
                await expect(page.locator("#scan")).to_be_focused()
                await expect(page.locator("#till-where")).to_contain_text("墨江市场店")

                await wedge(page, shop.box.barcode)  # ¥12.80
                await wedge(page, scale_label("21", shop.loquat.plu, 1500))  # 1.5 kg = 3 斤 × ¥16.80 = ¥50.40
                await expect(page.locator("#basket li")).to_have_count(2)
                await expect(page.locator("#t-total")).to_have_text("63.20")
                await expect(page.locator("#basket")).to_contain_text("3 斤（1500 克）")
                await shots.take(page, "basket")
                await pay_cash(page, "100")
                await expect(page.locator("#change")).to_have_text("36.80")
                first_number = sale_number(prefix, 1)
                await expect(page.locator("#receipt-view")).to_contain_text(first_number)
                await shots.take(page, "change")
                # The receipt's QR (drawn in the page, so it prints offline too) is the sale's public page.
                qr_png = shots.folder / "receipt-qr.png"
                await page.locator("#receipt-view .receipt-qr").screenshot(path=str(qr_png))
                decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(qr_png))]
                assert len(decoded) == 1 and re.fullmatch(rf"{re.escape(base)}/r/[0-9a-f-]{{36}}", decoded[0]), decoded
                receipt_qr = decoded[0]
                await print_receipt(page, shots, "receipt-80mm-print")
                await expect(page.locator("#pending")).to_have_text("待上传 0", timeout=15_000)
                assert await sales_of(committed_engine, shop) == {first_number: 1}
                # The worker controls the page and keeps it: what the restart below relies on.
                assert await page.evaluate(
                    "async () => { await navigator.serviceWorker.ready; return !!(await caches.match('/pos')); }"
                )
                await till.close()
            reached_before = len(server.paths)
            # Meanwhile the centre raises the boxed item's price: sales already made keep the till's.
            async with create_sessionmaker(committed_engine)() as session:
                await set_price(session, "retail", shop.box, 1500)
                await session.commit()

            # ---- 2. the server is down: the browser starts again on /pos and sells 3 times.
            till = await launch(playwright, profile)
            page = till.pages[0] if till.pages else await till.new_page()
            from_worker: list[str] = []
            page.on("response", lambda r: from_worker.append(r.url) if r.from_service_worker else None)
            await page.goto(f"http://127.0.0.1:{port}/pos")
            await expect(page.locator("#scan")).to_be_focused()
            await expect(page.locator("#net")).to_have_text("离线", timeout=15_000)
            assert any(url.endswith("/pos") for url in from_worker) and any(
                url.endswith("/pos.js") for url in from_worker
            )
            await shots.take(page, "offline-after-restart")

            # Sale 2: a PLU key, the weight typed in 斤 (the unit the price is shown in), cash.
            await page.locator(f"#plu-keys .key[data-variant='{shop.loquat.id}']").click()
            await expect(page.locator("#dialog-note")).to_contain_text("请按斤输入重量")
            await page.locator("#dlg-weight").fill("5.5")  # 5.5 斤 reaches the 5 斤 tier: ¥15.00 → ¥82.50
            await page.locator("#dialog-ok").click()
            await expect(page.locator("#t-total")).to_have_text("82.50")
            await pay_cash(page, "82.50")
            await expect(page.locator("#change")).to_have_text("0.00")

            # Sale 3: two boxes (quantity edited) and a weight label of pears, paid by WeChat.
            await page.locator("#next-sale").click()
            await wedge(page, shop.box.barcode)
            await page.locator("#basket button", has_text="改数量").click()
            await page.locator("#dlg-quantity").fill("2")
            await page.locator("#dialog-ok").click()
            await wedge(page, scale_label("20", shop.pear.plu, 1235))  # 1.235 kg × ¥18.50 = ¥22.8475 → ¥22.85
            await expect(page.locator("#t-total")).to_have_text("48.45")
            await page.locator("#pay-button").click()
            await page.get_by_role("tab", name="微信").click()
            await page.locator("#qr-ref").fill("8842")
            await shots.take(page, "pay-wechat")
            await page.get_by_role("button", name="已收款").click()
            await expect(page.locator("#receipt-view")).to_contain_text("微信 尾号8842")

            # Sale 4: split tender, ¥20 by Alipay and the rest in cash; a voided line first. The
            # first scan, while the last change is still shown, starts the sale by itself.
            await wedge(page, shop.box.barcode)
            await expect(page.locator("#basket li")).to_have_count(1)
            await wedge(page, "6900000000000")  # a bad check digit: refused on screen, nothing added
            await expect(page.locator("#scan-msg")).to_contain_text("校验位不对")
            await wedge(page, scale_label("26", shop.loquat.plu, 3360))  # a price label: ¥33.60
            await page.locator("#basket li").first.get_by_role("button", name="删除").click()
            await expect(page.locator("#t-total")).to_have_text("33.60")
            await page.locator("#pay-button").click()
            await page.get_by_role("tab", name="支付宝").click()
            await page.locator("#qr-amount").fill("20")
            await page.get_by_role("button", name="已收款").click()
            await page.get_by_role("tab", name="现金").click()
            await page.locator("#cash-amount").fill("20")
            await page.get_by_role("button", name="收现金").click()
            await expect(page.locator("#change")).to_have_text("6.40")
            await expect(page.locator("#pending")).to_have_text("待上传 3")
            await shots.take(page, "offline-third-sale")
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.locator("#menu-button").click()
            await shots.take(page, "menu-phone")
            await page.locator("input[name=paper][value='58']").check()
            await page.locator("#shift-receipts button", has_text="补打").first.click()
            await page.emulate_media(media="print")
            await shots.take(page, "reprint-58mm-print")
            await page.emulate_media(media="screen")
            await page.set_viewport_size(PC)
            await page.locator("#menu-back").click()

            assert len(server.paths) == reached_before, server.paths[reached_before:]
            assert await sales_of(committed_engine, shop) == {first_number: 1}

            # ---- 3. the server is back at the same address: the queue lands, once each.
            with serve_in_thread(server, name="till server again", port=port):
                await expect(page.locator("#pending")).to_have_text("待上传 0", timeout=20_000)
                await expect(page.locator("#net")).to_have_text("在线")
                numbers = [sale_number(prefix, n) for n in range(1, 5)]
                assert await sales_of(committed_engine, shop) == dict.fromkeys(numbers, 1)
                async with create_sessionmaker(committed_engine)() as session:
                    third = (await session.execute(select(Sale).where(Sale.number == numbers[2]))).scalar_one()
                    assert (third.total_minor, third.made_offline, third.price_differs) == (4845, True, True)
                # Pressing upload again (a retry after a cut-off would) changes nothing.
                await page.locator("#pending").click()
                await asyncio.sleep(0.5)
                assert await sales_of(committed_engine, shop) == dict.fromkeys(numbers, 1)

                # The first receipt's QR opens the sale's public page; its PDF comes from the API.
                public = await till.new_page()
                await public.goto(receipt_qr)
                await expect(public.locator("body")).to_contain_text(first_number)
                await shots.take(public, "public-sale-page")
                await public.close()
                await page.locator("#menu-button").click()
                await page.evaluate(
                    "() => { const made = URL.createObjectURL; window.open = () => null;"
                    " URL.createObjectURL = (blob) => { window.__pdf = blob; return made(blob); }; }"
                )
                await page.locator(f"#shift-receipts button[data-pdf='{first_number}']").click()
                await page.wait_for_function("() => window.__pdf")
                head = await page.evaluate(
                    "async () => new TextDecoder().decode((await window.__pdf.arrayBuffer()).slice(0, 5))"
                )
                assert head == "%PDF-"
                await page.locator("#menu-back").click()

                # Close the shift: the drawer holds the float + cash takings = ¥200 + 63.20 + 82.50 + 13.60.
                await page.locator("#menu-button").click()
                await page.locator("#close-shift").click()
                await expect(page.locator("#c-expected")).to_have_text("359.30")
                for denomination, count in (("10000", 3), ("5000", 1), ("500", 1), ("100", 4), ("10", 3)):
                    await page.locator(f"#d-{denomination}").fill(str(count))
                await page.locator("#d-10").dispatch_event("input")
                await expect(page.locator("#c-variance")).to_have_text("0.00")
                await shots.take(page, "close-count")
                await page.locator("#close-confirm").click()
                await expect(page.locator("#report-title")).to_have_text("Z 报表（交班）")
                await expect(page.locator("#report-body table").first).to_be_visible(timeout=20_000)
                await shots.take(page, "z-report")
                async with create_sessionmaker(committed_engine)() as session:
                    shift = (await session.execute(select(Shift).where(Shift.till_id == shop.till.id))).scalar_one()
                    assert (shift.status, shift.counted_cash_minor, shift.variance_minor) == ("closed", 35930, 0)
                await till.close()
    finally:
        await server_engine.dispose()
    assert len(shots.taken()) >= 10
