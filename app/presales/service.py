"""Harvest pre-sale waves (预售): the centre opens a wave for a product before its harvest — price
per box, a quantity cap, an order cut-off, the expected harvest window — and customers order
against it while no stock exists yet.

Choices and invariants:

* **The cap is the wave's capacity** (``app.orders.capacity``, kind ``presale_wave``): an order
  takes its boxes by one conditional ``UPDATE … WHERE used + q <= cap`` in its own unit of work,
  so concurrent orders never take more than the cap (409 ``capacity_exhausted`` when full). A
  pre-sale order holds no stock (``reservation_reference`` is NULL) until allocation gives it some
  (``app.presales.allocation``); it is never in the cart with goods from stock — it has its own
  "立即预订" form and ``POST /api/v1/presales/{code}/orders``.
* **Cut-off**: an order at or after ``cutoff_at`` (China business time from ``app.kit.clock``)
  is refused, 409 ``presale_closed``; allocation is refused before it (409 ``presale_not_closed``)
  so no order can arrive after the harvest was shared out.
* **Countable units only**: a wave's variant is sold by the piece or the box (422
  ``presale_unit_not_countable`` for kg / 斤): orders, allocation and refunds count whole units.
* **Station pickup only**: the boxes go out in per-station batches on the route runs, so every
  pre-sale order names its village station (routed as checkout routes).
* **Payment**: online (Stripe, the order waits in ``pending_payment`` for the shop's hold time and
  gives its boxes back if unpaid), or — only where the centre allows it for the wave — pay at
  pickup, limited per phone number to ``pickup_boxes_per_phone`` boxes per wave. The limit is a
  per-(wave, phone) counter raised by one conditional upsert, so concurrent orders from one number
  cannot pass it. Boxes of a pay-at-pickup order cancelled before allocation are not given back to
  the phone's allowance (the limit is on what a number may book, not on what it keeps).
* **The wave row is share-locked by every order placed** (``repository.wave_for_share``):
  cancelling or allocating a wave updates that row, so it waits for orders in flight and then
  sees them all — no order slips past either.
* **Editing a wave** locks its row FOR UPDATE first and re-checks its status (draft/open only,
  else 409), then moves the cap (never below what is taken).
* **A closed wave stays closed**: once allocated or cancelled its capacity's cap is what is held,
  and places given back later (an allocated order cancelled, a partial fill shrinking its hold to
  the boxes filled) lower the cap with ``used`` (``app.orders.capacity_queries.give_back``), so a
  late payment can never retake a place on it.
* **Cancelling a wave** (weather, failed harvest) is a compare-and-set on its status (draft/open →
  cancelled): a second click, concurrent or later, gets 409 and does nothing; each order's
  outcome moves from ``waiting`` once, and only then is the order cancelled (places released, a
  paid order refunded in full by the order service, the customer told).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog_repository
from app.catalog.errors import QuantityNotPositive
from app.catalog.models import PriceListKind
from app.catalog.pricing import PricedLine, PriceRule, order_line_name
from app.channels import SalesChannel
from app.kit import clock
from app.kit.quantities import Unit
from app.orders import capacity
from app.orders import errors as order_errors
from app.orders import service as order_service
from app.orders.models import DeliveryMethod, Order, OrderStatus, PaymentMethod
from app.orders.notices import send_order_notice
from app.presales import errors, repository
from app.presales.models import Outcome, Wave, WaveOrder, WaveStatus
from app.stations import routing
from app.supply import service as supply_service

CAPACITY_KIND = "presale_wave"
PRICE_RULE = PriceRule("presale", PriceListKind.retail, None)


@dataclass(frozen=True)
class WaveInput:
    title: str
    sku: str
    price_minor: int
    cap: int
    cutoff_at: datetime
    harvest_from: date
    harvest_to: date
    description: str = ""
    max_per_order: int = 5
    pay_at_pickup: bool = False
    pickup_boxes_per_phone: int = 2


def _check(data: WaveInput) -> None:
    if not data.title.strip():
        raise errors.WaveInvalid("请填写预售名称")
    if data.price_minor <= 0:
        raise errors.WaveInvalid("每份价格必须大于 0")
    if data.cap <= 0:
        raise errors.WaveInvalid("预售总量必须大于 0")
    if data.harvest_from > data.harvest_to:
        raise errors.WaveInvalid("预计采收开始日期不能晚于结束日期")
    if data.max_per_order <= 0 or data.pickup_boxes_per_phone <= 0:
        raise errors.WaveInvalid("每单上限和每个手机号的到站付款上限都必须大于 0")
    if data.cutoff_at.tzinfo is None:
        raise errors.WaveInvalid("截单时间须带时区")


def new_wave_code(today: date) -> str:
    return f"PS{today:%y%m%d}{secrets.randbelow(10**4):04d}"


async def create_wave(session: AsyncSession, data: WaveInput) -> Wave:
    """A new wave in ``draft`` with its capacity (nothing is shown in the shop until it is opened)."""
    _check(data)
    variant = await catalog_repository.variant_by_sku(session, data.sku)
    if variant is None:
        raise errors.WaveInvalid("找不到该商品规格", detail={"sku": data.sku})
    if Unit(variant.unit).is_weight:
        # Allocation hands out, prices and refunds whole units (``allocation._whole``).
        raise errors.WaveUnitNotCountable(detail={"sku": data.sku, "unit": Unit(variant.unit).value})
    code = new_wave_code(clock.today())
    while await repository.code_taken(session, code):
        code = new_wave_code(clock.today())
    wave_capacity = await capacity.open_capacity(session, kind=CAPACITY_KIND, label=data.title, cap=Decimal(data.cap))
    wave = Wave(code=code, variant_id=variant.id, capacity_id=wave_capacity.id, status=WaveStatus.draft)
    _apply(wave, data)
    session.add(wave)
    await session.flush()
    return wave


def _apply(wave: Wave, data: WaveInput) -> None:
    wave.title = data.title.strip()[:100]
    wave.description = data.description.strip()[:2000]
    wave.price_minor = data.price_minor
    wave.cutoff_at = data.cutoff_at
    wave.harvest_from = data.harvest_from
    wave.harvest_to = data.harvest_to
    wave.max_per_order = data.max_per_order
    wave.pay_at_pickup = data.pay_at_pickup
    wave.pickup_boxes_per_phone = data.pickup_boxes_per_phone


async def edit_wave(session: AsyncSession, code: str, data: WaveInput) -> Wave:
    """Change a draft or open wave. Its product stays; its price applies to orders placed from now
    on (an order keeps the price it was placed at); its cap may not go below what is ordered."""
    _check(data)
    # The wave row first (FOR UPDATE, then its capacity), as ``place`` does (share lock, then the
    # capacity): no lock-order deadlock; and the status is re-read under the lock, so an edit that
    # raced a cancellation or an allocation cannot lift the cap of the closed capacity again.
    wave = await repository.wave_for_update(session, code)
    if wave is None:
        raise errors.WaveNotFound(detail={"wave": code})
    if wave.status not in (WaveStatus.draft, WaveStatus.open):
        raise errors.WaveNotOpen("已分配或已取消的预售不能修改")
    if not await repository.set_cap(session, wave.capacity_id, Decimal(data.cap)):
        raise errors.WaveInvalid("预售总量不能少于已被预订的数量")
    _apply(wave, data)
    await session.flush()
    return wave


async def open_wave(session: AsyncSession, code: str) -> Wave:
    wave = await wave_or_404(session, code)
    if not await repository.move_status(session, wave.id, expected=[WaveStatus.draft], to=WaveStatus.open):
        raise errors.WaveStateConflict("只有草稿状态的预售可以开放预订")
    await session.refresh(wave)
    return wave


async def wave_or_404(session: AsyncSession, code: str) -> Wave:
    wave = await repository.wave_by_code(session, code)
    if wave is None:
        raise errors.WaveNotFound(detail={"wave": code})
    return wave


async def shown_wave(session: AsyncSession, code: str) -> repository.WaveRow:
    """A wave as the shop shows it: any but a draft (an allocated or cancelled one says so)."""
    row = await repository.wave_row(session, code)
    if row is None or row.wave.status is WaveStatus.draft:
        raise errors.WaveNotFound(detail={"wave": code})
    return row


async def open_waves(session: AsyncSession, *, product_slug: str | None = None) -> list[repository.WaveRow]:
    """Waves taking orders now (open, before their cut-off), soonest cut-off first; of one product
    when ``product_slug`` is given."""
    return await repository.wave_rows(
        session, statuses=[WaveStatus.open], cutoff_after=clock.now(), product_slug=product_slug
    )


def taking_orders(wave: Wave, now: datetime | None = None) -> bool:
    return wave.status is WaveStatus.open and (now or clock.now()) < wave.cutoff_at


@dataclass(frozen=True)
class PresaleOrderIn:
    wave_code: str
    quantity: Decimal
    station_code: str
    contact_name: str
    contact_phone: str  # normalised by the schema
    payment_method: PaymentMethod
    customer_user_id: int | None = None
    note: str = ""


async def place(
    session: AsyncSession,
    data: PresaleOrderIn,
    *,
    stripe_enabled: bool,
    answer: Callable[[Order], Awaitable[None]] | None = None,
) -> Order:
    """Place an order against a wave: its boxes are taken from the wave's capacity (never over the
    cap), written with the order in one unit of work. ``answer``: the caller's writes of its answer."""
    wave = await repository.wave_for_share(session, data.wave_code)
    if wave is None or wave.status is WaveStatus.draft:
        raise errors.WaveNotFound(detail={"wave": data.wave_code})
    if wave.status is not WaveStatus.open:
        raise errors.WaveNotOpen(detail={"status": wave.status.value})
    if clock.now() >= wave.cutoff_at:
        raise errors.WaveClosed(detail={"cutoff_at": wave.cutoff_at.isoformat()})
    quantity = data.quantity
    if quantity <= 0:
        raise QuantityNotPositive("预订数量须为正整数份")
    if quantity != quantity.to_integral_value():
        raise errors.WaveInvalid("预订数量须为整数份", detail={"quantity": str(quantity)})
    if quantity > wave.max_per_order:
        raise errors.TooManyBoxes(detail={"max_per_order": wave.max_per_order})
    if data.payment_method is PaymentMethod.pay_at_pickup:
        if not wave.pay_at_pickup:
            raise errors.PayAtPickupNotAllowed()
        limit = wave.pickup_boxes_per_phone
        if not await repository.take_allowance(session, wave.id, data.contact_phone, int(quantity), limit):
            left = limit - await repository.allowance(session, wave.id, data.contact_phone)
            raise errors.PhoneLimitReached(detail={"limit": limit, "left": max(left, 0)})
    elif data.payment_method is PaymentMethod.stripe:
        if not stripe_enabled:
            raise order_errors.PaymentProviderUnavailable()
    else:
        raise order_errors.PaymentNotAllowed("预售订单只支持在线支付或到站付款")
    routed = await routing.route(session, chosen_code=data.station_code)
    if routed is None:
        raise order_errors.StationUnavailable()
    sku = (await catalog_repository.skus_by_ids(session, [wave.variant_id]))[wave.variant_id]
    variant = (await catalog_repository.active_variants_with_products(session, [sku])).get(sku)
    if variant is None:
        raise errors.WaveNotOpen("该预售商品已下架")
    line = PricedLine(
        variant_id=variant.id,
        sku=variant.sku,
        quantity=quantity,
        unit=Unit(variant.unit),
        unit_price_minor=wave.price_minor,
        line_total_minor=wave.price_minor * int(quantity),
        currency="CNY",
        rule=PRICE_RULE,
        min_quantity=Decimal(1),
        increment=Decimal(1),
        name_zh=f"【预售】{order_line_name(variant)}"[:200],
    )
    online = data.payment_method is PaymentMethod.stripe
    now = clock.now()

    async def before_hold(order: Order) -> None:
        session.add(
            WaveOrder(
                wave_id=wave.id,
                order_id=order.id,
                station_id=routed.station.id,
                phone=data.contact_phone,
                quantity=quantity,
                placed_at=now,
            )
        )
        await session.flush()
        await send_order_notice(session, order, "order_placed")  # an online order is told once paid
        if answer is not None:
            await answer(order)

    return await order_service.create_order(
        session,
        order_service.NewOrder(
            channel=SalesChannel.shop,
            lines=[line],
            location_id=await supply_service.warehouse_id(session),
            contact_name=data.contact_name,
            contact_phone=data.contact_phone,
            payment_method=data.payment_method,
            delivery_method=DeliveryMethod.station_pickup,
            awaiting_payment=online,
            customer_user_id=data.customer_user_id,
            station_id=routed.station.id,
            station=routed.station,
            station_reason=routed.reason,
            capacity_lines={0: wave.capacity_id},
            note=data.note,
            placed_message_zh=f"预售订单已提交（{wave.title}）" + ("，等待在线支付" if online else "，到站付款"),
            event_detail={"presale_wave": wave.code, "station_reason": routed.reason},
        ),
        before_hold=before_hold,
    )


