"""A wave hands out whole boxes only: when the shop's available count of the harvest is fractional
(2.5 — the ledger refuses a fractional box lot, so the count is made so here), the order at the
edge is filled with 2 — reservation, line, price, refund and notice agree — and a wave on a
weighed variant (kg / 斤) is refused when created."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.kit.quantities import Unit
from app.notifications.models import NotificationMessage
from app.orders.models import OrderLine, Refund
from app.presales import allocation, errors, repository, service
from app.presales.models import Outcome, WaveOrder
from app.supply import service as supply_service
from app.supply.models import StockLedgerEntry
from tests.fixtures.builders import make_variant, receive
from tests.presales.helpers import make_wave, order_in, pay

PRICE = 8800


async def test_a_harvest_of_two_and_a_half_boxes_fills_two_and_charges_two(
    db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = db_session
    start = clock.now()
    setup = await make_wave(session, cap=10, price_minor=PRICE, pay_at_pickup=False, cutoff_in=timedelta(hours=2))
    order = await service.place(session, order_in(setup, "4"), stripe_enabled=True)
    await pay(session, order)
    await receive(session, setup.variant, "3")
    counted = supply_service.available_to_sell

    async def two_and_a_half(*args: Any, **kwargs: Any) -> dict[int, Decimal]:
        return {variant_id: min(left, Decimal("2.5")) for variant_id, left in (await counted(*args, **kwargs)).items()}

    monkeypatch.setattr(supply_service, "available_to_sell", two_and_a_half)

    with clock.pinned(start + timedelta(hours=3)):
        done = await allocation.allocate(session, setup.wave.code, actor_user_id=None)
    assert done.available == Decimal(2) and done.partial == [order.number] and done.boxes == Decimal(2)
    assert done.refund_minor == 2 * PRICE

    await session.refresh(order)
    assert (order.subtotal_minor, order.total_minor, order.paid_minor) == (2 * PRICE, 2 * PRICE, 4 * PRICE)
    loaded = await session.scalar(select(WaveOrder).where(WaveOrder.order_id == order.id))
    assert loaded is not None and (loaded.outcome, loaded.filled, loaded.refund_minor) == (
        Outcome.partial,
        Decimal(2),
        2 * PRICE,
    )
    refunded = await session.scalar(select(func.sum(Refund.amount_minor)).where(Refund.order_id == order.id))
    assert refunded == 2 * PRICE
    # The ledger moved exactly the 2 boxes the order carries (sold: paid online), not 2.5.
    moved = await session.scalar(
        select(func.sum(StockLedgerEntry.on_hand_delta)).where(StockLedgerEntry.document_ref == order.number)
    )
    line_quantity = await session.scalar(select(OrderLine.quantity).where(OrderLine.order_id == order.id))
    assert moved == Decimal(-2) and line_quantity == Decimal(2)
    body = await session.scalar(
        select(NotificationMessage.body).where(
            NotificationMessage.reference == order.number, NotificationMessage.template == "presale_allocated"
        )
    )
    assert body is not None and "订4份配到2份" in body


async def test_a_wave_on_a_weighed_variant_is_refused(db_session: AsyncSession) -> None:
    setup = await make_wave(db_session)
    weighed = await make_variant(db_session, product=None, unit=Unit.kg)
    base = service.WaveInput(
        title="称重预售",
        sku=weighed.sku,
        price_minor=PRICE,
        cap=10,
        cutoff_at=clock.now() + timedelta(days=1),
        harvest_from=clock.today() + timedelta(days=3),
        harvest_to=clock.today() + timedelta(days=5),
    )
    with pytest.raises(errors.WaveUnitNotCountable) as refused:
        await service.create_wave(db_session, base)
    assert refused.value.status_code == 422
    # The box variant of the same shape is accepted.
    assert (await service.create_wave(db_session, replace(base, sku=setup.variant.sku))).variant_id == setup.variant.id
    # The wave form does not offer the weighed variant.
    offered = {sku for _, sku, _ in await repository.presale_variants(db_session)}
    assert setup.variant.sku in offered and weighed.sku not in offered
