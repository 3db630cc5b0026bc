"""Allocating a wave's harvest to its orders, once, after the cut-off.

The centre receives the harvest as ordinary lots of the wave's variant (``app.supply``: receipt
ledger rows, FEFO best-before), then runs allocation:

* The wave moves ``open → allocated`` by compare-and-set first: a second run, concurrent (it waits
  for the first to commit) or later, gets 409 ``presale_wave_state_conflict`` and moves nothing —
  so every order is filled, shortened, refunded or cancelled exactly once. Each order's own
  ``outcome`` is a second compare-and-set from ``waiting``.
* Orders are served **in order of placement** from what the received lots make available to the
  shop (``supply_service.available_to_sell``): each gets its boxes in full while they last, the
  one at the edge a partial fill, the rest nothing.
* **Only whole boxes are handed out**: what is available is floored to whole units before any
  hold (``_whole``), so a lot received as 2.5 boxes fills 2 — the reservation, the order's line,
  its price, its refund and the customer's notice all count the same 2. A wave is only created on
  a countable unit (piece/box; ``service.create_wave`` refuses weighed units), so flooring never
  drops a sellable amount of a weighed product.
* A filled (or partly filled) order is given real stock: a reservation under ``order:{number}``
  taken FEFO by the one reservation path (``order_service.hold_stock``, ledger rows), named on
  the order (``reservation_reference``), held without a deadline. From then on the order flows as
  any pickup order: a paid (online) order's held stock is sold at once (``payments.sell_held_stock``);
  a pay-at-pickup one is sold at the station's handover (``payments.collect_at_pickup``). The
  order becomes waiting for a run (``stations.parcel_queries.awaiting_dispatch`` waits for a
  reservation), so its station's route run packs it: the wave's per-station batches.
* A partial fill shortens the order's line and total (an ``presale_partial`` event) and refunds
  the unfilled boxes of a paid order (one ``request_refund``); a pay-at-pickup order just owes less.
* Not filled at all: the order is cancelled (its places released, a paid order refunded in full).
* Still unpaid online orders at allocation are cancelled (a payment arriving later is refunded by
  the payment path: the order is cancelled).
* Every customer is told (``presale_allocated`` or ``order_cancelled`` through the outbox).
* The wave's capacity is then closed (cap = what is held): money arriving late for an order that
  had expired finds no place to take again and is refunded by the payment path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import SalesChannel
from app.kit import clock
from app.kit.quantities import format_quantity
from app.orders import capacity, payments, states
from app.orders import repository as order_repository
from app.orders import service as order_service
from app.orders.models import Order, OrderStatus, PaymentMethod
from app.orders.notices import send_order_notice
from app.presales import errors, repository
from app.presales.models import Outcome, Wave, WaveOrder, WaveStatus
from app.presales.service import wave_or_404
from app.supply import service as supply_service
from app.supply.errors import InsufficientStock


@dataclass
class Allocation:
    """What one allocation run did, for the admin page and the tests."""

    available: Decimal
    filled: list[str] = field(default_factory=list)  # order numbers filled in full
    partial: list[str] = field(default_factory=list)
    unfilled: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)  # cancelled / expired / unpaid: nothing to give
    boxes: Decimal = Decimal(0)
    refund_minor: int = 0


async def allocate(session: AsyncSession, code: str, *, actor_user_id: int | None) -> Allocation:
    wave = await wave_or_404(session, code)
    now = clock.now()
    if wave.status is WaveStatus.open and now < wave.cutoff_at:
        raise errors.WaveNotClosed(detail={"cutoff_at": wave.cutoff_at.isoformat()})
    if not await repository.move_status(
        session, wave.id, expected=[WaveStatus.open], to=WaveStatus.allocated, allocated_at=now
    ):
        raise errors.WaveStateConflict("该预售已分配或已取消，不能再分配")
    available = (await supply_service.available_to_sell(session, [wave.variant_id], channel=SalesChannel.shop)).get(
        wave.variant_id, Decimal(0)
    )
    available = _whole(available)
    result = Allocation(available=available)
    for wave_order, order in await repository.orders_of_wave(session, wave.id, for_update=True):
        if wave_order.outcome is not Outcome.waiting:
            continue
        available = await _allocate_one(session, wave, wave_order, order, available, result, actor_user_id)
    await capacity.close(session, wave.capacity_id)
    await session.refresh(wave)
    return result


async def _allocate_one(
    session: AsyncSession,
    wave: Wave,
    wave_order: WaveOrder,
    order: Order,
    available: Decimal,
    result: Allocation,
    actor_user_id: int | None,
) -> Decimal:
    """Serve one order from ``available``; what is left for the next."""
    now = clock.now()
    status = OrderStatus(order.status)
    if status is OrderStatus.pending_payment:
        await order_service.cancel(session, order, reason="预售截单分配时仍未付款", actor_user_id=actor_user_id)
        await send_order_notice(session, order, "order_cancelled")
        status = OrderStatus.cancelled
    if status is not OrderStatus.confirmed:
        await repository.settle(
            session, wave_order.id, outcome=Outcome.released, filled=Decimal(0), refund_minor=0, now=now
        )
        result.released.append(order.number)
        return available
    fill = _whole(min(wave_order.quantity, available))
    if fill > 0:
        fill = await _hold(session, wave, order, fill, actor_user_id)
    if fill <= 0:
        refund = order.paid_minor - order.refunded_minor
        await order_service.cancel(session, order, reason="预售到货不足，未能配到", actor_user_id=actor_user_id)
        await repository.settle(
            session, wave_order.id, outcome=Outcome.unfilled, filled=Decimal(0), refund_minor=refund, now=now
        )
        await send_order_notice(session, order, "order_cancelled")
        result.unfilled.append(order.number)
        result.refund_minor += refund
        return Decimal(0)
    refund = 0
    if fill < wave_order.quantity:
        refund = await _shorten(session, order, wave_order.quantity, fill, actor_user_id)
        result.partial.append(order.number)
    else:
        result.filled.append(order.number)
    if order.payment_method is not PaymentMethod.pay_at_pickup:
        # Paid online already: the held stock is sold now (ledger rows), as a paid order's would be.
        await payments.sell_held_stock(session, order, actor_user_id=actor_user_id)
    await states.record(
        session,
        order,
        kind="presale_allocated",
        message_zh=f"预售到货：订购 {format_quantity(wave_order.quantity)} 份，配到 {format_quantity(fill)} 份，"
        "随线路配送到自提村站",
        actor_user_id=actor_user_id,
        detail={"wave": wave.code, "ordered": str(wave_order.quantity), "filled": str(fill), "refund_minor": refund},
    )
    await repository.settle(
        session,
        wave_order.id,
        outcome=Outcome.filled if fill == wave_order.quantity else Outcome.partial,
        filled=fill,
        refund_minor=refund,
        now=now,
    )
    await send_order_notice(
        session,
        order,
        "presale_allocated",
        ordered=int(wave_order.quantity),
        filled=int(fill),
        refund_minor=refund,
    )
    result.boxes += fill
    result.refund_minor += refund
    return available - fill


def _whole(quantity: Decimal) -> Decimal:
    """Whole boxes only (floored, never negative): a wave hands out, prices and refunds whole units."""
    return max(quantity.to_integral_value(rounding=ROUND_FLOOR), Decimal(0))


async def _hold(session: AsyncSession, wave: Wave, order: Order, fill: Decimal, actor_user_id: int | None) -> Decimal:
    """Reserve ``fill`` boxes FEFO for the order (held without a deadline) and name the hold on the
    order; when the lots hold less than counted (a lot went bad meanwhile), what they do hold."""
    reference = f"order:{order.number}"
    while fill > 0:
        try:
            async with session.begin_nested():
                await order_service.hold_stock(
                    session,
                    channel=SalesChannel.shop,
                    reference=reference,
                    location_id=order.location_id,
                    lines=[order_service.StockLine(wave.variant_id, fill)],
                    expires_at=None,
                    actor_user_id=actor_user_id,
                )
        except InsufficientStock as exc:
            lines = exc.detail.get("lines", []) if isinstance(exc.detail, dict) else []
            there = Decimal(str(lines[0]["available"])) if lines else Decimal(0)
            fill = _whole(there) if there < fill else Decimal(0)
            continue
        await order_repository.set_reservation_reference(session, order.id, reference)
        await session.refresh(order, ["reservation_reference"])
        return fill
    return Decimal(0)


async def _shorten(
    session: AsyncSession, order: Order, ordered: Decimal, fill: Decimal, actor_user_id: int | None
) -> int:
    """The order now carries ``fill`` boxes: its line and total shrink; a paid order is refunded the
    difference (once: this runs under the wave's allocation, which runs once). The refund's amount."""
    loaded = await order_repository.order_by_number(session, order.number)
    assert loaded is not None and len(loaded.lines) == 1
    [line] = loaded.lines
    before = line.line_total_minor
    line.quantity = fill
    line.line_total_minor = line.unit_price_minor * int(fill)
    # The order holds only the boxes filled: a later cancellation gives back no more than that (and
    # on the closed wave the cap shrinks with it, ``capacity_queries.give_back``).
    await capacity.reduce_hold(session, line.id, fill)
    cut = before - line.line_total_minor
    loaded.subtotal_minor -= cut
    loaded.total_minor -= cut
    await session.flush()
    await states.record(
        session,
        loaded,
        kind="presale_partial",
        message_zh=f"预售到货不足：订购 {format_quantity(ordered)} 份，配到 {format_quantity(fill)} 份，"
        f"订单金额减少 {cut / 100:.2f} 元",
        actor_user_id=actor_user_id,
        detail={"ordered": str(ordered), "filled": str(fill), "cut_minor": cut},
    )
    refund = min(cut, loaded.paid_minor - loaded.refunded_minor)
    if refund > 0:
        await payments.request_refund(
            session, loaded, amount_minor=refund, reason="预售到货不足，未配到部分退款", actor_user_id=actor_user_id
        )
    return max(refund, 0)