async def cancel_wave(session: AsyncSession, code: str, *, reason: str, actor_user_id: int | None) -> int:
    """Cancel a draft or open wave and every order on it, each exactly once: a paid order is
    refunded in full, a pay-at-pickup one released; the customers are told. Returns how many
    orders were cancelled by this call."""
    reason = reason.strip()[:200] or "预售取消"
    wave = await wave_or_404(session, code)
    now = clock.now()
    if not await repository.move_status(
        session,
        wave.id,
        expected=[WaveStatus.draft, WaveStatus.open],
        to=WaveStatus.cancelled,
        cancelled_at=now,
        cancel_reason=reason,
    ):
        raise errors.WaveStateConflict("该预售已取消或已分配，不能再取消")
    cancelled = 0
    for wave_order, order in await repository.orders_of_wave(session, wave.id, for_update=True):
        if not await repository.settle(
            session, wave_order.id, outcome=Outcome.released, filled=Decimal(0), refund_minor=0, now=now
        ):
            continue
        if order.status in (OrderStatus.cancelled, OrderStatus.expired):
            continue  # gave its boxes back already
        refund = order.paid_minor - order.refunded_minor
        await order_service.cancel(session, order, reason=f"预售取消：{reason}", actor_user_id=actor_user_id)
        await repository.set_refund(session, wave_order.id, refund)
        await send_order_notice(session, order, "order_cancelled")
        cancelled += 1
    await capacity.close(session, wave.capacity_id)
    await session.refresh(wave)
    return cancelled
