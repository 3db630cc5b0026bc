"""Builders for pre-sale tests: a product with a box variant, an open wave on it, stations; and a
customer ordering from it in the browser."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import PriceListKind, Variant
from app.kit import clock
from app.orders import payments
from app.orders.models import Order, PaymentMethod
from app.presales import service
from app.presales.models import Wave
from app.stations.models import Station
from tests.fixtures.builders import ensure_price_list, ensure_warehouse, make_product, make_station, make_variant

if TYPE_CHECKING:
    from playwright.async_api import Page

    from tests.fixtures.browser import Shots


@dataclass(frozen=True)
class Setup:
    wave: Wave
    variant: Variant
    stations: list[Station]


async def make_wave(
    session: AsyncSession,
    *,
    cap: int = 50,
    price_minor: int = 8800,
    pay_at_pickup: bool = True,
    per_phone: int = 2,
    max_per_order: int = 5,
    cutoff_in: timedelta = timedelta(days=3),
    stations: int = 2,
    title: str = "枇杷 A 级 5 公斤装 预售",
) -> Setup:
    """An open wave on its own box variant (shelf life 20 days), and ``stations`` open stations."""
    tag = uuid.uuid4().hex[:6].upper()
    await ensure_price_list(session, "retail", PriceListKind.retail)
    await ensure_warehouse(session)
    # Not "始兴枇杷…": the committed database's shop lists the product to the other browser tests too.
    product = await make_product(session, slug=f"ps-{tag.lower()}", name_zh=f"预售枇杷{tag}", shelf_life_days=20)
    variant = await make_variant(session, product=product, sku=f"PS-{tag}", name_zh="A级 5公斤装")
    made = [
        await make_station(
            session,
            code=f"ST-P{tag}{i}",
            name=f"预售测试村站{tag}{i}",
            latitude=Decimal("24.9"),
            longitude=Decimal("114.1"),
        )
        for i in range(stations)
    ]
    today = clock.today()
    wave = await service.create_wave(
        session,
        service.WaveInput(
            title=title,
            sku=variant.sku,
            price_minor=price_minor,
            cap=cap,
            cutoff_at=clock.now() + cutoff_in,
            harvest_from=today + timedelta(days=5),
            harvest_to=today + timedelta(days=12),
            max_per_order=max_per_order,
            pay_at_pickup=pay_at_pickup,
            pickup_boxes_per_phone=per_phone,
        ),
    )
    wave = await service.open_wave(session, wave.code)
    return Setup(wave, variant, made)


def phone(i: int) -> str:
    return f"+86139{i:08d}"


def order_in(
    setup: Setup, quantity: str = "1", *, station: int = 0, i: int = 0, method: PaymentMethod = PaymentMethod.stripe
) -> service.PresaleOrderIn:
    return service.PresaleOrderIn(
        wave_code=setup.wave.code,
        quantity=Decimal(quantity),
        station_code=setup.stations[station].code,
        contact_name=f"顾客{i}",
        contact_phone=phone(i),
        payment_method=method,
    )


async def pay(session: AsyncSession, order: Order) -> None:
    """Pay an online order in full, by the payment path a Stripe webhook takes."""
    payment = await payments.prepare_online_payment(session, order, method="alipay")
    assert await payments.mark_paid(session, payment, payment.amount_minor)


async def order_from_home_page(
    page: Page,
    base: str,
    setup: Setup,
    shots: Shots,
    *,
    left: int,
    quantity: str,
    contact_name: str,
    contact_phone: str,
    before_ordering: Callable[[], Awaitable[None]] | None = None,
) -> str:
    """A customer in the browser: the wave's card on the home page (countdown, "还剩 ``left`` 份"),
    its page, the "立即预订" form for the first station, the order page (screens of each); the
    order number landed on. ``before_ordering`` runs on the wave page before the form is filled."""
    from playwright.async_api import expect

    await page.goto(f"{base}/")
    card = page.locator(".presale-card", has_text=setup.wave.title)
    await expect(card).to_contain_text(f"还剩 {left} 份")
    await expect(card.locator(".countdown")).to_contain_text("距截单 02:")
    await card.scroll_into_view_if_needed()
    await shots(page, "home-phone")
    await card.locator("a").click()
    await expect(page.get_by_role("heading", name=setup.wave.title)).to_be_visible()
    await expect(page.locator("#presale-left")).to_contain_text(f"还剩 {left} 份")
    if before_ordering is not None:
        await before_ordering()
    await page.locator("#p-qty").select_option(quantity)
    await page.locator("#p-station").select_option(setup.stations[0].code)
    await page.locator("#p-name").fill(contact_name)
    await page.locator("#p-phone").fill(contact_phone)
    await shots(page, "wave-form-phone")
    await page.get_by_role("button", name="立即预订").click()
    await page.wait_for_url("**/orders/NP*")
    await expect(page.get_by_text("【预售】").first).to_be_visible()
    await shots(page, "order-phone")
    return page.url.split("/orders/")[1].split("?")[0]
