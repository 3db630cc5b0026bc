"""Orders that really went through the station: placed, packed, dispatched, scanned in and handed
over against the pickup code (cash collected for a pay-at-pickup order) — so the claim window
starts from the real handover event and the lots from the real sale rows."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import httpx
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role, User
from app.catalog.pricing import LineRequest
from app.kit import clock
from app.orders.models import DeliveryMethod, Order, PaymentMethod
from app.shop.checkout import PlaceOrder, place_order
from app.stations import parcels
from app.stations.models import DeliveryRoute, Parcel, RouteStop, Station
from tests.fixtures.browser import PHONE as PHONE_VIEWPORT
from tests.fixtures.builders import make_user
from tests.fixtures.shop import Shop

if TYPE_CHECKING:
    from playwright.async_api import Page

    from tests.fixtures.browser import Shots

ROUTE = "RT-CLM"
PHONE = "13800138000"
PHONE_WIDTH = PHONE_VIEWPORT["width"]


async def route_and_operator(session: AsyncSession, shop: Shop, *, route_code: str = ROUTE) -> User:
    """A route through the shop's station and that station's operator."""
    station = await session.scalar(select(Station).where(Station.code == shop.station_code))
    assert station is not None
    route = DeliveryRoute(code=route_code, name="理赔测试线")
    session.add(route)
    await session.flush()
    session.add(RouteStop(route_id=route.id, station_id=station.id, position=1))
    await session.flush()
    return await make_user(session, Role.station_operator, station_id=station.id)


async def cash_order(
    session: AsyncSession, shop: Shop, *, quantity: str = "2", customer: User | None = None, taro: str | None = None
) -> Order:
    """A pay-at-pickup order of ``quantity`` boxes (¥68.00 each), not yet handed over."""
    lines = [LineRequest(shop.box_sku, quantity)]
    if taro:
        lines.append(LineRequest(shop.taro_sku, taro))
    return await place_order(
        session,
        PlaceOrder(
            lines=lines,
            delivery_method=DeliveryMethod.station_pickup,
            contact_name="李阿姨",
            contact_phone="+86" + PHONE,
            payment_method=PaymentMethod.pay_at_pickup,
            station_code=shop.station_code,
            customer_user_id=customer.id if customer else None,
        ),
        stripe_enabled=False,
    )


async def hand_over_all(session: AsyncSession, operator: User, *, route_code: str = ROUTE) -> list[str]:
    """Pack, dispatch, scan in and hand over every confirmed order of the route (cash collected
    where it is owed); the order numbers handed over."""
    run = await parcels.plan_run(session, route_code=route_code, run_date=clock.today(), actor_user_id=None)
    await parcels.dispatch_run(session, run.number, actor_user_id=None)
    done = []
    for parcel in (await session.scalars(select(Parcel).where(Parcel.run_id == run.id).order_by(Parcel.id))).all():
        assert operator.station_id is not None
        await parcels.scan_in(
            session, station_id=operator.station_id, tracking_number=parcel.tracking_number, actor_user_id=None
        )
        fresh = await session.scalar(
            select(Parcel).where(Parcel.id == parcel.id).execution_options(populate_existing=True)
        )
        assert fresh is not None
        code = parcels.customer_pickup_code(fresh)
        handed = await parcels.hand_over(
            session,
            station_id=operator.station_id,
            tracking_number=parcel.tracking_number,
            pickup_code=code,
            collect_method="cash",
            actor_user_id=operator.id,
        )
        assert handed.error is None
        order = await session.get(Order, parcel.order_id)
        assert order is not None
        done.append(order.number)
    await session.commit()
    return done


def jpeg(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (180, 90, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=80)
    return out.getvalue()


def big_photo() -> bytes:
    """A 3000 × 2000 camera-sized JPEG (noise compresses badly: a few MB, like a phone's); the
    browser tests check that claims.js shrinks it to a longest side of 1600 px before upload."""
    out = io.BytesIO()
    Image.effect_noise((3000, 2000), 60).convert("RGB").save(out, "JPEG", quality=92)
    return out.getvalue()


def lines_json(*pairs: tuple[str, str]) -> str:
    return json.dumps([{"sku": sku, "quantity": quantity} for sku, quantity in pairs])


async def file_claim(
    client: httpx.AsyncClient,
    number: str,
    *,
    lines: str,
    photos: list[tuple[str, bytes, str]] | None = None,
    reason: str = "开箱有 3 个枇杷发霉",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    files = [("photos", photo) for photo in (photos if photos is not None else [("a.jpg", jpeg(), "image/jpeg")])]
    return await client.post(
        f"/api/v1/orders/{number}/claims",
        data={"lines": lines, "reason": reason},
        files=files or None,
        headers=headers if headers is not None else {"X-Order-Phone": PHONE},
    )


async def count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def claim_in_browser(
    page: Page, base: str, number: str, shots: Shots, *, quantity: str, reason: str, photo: bytes, shot: str
) -> None:
    """A customer on the order page (collected: its 售后理赔 section offers 申请理赔) claims
    ``quantity`` of the first line with ``reason`` and one ``photo``; screens of the form and of
    the order page after (``shot``), which shows the claim waiting for review, with no sideways
    scrolling on a phone."""
    from playwright.async_api import FilePayload, expect

    await expect(page.get_by_role("heading", name="售后理赔")).to_be_visible()
    await page.get_by_role("link", name="申请理赔").click()
    await page.wait_for_url(f"{base}/orders/{number}/claims/new")
    await page.locator("#q-1").fill(quantity)
    await page.get_by_label("问题描述").fill(reason)
    await page.locator("#c-photos").set_input_files(
        files=[FilePayload(name="IMG_2041.jpg", mimeType="image/jpeg", buffer=photo)]
    )
    await expect(page.locator("#c-photos-status")).to_contain_text("已选 1 张照片")
    await expect(page.locator("#c-previews img")).to_have_count(1)
    await shots(page, "claim-form-phone")
    await page.get_by_role("button", name="提交理赔申请").click()
    await page.wait_for_url(f"{base}/orders/{number}?done=claim_filed#claims")
    await expect(page.get_by_text("理赔申请已提交")).to_be_visible()
    await expect(page.locator(".claim-card .status")).to_have_text("待审核")
    await expect(page.locator(".claim-thumbs img").first).to_be_visible()
    await page.locator("#claims").scroll_into_view_if_needed()
    await shots(page, shot)
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH
