"""Claims in a real browser: a customer on a phone files a claim with a large photo from the order
page (shrunk by claims.js before upload); an admin reviews it (partly approved, cash refunded at
the station); the lot page and the supplier's record show the claim rate; the station's month
shows the cash refunded. Screens go to ``test-output/claims/``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.catalog.models import PriceListKind
from app.claims.models import Claim, ClaimPhoto, ClaimStatus
from app.db import create_sessionmaker
from app.kit.quantities import Unit
from app.stations.models import StationCashRefund
from tests.claims.helpers import big_photo, cash_order, claim_in_browser, hand_over_all, route_and_operator
from tests.fixtures.browser import PHONE, Shots, app_in_browser, needs_chromium, signed_in_page
from tests.fixtures.builders import (
    ensure_price_list,
    ensure_warehouse,
    make_category,
    make_product,
    make_station,
    make_supplier,
    make_user,
    make_variant,
    receive,
    set_price,
)
from tests.fixtures.shop import Shop

pytestmark = needs_chromium


async def test_a_customer_files_a_claim_with_a_photo_and_staff_partly_approve_it(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path
) -> None:
    from playwright.async_api import ViewportSize, expect

    tag = uuid4().hex[:6].upper()  # the committed database outlives the test
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await ensure_price_list(session, "retail", PriceListKind.retail)
        await ensure_warehouse(session)
        fruit = await make_category(session, name_zh="鲜果")
        # Its own name: the committed database's shop lists it to the other browser tests too.
        product = await make_product(session, category=fruit, name_zh=f"太平理赔枇杷{tag}", slug=f"pipa-{tag.lower()}")
        variant = await make_variant(session, product=product, unit=Unit.box, sku=f"PIPA-{tag}", name_zh="特级 5斤装")
        await set_price(session, "retail", variant, 6800)
        supplier = await make_supplier(session, grows=[product], name=f"太平镇枇杷合作社 {tag}", code=f"SUP-{tag}")
        await receive(session, variant, "10", supplier=supplier)
        station = await make_station(
            session, code=f"ST-{tag}", name="东湖坪村服务站", latitude=Decimal("24.9"), longitude=Decimal("114.1")
        )
        shop = Shop(variant.sku, variant.sku, station.code, station.code)
        operator = await route_and_operator(session, shop, route_code=f"RT-{tag}")
        customer = await make_user(session, Role.customer, username=f"clm-cust-{tag}")
        admin = await make_user(session, Role.admin, username=f"clm-admin-{tag}")
        order = await cash_order(session, shop, quantity="2", customer=customer)
        await hand_over_all(session, operator, route_code=f"RT-{tag}")
        number = order.number

    shots = Shots("claims")
    data_dir = tmp_path / "data"
    async with app_in_browser(committed_database_url, data_dir) as (base, browser):
        phone = await signed_in_page(browser, base, customer.username, f"/orders/{number}", viewport=PHONE)
        photo = big_photo()
        await claim_in_browser(
            phone,
            base,
            number,
            shots,
            quantity="2",
            reason="开箱有 3 个枇杷发霉、压烂",
            photo=photo,
            shot="order-with-claim-phone",
        )

        async with sessionmaker() as session:
            claim = await session.scalar(select(Claim).where(Claim.order_id == order.id))
            assert claim is not None
            stored = (await session.scalars(select(ClaimPhoto).where(ClaimPhoto.claim_id == claim.id))).all()
        # Shrunk in the browser before upload: the longest side is 1600 px, not the camera's 3000.
        assert [(p.width, p.height) for p in stored] == [(1600, 1067)]
        assert (data_dir / "uploads" / stored[0].path).stat().st_size < len(photo)

        desk = await signed_in_page(browser, base, admin.username, f"/admin/claims/{claim.id}")
        await expect(desk.get_by_role("heading", name=f"理赔 #{claim.id}")).to_be_visible()
        await expect(desk.locator(".claim-thumbs img")).to_have_count(1)
        await shots(desk, "claim-review-desktop")
        await desk.locator(f"#a-{(await _line_id(sessionmaker, claim.id))}").fill("1")
        await desk.get_by_role("button", name="按填写数量部分同意").click()
        await expect(desk.get_by_text("已部分同意理赔")).to_be_visible()
        await shots(desk, "claim-reviewed-desktop")
        await desk.goto(f"{base}/admin/claims?status=all")
        await expect(desk.get_by_role("link", name=f"#{claim.id}")).to_be_visible()
        await shots(desk, "claims-list-desktop")

        await desk.goto(f"{base}/admin/lots?scope=all&sku={variant.sku}")
        await expect(desk.get_by_text("50.0%")).to_be_visible()
        await shots(desk, "lots-claim-rate-desktop")
        await desk.get_by_role("link", name=supplier.name).first.click()
        await expect(desk.get_by_role("heading", name="售后理赔率")).to_be_visible()
        await expect(desk.get_by_text("理赔率 50.0%")).to_be_visible()
        await shots(desk, "supplier-claim-rate-desktop")

        await desk.set_viewport_size(ViewportSize(width=PHONE["width"], height=PHONE["height"]))
        await desk.goto(f"{base}/admin/lots?scope=all&sku={variant.sku}")
        await shots(desk, "lots-claim-rate-phone")

        station_phone = await signed_in_page(browser, base, operator.username, "/station/report", viewport=PHONE)
        await expect(station_phone.get_by_text("理赔现金退款（1 笔）")).to_be_visible()
        await shots(station_phone, "station-month-phone")

        back = await signed_in_page(browser, base, customer.username, f"/orders/{number}", viewport=PHONE)
        await expect(back.locator(".claim-card .status")).to_have_text("部分同意")
        await back.locator("#claims").scroll_into_view_if_needed()
        await shots(back, "order-claim-approved-phone")

    async with sessionmaker() as session:
        done = await session.get(Claim, claim.id)
        assert done is not None and (done.status, done.approved_minor) == (ClaimStatus.partly_approved, 6800)
        cash = await session.scalar(select(StationCashRefund).where(StationCashRefund.claim_id == claim.id))
        assert cash is not None and (cash.amount_minor, cash.station_id) == (6800, station.id)
    assert len(shots.taken()) == 10


async def _line_id(sessionmaker, claim_id: int) -> int:  # type: ignore[no-untyped-def]
    from app.claims.models import ClaimLine

    async with sessionmaker() as session:
        line_id = await session.scalar(select(ClaimLine.id).where(ClaimLine.claim_id == claim_id))
        assert line_id is not None
        return int(line_id)
