"""Daily work without the API, in a real browser: an admin creates a station operator (password
generated and shown once), disables and re-enables it, enrols a PDA for its station with the
one-time code / QR (the QR is read back from the screenshot and redeemed as a PDA would), revokes
it; the operator signs in on a phone and sees its devices; the warehouse packs a route's run,
fetches its labels and manifest and dispatches it.

Real all the way down: uvicorn serves ``create_app()`` over HTTP on 127.0.0.1 bound to the
committed test database; Debian's chromium is driven by Playwright. Every step is screenshotted into
``test-output/ops-browser/`` (gitignored) to be looked at.
"""

from __future__ import annotations

import io
import re
import shutil
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role, User
from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.orders.models import FulfilmentStatus, Order
from tests.fixtures.builders import (
    DEFAULT_PASSWORD,
    make_route,
    make_station,
    make_user,
    pickup_order,
    sellable_box,
)
from tests.web.test_shop_browser import serve
from tests.web.test_station_browser import CHROMIUM, PC, PHONE

SHOTS = Path(__file__).resolve().parent.parent.parent / "test-output" / "ops-browser"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium (/usr/bin/chromium) is not installed")


@dataclass(frozen=True)
class Seeded:
    admin: str
    keeper: str
    station_code: str
    station_name: str
    route_code: str
    orders: tuple[str, ...]


async def seed(engine: AsyncEngine) -> Seeded:
    """Committed: stock and prices, a station with no operator on its own route, two pickup orders
    for it waiting for a run, an admin and a warehouse user."""
    tag = uuid.uuid4().hex[:6].upper()
    async with create_sessionmaker(engine)() as session:
        box = await sellable_box(
            session, sku=f"PR-OPS-{tag}", slug=f"pear-ops-{tag.lower()}", stock="10", name_zh="马市沙梨（运营测试）"
        )
        station = await make_station(
            session,
            code=f"ST-O{tag}",
            name="红梨村服务站",
            township="马市镇",
            village="红梨村",
            latitude=Decimal("25.050000"),
            longitude=Decimal("114.200000"),
        )
        route = await make_route(session, station, code=f"RT-O{tag}", name="马市线")
        orders = [(await pickup_order(session, box, station, name=name)).number for name in ("李阿姨", "陈伯")]
        admin = await make_user(session, Role.admin, username=f"admin-{tag.lower()}", display_name="中心管理员")
        keeper = await make_user(session, Role.warehouse, username=f"wh-{tag.lower()}", display_name="仓库小刘")
        seeded = Seeded(admin.username, keeper.username, station.code, station.name, route.code, tuple(orders))
        await session.commit()
    return seeded


