"""The Content-Security-Policy in a real browser: the main pages of every audience load without a
single CSP violation, and the scripts, styles, QR image, label frame and payment redirect they rely
on still work under it.

A violation is caught twice: a ``securitypolicyviolation`` listener (Playwright init scripts run
outside the page's CSP) reports to the test, and any console error that mentions the policy or a
refused frame fails the test too. Real all the way down, like the other browser tests: uvicorn
serves ``create_app()`` (with the fake Stripe as its payment provider) on 127.0.0.1 and Debian's
chromium drives it. Screenshots go to ``test-output/csp-browser/``.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.catalog.models import PriceListKind
from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.kit.outbox import RecordingSender
from app.kit.quantities import Unit
from app.main import create_app
from app.orders.stripe_provider import StripeProvider
from tests.fixtures.builders import (
    DEFAULT_PASSWORD,
    ensure_price_list,
    ensure_warehouse,
    make_category,
    make_product,
    make_station,
    make_user,
    make_variant,
    receive,
    set_price,
)
from tests.fixtures.fake_stripe import FakeStripeServer
from tests.web.test_shop_browser import serve

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent.parent / "test-output" / "csp-browser"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WHSEC = "whsec_csp_browser"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed")

# Runs in every document before the page's own scripts, outside its CSP.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolation([location.pathname, e.effectiveDirective, e.blockedURI, e.sample].join(" | "));
});
"""


@dataclass(frozen=True)
class Seeded:
    product_slug: str
    lot_code: str
    admin: str
    operator: str
    station: str


async def seed(engine: AsyncEngine) -> Seeded:
    """Committed: a product with a lot in the warehouse, a station with its operator, an admin."""
    tag = uuid.uuid4().hex[:6]
    async with create_sessionmaker(engine)() as session:
        await ensure_price_list(session, "retail", PriceListKind.retail)
        await ensure_warehouse(session)
        fruit = await make_category(session, slug=f"fruit-csp-{tag}", name_zh="鲜果")
        pomelo = await make_product(
            session,
            category=fruit,
            slug=f"pomelo-csp-{tag}",
            name_zh="沈所蜜柚",
            season_months=list(range(1, 13)),
            shelf_life_days=20,
        )
        box = await make_variant(session, product=pomelo, unit=Unit.box, sku=f"PM-CSP-{tag.upper()}", name_zh="礼盒装")
        await set_price(session, "retail", box, 6800)
        lot = await receive(session, box, "20")
        station = await make_station(session, name="沈所村服务站")  # on no route: grey on the sand table
        admin = await make_user(session, Role.admin, username=f"csp-admin-{tag}")
        operator = await make_user(
            session, Role.station_operator, username=f"csp-op-{tag}", station_id=station.id, display_name="沈站长"
        )
        await session.commit()
    return Seeded(pomelo.slug, lot.code, admin.username, operator.username, station.name)


@pytest.fixture
async def provider(fake_stripe: FakeStripeServer) -> AsyncIterator[StripeProvider]:
    stripe_provider = StripeProvider(fake_stripe.api_key, WHSEC, api_base=fake_stripe.base_url)
    yield stripe_provider
    await stripe_provider.close()


