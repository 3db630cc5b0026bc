"""In a real browser: a customer buys two tickets (one adult, one child) on a phone, pays online
(the fake Stripe's Alipay page), sees the two ticket QRs on the order page; the meeting station's
operator scans them on the console — a keyboard-wedge scanner types the code and presses Enter —
and the second scan of the same QR is refused. Screens go to ``test-output/events/``."""

from __future__ import annotations

import io
import re
import shutil
import socket
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import httpx
import zxingcpp
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.events import repository
from app.events.checkin import qr_content
from app.kit import clock
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.orders import webhooks
from app.orders.models import Order
from tests.events.builders import WHSEC, make_event, stripe_provider
from tests.fixtures.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, Shots, needs_chromium, signed_in_page
from tests.fixtures.builders import make_user
from tests.fixtures.fake_stripe import FakeStripeServer, signed_webhook
from tests.fixtures.http_server import serve_in_thread

pytestmark = needs_chromium
COPY_TO = Path("/work/shots/events")


async def test_a_customer_buys_two_tickets_and_the_operator_checks_them_in(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path, fake_stripe: FakeStripeServer
) -> None:
    from playwright.async_api import async_playwright, expect

    tag = uuid4().hex[:6]
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        # 10:00 in China three days on: the console is opened an hour before, the same China day whatever
        # the hour the suite runs (a slot at now + 3 days began at 00:25 when CI ran then, and the hour before
        # was the day before).
        starts_at = clock.start_of_day(clock.today() + timedelta(days=3)) + timedelta(hours=10)
        setup = await make_event(session, places=20, starts_at=starts_at)
        setup.event.description = "在枇杷园里跟果农学摘枇杷，中午吃农家饭。"
        operator = await make_user(session, Role.station_operator, username=f"ev-op-{tag}", station_id=setup.station.id)
        admin = await make_user(session, Role.admin, username=f"ev-admin-{tag}")
        await session.commit()
        event_id, operator_name, admin_name = setup.event.id, operator.username, admin.username
        slot_starts = setup.slot.starts_at

    shots = Shots("events")
    provider = stripe_provider(fake_stripe)
    sender = RecordingSender()
    server_engine = create_engine(committed_database_url, null_pool=True)
    port = free_port()
    settings = Settings(
        public_base_url=f"http://127.0.0.1:{port}",  # where Stripe sends the customer back
        app_env=AppEnv.test,
        app_data_dir=tmp_path / "data",
        database_url=committed_database_url,
        stripe_secret_key=fake_stripe.api_key,
        stripe_webhook_secret=WHSEC,
        stripe_api_base=fake_stripe.base_url,
    )
    app = create_app(settings, engine=server_engine, task_sender=sender, payment_provider=provider)
    try:
        with serve_in_thread(app, name="events in a browser", port=port) as base:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                context = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
                shopper = await context.new_page()
                shopper.set_default_timeout(10_000)

                await shopper.goto(f"{base}/events")
                await expect(shopper.get_by_role("heading", name="农旅活动")).to_be_visible()
                await shots(shopper, "events-phone")
                await shopper.goto(f"{base}/events/{event_id}")
                await expect(shopper.get_by_text("还剩 20 个名额").first).to_be_visible()
                await shots(shopper, "event-phone")
                await shopper.get_by_label(re.compile("^成人")).fill("1")
                await shopper.get_by_label(re.compile("^儿童")).fill("1")
                await shopper.get_by_label("联系人姓名").fill("陈女士")
                await shopper.get_by_label("手机号").fill("13800138000")
                await shots(shopper, "checkout-phone")
                await shopper.get_by_role("button", name="提交订单并在线支付").click()
                await shopper.wait_for_url(re.compile(r"/orders/NP\d+/pay\?method=alipay$"))
                number = re.search(r"/orders/(NP\d+)/", shopper.url)
                assert number is not None
                await shots(shopper, "pay-phone")
                await shopper.get_by_role("button", name="去支付").click()
                await shopper.wait_for_url(f"{fake_stripe.base_url}/_fake/authorize/**")
                pi_id = shopper.url.rsplit("/", 1)[-1]
                await shopper.get_by_role("link", name="Authorize payment").click()
                await shopper.wait_for_url(re.compile(rf"/orders/{number.group(1)}\?"))

                # Stripe's webhook, then what the worker does with it.
                body, headers = signed_webhook(
                    fake_stripe.state.event("payment_intent.succeeded", fake_stripe.state.payment_intent(pi_id)),
                    WHSEC,
                )
                async with httpx.AsyncClient(base_url=base) as client:
                    assert (await client.post("/webhooks/stripe", content=body, headers=headers)).status_code == 200
                for outbox_id, name, payload in list(sender.sent):
                    if name == webhooks.PROCESS_TASK:
                        await webhooks.process_event(
                            sessionmaker,
                            provider,
                            outbox_id=outbox_id,
                            webhook_event_id=payload["webhook_event_id"],
                        )

                await shopper.reload()
                await expect(shopper.get_by_role("heading", name="活动门票")).to_be_visible()
                qrs = shopper.locator(".ticket-card svg")
                await expect(qrs).to_have_count(2)
                await expect(shopper.get_by_text("第 2 张 · 儿童票")).to_be_visible()
                await shots(shopper, "order-tickets-phone")

                async with sessionmaker() as session:
                    order = await repository_order(session, number.group(1))
                    tokens = [t.token for t in await repository.tickets_of_order(session, order.id)]
                # What the QR on the screen says is what the console accepts.
                image = Image.open(io.BytesIO(await qrs.first.screenshot()))
                assert [r.text for r in zxingcpp.read_barcodes(image)] == [qr_content(tokens[0])]

                # The slot is three days out: the console works at its time (check-in opens 2 h before).
                with clock.pinned(slot_starts - timedelta(hours=1)):
                    desk = await signed_in_page(browser, base, operator_name, "/station/tickets")
                    await expect(desk.get_by_text("已签到 0 / 2 人")).to_be_visible()  # the slot is today

                    async def wedge(code: str) -> None:
                        """A keyboard-wedge scanner: types into the focused field and presses Enter."""
                        await expect(desk.locator("#t-code")).to_be_focused()
                        await desk.keyboard.type(code)
                        await desk.keyboard.press("Enter")
                        await desk.wait_for_load_state("load")

                    await wedge(qr_content(tokens[0]))
                    await expect(desk.get_by_text("签到成功，请放行")).to_be_visible()
                    await expect(desk.locator(".result-box .pickup-code")).to_have_text("成人票")
                    await shots(desk, "checkin-first")
                    await wedge(qr_content(tokens[0]))
                    await expect(desk.get_by_role("alert")).to_contain_text("已于")
                    await expect(desk.get_by_role("alert")).to_contain_text("签到过，不能重复签到")
                    await shots(desk, "checkin-again-refused")
                    await wedge(qr_content(tokens[1]))
                    await expect(desk.locator(".result-box .pickup-code")).to_have_text("儿童票")
                    await shots(desk, "checkin-second")

                    await shopper.reload()
                    await expect(shopper.get_by_text(re.compile("已签到 \\d\\d:\\d\\d"))).to_have_count(2)
                    await shots(shopper, "order-checked-in-phone")

                    office = await signed_in_page(browser, base, admin_name, f"/admin/events/{event_id}")
                    await expect(office.get_by_text("有效门票 2 张，已签到 2 人")).to_be_visible()
                    await shots(office, "admin-event")
                await browser.close()
    finally:
        await provider.close()
        await server_engine.dispose()
    copy_shots(shots.folder)


def copy_shots(folder: Path) -> None:
    """The screens also go where the lead looks at them."""
    COPY_TO.mkdir(parents=True, exist_ok=True)
    for shot in folder.glob("*.png"):
        shutil.copy(shot, COPY_TO / shot.name)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def repository_order(session: object, number: str) -> Order:
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import AsyncSession

    assert isinstance(session, AsyncSession)
    order = await session.scalar(select(Order).where(Order.number == number))
    assert order is not None
    return order