async def test_users_devices_and_the_run_board_in_a_real_browser(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import Dialog, Page, async_playwright, expect

    seeded = await seed(committed_engine)
    operator_name = f"hl-{uuid.uuid4().hex[:6]}"
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    step = 0

    async def shot(page: Page, name: str) -> bytes:
        nonlocal step
        step += 1
        return await page.screenshot(path=str(SHOTS / f"{step:02d}-{name}.png"), full_page=True)

    async def accept(dialog: Dialog) -> None:
        await dialog.accept()

    async def sign_in(page: Page, base: str, username: str, password: str) -> None:
        await page.goto(f"{base}/login")
        await page.get_by_label("用户名").fill(username)
        await page.get_by_label("密码").fill(password)
        await page.get_by_role("button", name="登录").click()
        await page.wait_for_load_state()

    server_engine = create_engine(committed_database_url, null_pool=True)
    settings = Settings(app_env=AppEnv.test, app_data_dir=tmp_path, database_url=committed_database_url)
    app = create_app(settings, engine=server_engine, task_sender=RecordingSender())
    try:
        with serve(app) as base:
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
                desk = await browser.new_context(viewport=PC, locale="zh-CN", timezone_id="Asia/Shanghai")
                page = await desk.new_page()
                page.set_default_timeout(10_000)
                page.on("dialog", accept)

                # 1. The admin's user list says which stations have no operator yet.
                await sign_in(page, base, seeded.admin, DEFAULT_PASSWORD)
                await page.goto(f"{base}/admin/users")
                await expect(page.get_by_text("个村站还没有启用的站长账号")).to_be_visible()
                await shot(page, "users")

                # 2. A new operator for 红梨村: no password typed, so one is generated and shown once.
                await page.get_by_text("新建用户", exact=True).click()
                form = page.locator("form.user-form")
                await form.get_by_label("用户名").fill(operator_name)
                await form.get_by_label("角色").select_option("station_operator")
                await expect(form.get_by_label("村站（站长必填）")).to_be_visible()
                await expect(form.get_by_label("门店（店员必填）")).to_be_hidden()
                await form.get_by_label("姓名").fill("邓站长")
                await form.get_by_label("手机").fill("13800138001")
                station_option = form.locator(f"#u-station option:has-text('{seeded.station_code}')")
                await form.get_by_label("村站（站长必填）").select_option(await station_option.get_attribute("value"))
                await shot(page, "new-operator-form")
                await page.get_by_role("button", name="创建用户").click()
                password_box = page.locator("#one-time-password")
                await expect(password_box).to_be_visible()
                password = (await password_box.inner_text()).strip()
                assert len(password) == 12
                await expect(page.get_by_text(f"已创建 村站站长 账号 {operator_name}")).to_be_visible()
                await shot(page, "operator-created")
                user_url = page.url

                # 3. Disable (confirmed) and re-enable.
                await page.get_by_role("button", name="停用账号").click()
                await expect(page.get_by_text(f"{operator_name} 已停用")).to_be_visible()
                await shot(page, "operator-disabled")
                await page.get_by_role("button", name="恢复启用").click()
                await expect(page.get_by_text(f"{operator_name} 已恢复启用")).to_be_visible()
                assert "one-time-password" not in await page.content()  # the password is not shown again

                # 4. Enrol a PDA for the station: code and QR; the QR read off the screen is redeemed.
                await page.goto(f"{base}/admin/stations/{seeded.station_code}/devices")
                await page.get_by_role("button", name="生成登记码").click()
                code = (await page.locator("#enrol-code").inner_text()).strip()
                assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", code), code
                png = await shot(page, "enrolment-code")
                qr = zxingcpp.read_barcode(Image.open(io.BytesIO(png)))
                assert qr is not None and qr.text.endswith(f"/api/v1/devices/enrol?code={code.replace('-', '')}")
                async with httpx.AsyncClient(base_url=base) as pda:
                    enrolled = await pda.post("/api/v1/devices/enrol", json={"code": qr.text, "label": "红梨村 PDA-1"})
                    assert enrolled.status_code == 201, enrolled.text
                    device = {"Authorization": f"Bearer {enrolled.json()['access_token']}"}
                    assert (await pda.get("/api/v1/pda/shelf", headers=device)).status_code == 200
                    await page.reload()
                    await expect(page.get_by_role("rowheader", name=re.compile("红梨村 PDA-1"))).to_be_visible()
                    await shot(page, "device-listed")
                    await page.get_by_role("button", name=re.compile("吊销")).click()
                    await expect(page.get_by_text("设备 红梨村 PDA-1 已吊销")).to_be_visible()
                    await shot(page, "device-revoked")
                    assert (await pda.get("/api/v1/pda/shelf", headers=device)).status_code == 401

                # 5. The operator signs in on a phone with the generated password: its station's devices.
                phone = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
                mobile = await phone.new_page()
                mobile.set_default_timeout(10_000)
                await sign_in(mobile, base, operator_name, password)
                await mobile.goto(f"{base}/station/devices")
                await expect(mobile.get_by_role("heading", name=re.compile("PDA 设备"))).to_be_visible()
                await mobile.get_by_role("button", name="生成登记码").click()
                await expect(mobile.locator("#enrol-code")).to_be_visible()
                await shot(mobile, "operator-phone-devices")
                await phone.close()

                # 6. The warehouse's run board: pack, print links, dispatch.
                await page.goto(user_url)
                await page.get_by_role("button", name="退出").click()
                await sign_in(page, base, seeded.keeper, DEFAULT_PASSWORD)
                await page.goto(f"{base}/admin/runs")
                route = page.locator(f"#route-{seeded.route_code}")
                await expect(route.get_by_text("待发 2 单")).to_be_visible()
                await shot(page, "run-board")
                await route.get_by_role("button", name=re.compile("打包 2 单")).click()
                await expect(page.get_by_text("已打包 2 件包裹到批次")).to_be_visible()
                await shot(page, "run-packed")
                labels = route.get_by_role("link", name=re.compile("打印包裹面单"))
                manifest = route.get_by_role("link", name="打印发车清单")
                for link, name in ((labels, "labels"), (manifest, "manifest")):
                    url = await link.get_attribute("data-print-pdf")
                    assert url is not None and url == await link.get_attribute("href")
                    pdf = await page.request.get(f"{base}{url}")
                    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
                    (SHOTS / f"{name}.pdf").write_bytes(await pdf.body())
                await route.get_by_role("button", name="发车").click()
                await expect(page.get_by_text(re.compile(r"已发车：2 件包裹送往 1 个村站"))).to_be_visible()
                await shot(page, "run-dispatched")

                narrow = await browser.new_context(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
                await narrow.add_cookies(await desk.cookies())
                small = await narrow.new_page()
                await small.goto(f"{base}/admin/runs")
                await shot(small, "run-board-phone")
                await narrow.close()
                await browser.close()
    finally:
        await server_engine.dispose()

    async with create_sessionmaker(committed_engine)() as session:
        user = await session.scalar(select(User).where(User.username == operator_name))
        assert user is not None and user.is_active and user.phone == "+8613800138001"
        orders = (await session.scalars(select(Order).where(Order.number.in_(seeded.orders)))).all()
        assert {o.fulfilment_status for o in orders} == {FulfilmentStatus.dispatched}