async def test_main_pages_run_under_the_csp_without_a_violation(
    committed_engine: AsyncEngine,
    committed_database_url: str,
    tmp_path: Path,
    fake_stripe: FakeStripeServer,
    provider: StripeProvider,
) -> None:
    from playwright.async_api import ConsoleMessage, Page, async_playwright, expect

    seeded = await seed(committed_engine)
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    violations: list[str] = []
    console_errors: list[str] = []
    visited: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and re.search(r"Content Security Policy|Refused to|X-Frame-Options", message.text):
            console_errors.append(message.text)

    async def visit(page: Page, path: str, name: str) -> None:
        """Open ``path`` (or stay, for "") and screenshot it once it has settled."""
        if path:
            await page.goto(f"{base}{path}")
        await page.wait_for_load_state("networkidle")
        visited.append(page.url.removeprefix(base))
        await page.screenshot(path=str(SHOTS / f"{len(visited):02d}-{name}.png"), full_page=True)

    async def sign_in(page: Page, username: str) -> None:
        await page.goto(f"{base}/login")
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("密码").fill(DEFAULT_PASSWORD)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_load_state("networkidle")

    server_engine = create_engine(committed_database_url, null_pool=True)
    settings = Settings(
        app_env=AppEnv.test,
        app_data_dir=tmp_path,
        database_url=committed_database_url,
        stripe_secret_key=fake_stripe.api_key,
        stripe_webhook_secret=WHSEC,
        stripe_api_base=fake_stripe.base_url,
    )
    app = create_app(settings, engine=server_engine, task_sender=RecordingSender(), payment_provider=provider)
    try:
        with serve(app) as base:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)

                async def new_page(width: int) -> Page:
                    context = await browser.new_context(
                        viewport={"width": width, "height": 860}, locale="zh-CN", timezone_id="Asia/Shanghai"
                    )
                    await context.expose_binding("__cspViolation", lambda _source, text: violations.append(text))
                    await context.add_init_script(REPORT_VIOLATIONS)
                    page = await context.new_page()
                    page.set_default_timeout(10_000)
                    page.on("console", on_console)
                    return page

                # A shopper: home, product, cart, checkout (shop.js shows the location button),
                # online payment with the WeChat Pay QR (a data: image, polled by shop.js), then
                # Alipay, whose form answer redirects off-site to (the fake) Stripe.
                shopper = await new_page(412)
                await visit(shopper, "/", "home")
                await visit(shopper, f"/products/{seeded.product_slug}", "product")
                await shopper.get_by_label("数量（箱）").fill("1")
                await shopper.get_by_role("button", name="加入购物车").click()
                await expect(shopper.get_by_text("购物车中共 1 箱")).to_be_visible()
                await visit(shopper, "/cart", "cart")
                await visit(shopper, "/checkout", "checkout")
                await expect(shopper.get_by_role("button", name="使用我的位置")).to_be_visible()
                # No station is chosen for a first checkout: filter (shop.js) and pick ours.
                await shopper.get_by_label("查找村站").fill(seeded.station)
                await shopper.locator("li[data-search]:visible").get_by_text(seeded.station).first.click()
                await shopper.get_by_label("收货人姓名").fill("李阿姨")
                await shopper.get_by_label("手机号").fill("13800138000")
                await shopper.get_by_role("radio", name="在线支付").check()
                await shopper.get_by_role("radio", name="微信支付").check()
                await shopper.get_by_role("button", name="提交订单").click()
                await shopper.wait_for_url(re.compile(r"/orders/NP\d+/pay\?method=wechat_pay$"))
                await shopper.get_by_role("button", name="去支付").click()
                qr = shopper.get_by_role("img", name="微信支付二维码")
                await expect(qr).to_be_visible()
                assert await qr.evaluate("img => img.naturalWidth") > 0  # the data: image was allowed
                await visit(shopper, "", "pay-wechat")
                await shopper.get_by_role("radio", name="支付宝").check()
                await shopper.get_by_role("button", name="去支付").click()
                await shopper.wait_for_url(f"{fake_stripe.base_url}/_fake/authorize/**")
                await expect(shopper.get_by_role("heading", name=re.compile("Fake Stripe: authorize"))).to_be_visible()
                await visit(shopper, "/orders/lookup", "lookup")
                await visit(shopper, f"/t/{seeded.lot_code}", "trace")
                await expect(shopper.locator(".journey li").first).to_be_visible()
                await visit(shopper, "/no-such-page", "not-found")
                await visit(shopper, "/login", "login")

                # The ops console, including the sand table (inline SVG) and a label PDF framed by
                # our own page, as the station console's print button does.
                admin = await new_page(1280)
                await sign_in(admin, seeded.admin)
                await visit(admin, "/admin", "admin")
                await visit(admin, "/admin/stations", "admin-stations")
                await expect(admin.locator(".sandtable svg circle")).not_to_have_count(0)
                for path, name in [
                    ("/admin/routes", "admin-routes"),
                    ("/admin/stock", "admin-stock"),
                    ("/admin/lots/receive", "admin-receive"),
                    ("/admin/orders", "admin-orders"),
                    ("/admin/crossborder", "admin-crossborder"),
                ]:
                    await visit(admin, path, name)
                framed = await admin.evaluate(
                    """url => new Promise(resolve => {
                        const frame = document.createElement("iframe");
                        frame.addEventListener("load", () => resolve(true));
                        frame.src = url;
                        document.body.appendChild(frame);
                        setTimeout(() => resolve(false), 5000);
                    })""",
                    f"/api/v1/admin/lots/{seeded.lot_code}/label.pdf",
                )
                assert framed

                # A station operator's console and the upstream page (stock.js and station.js).
                operator = await new_page(1280)
                await sign_in(operator, seeded.operator)
                await expect(operator.get_by_role("heading", level=1)).to_contain_text(seeded.station)
                await visit(operator, "", "station")
                await visit(operator, "/station/handover", "station-handover")
                await visit(operator, "/station/upstream", "station-upstream")
                await browser.close()
    finally:
        await server_engine.dispose()

    assert not violations and not console_errors, "\n".join(violations + console_errors)
    assert len(visited) == 19
