"""The wave's rules, one by one: the cut-off (China time), the order limits and payment choices,
editing, cancelling a wave with paid and pay-at-pickup orders (refunded / released once), orders
that left before allocation, and a pay-at-pickup order's shortfall (owed less, nothing refunded,
its stock sold at the station's handover)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.catalog.errors import QuantityNotPositive
from app.kit import clock
from app.orders import capacity, payments
from app.orders import errors as order_errors
from app.orders import repository as order_repository
from app.orders import service as order_service
from app.orders.expiry import expire_unpaid
from app.orders.models import Capacity, OrderStatus, PaymentMethod, Refund
from app.presales import allocation, errors, repository, service
from app.presales.models import Outcome, WaveStatus
from app.supply.models import LedgerKind, StockLedgerEntry
from tests.fixtures.builders import make_user, receive
from tests.presales.helpers import make_wave, order_in, pay

PICKUP = PaymentMethod.pay_at_pickup
# Midnight in China is 16:00 UTC: the cut-off is a China-time instant.
CHINA_MIDNIGHT = datetime(2026, 12, 19, 16, 0, tzinfo=UTC)


async def test_an_order_at_or_after_the_cut_off_is_refused(db_session: AsyncSession) -> None:
    with clock.pinned(CHINA_MIDNIGHT - timedelta(days=1)):
        setup = await make_wave(db_session, cutoff_in=timedelta(days=1))
    assert setup.wave.cutoff_at == CHINA_MIDNIGHT
    with clock.pinned(CHINA_MIDNIGHT - timedelta(seconds=1)):
        order = await service.place(db_session, order_in(setup, method=PICKUP), stripe_enabled=False)
    assert order.status is OrderStatus.confirmed and order.reservation_reference is None
    with clock.pinned(CHINA_MIDNIGHT), pytest.raises(errors.WaveClosed) as refused:
        await service.place(db_session, order_in(setup, method=PICKUP, i=1), stripe_enabled=False)
    assert (refused.value.status_code, refused.value.code) == (409, "presale_closed")
    assert await capacity.left(db_session, setup.wave.capacity_id) == Decimal(49)


async def test_limits_and_payment_choices(db_session: AsyncSession) -> None:
    setup = await make_wave(db_session, pay_at_pickup=False, max_per_order=3)
    with pytest.raises(errors.PayAtPickupNotAllowed):
        await service.place(db_session, order_in(setup, method=PICKUP), stripe_enabled=True)
    with pytest.raises(order_errors.PaymentProviderUnavailable):
        await service.place(db_session, order_in(setup), stripe_enabled=False)
    with pytest.raises(errors.TooManyBoxes):
        await service.place(db_session, order_in(setup, "4"), stripe_enabled=True)
    with pytest.raises(errors.WaveInvalid):
        await service.place(db_session, order_in(setup, "1.5"), stripe_enabled=True)
    with pytest.raises(QuantityNotPositive):
        await service.place(db_session, order_in(setup, "0"), stripe_enabled=True)
    with pytest.raises(errors.WaveNotFound):
        await service.place(db_session, replace(order_in(setup), wave_code="PS-NOPE"), stripe_enabled=True)
    order = await service.place(db_session, order_in(setup, "3"), stripe_enabled=True)
    assert order.status is OrderStatus.pending_payment
    loaded = await order_repository.order_by_number(db_session, order.number)
    assert loaded is not None
    [line] = loaded.lines
    assert (line.quantity, line.unit_price_minor, line.line_total_minor) == (Decimal(3), 8800, 26400)
    assert line.name_zh.startswith("【预售】")


async def test_a_draft_is_not_shown_and_the_cap_never_goes_below_what_is_ordered(db_session: AsyncSession) -> None:
    setup = await make_wave(db_session, cap=5)
    await service.place(db_session, order_in(setup, "4"), stripe_enabled=True)
    data = service.WaveInput(
        title="改过的名称",
        sku=setup.variant.sku,
        price_minor=9900,
        cap=3,
        cutoff_at=setup.wave.cutoff_at,
        harvest_from=setup.wave.harvest_from,
        harvest_to=setup.wave.harvest_to,
    )
    with pytest.raises(errors.WaveInvalid):
        await service.edit_wave(db_session, setup.wave.code, data)
    edited = await service.edit_wave(db_session, setup.wave.code, replace(data, cap=8))
    assert edited.price_minor == 9900
    assert await capacity.left(db_session, setup.wave.capacity_id) == Decimal(4)
    draft = await service.create_wave(db_session, data)
    with pytest.raises(errors.WaveNotFound):
        await service.shown_wave(db_session, draft.code)
    assert draft.code not in [row.wave.code for row in await service.open_waves(db_session)]
    assert setup.wave.code in [row.wave.code for row in await service.open_waves(db_session)]


async def test_cancelling_a_wave_refunds_paid_orders_and_releases_the_rest_once(db_session: AsyncSession) -> None:
    setup = await make_wave(db_session, pay_at_pickup=True)
    paid = await service.place(db_session, order_in(setup, "2"), stripe_enabled=True)
    await pay(db_session, paid)
    at_pickup = await service.place(db_session, order_in(setup, "1", method=PICKUP, i=1), stripe_enabled=True)
    unpaid = await service.place(db_session, order_in(setup, "1", i=2), stripe_enabled=True)
    assert await service.cancel_wave(db_session, setup.wave.code, reason="冰雹", actor_user_id=None) == 3
    with pytest.raises(errors.WaveStateConflict):
        await service.cancel_wave(db_session, setup.wave.code, reason="冰雹", actor_user_id=None)
    for order in (paid, at_pickup, unpaid):
        await db_session.refresh(order)
        assert order.status is OrderStatus.cancelled
    refunds = list(await db_session.scalars(select(Refund.amount_minor).where(Refund.order_id == paid.id)))
    assert refunds == [2 * 8800]
    assert (
        await db_session.scalar(
            select(func.count()).select_from(Refund).where(Refund.order_id.in_([at_pickup.id, unpaid.id]))
        )
        == 0
    )
    # Every place given back, and the wave's capacity closed: nothing can take a place any more.
    held = await db_session.get(Capacity, setup.wave.capacity_id, populate_existing=True)
    assert held is not None and (held.used, held.cap) == (Decimal(0), Decimal(0))
    wave = await service.wave_or_404(db_session, setup.wave.code)
    assert (wave.status, wave.cancel_reason) == (WaveStatus.cancelled, "冰雹")
    assert [wo.outcome for wo, _ in await repository.orders_of_wave(db_session, wave.id)] == [Outcome.released] * 3
    with pytest.raises(errors.WaveNotOpen):
        await service.place(db_session, order_in(setup, i=3), stripe_enabled=True)


async def test_pay_at_pickup_shortfall_owes_less_and_sells_at_the_handover(db_session: AsyncSession) -> None:
    start = clock.now()
    setup = await make_wave(db_session, cap=10, pay_at_pickup=True, per_phone=5, cutoff_in=timedelta(hours=1))
    with clock.pinned(start):
        first = await service.place(db_session, order_in(setup, "3", method=PICKUP), stripe_enabled=False)
    with clock.pinned(start + timedelta(seconds=1)):
        left_early = await service.place(db_session, order_in(setup, "2", method=PICKUP, i=1), stripe_enabled=False)
    with clock.pinned(start + timedelta(seconds=2)):
        second = await service.place(db_session, order_in(setup, "3", method=PICKUP, i=2), stripe_enabled=False)
    # The customer cancels before the harvest: the boxes go back to the wave at once.
    await order_service.cancel(db_session, left_early, reason="不要了", actor_user_id=None)
    assert await capacity.left(db_session, setup.wave.capacity_id) == Decimal(4)
    await receive(db_session, setup.variant, "4")
    with clock.pinned(start + timedelta(hours=2)):
        done = await allocation.allocate(db_session, setup.wave.code, actor_user_id=None)
    assert (done.filled, done.partial, done.released, done.refund_minor) == (
        [first.number],
        [second.number],
        [left_early.number],
        0,
    )
    await db_session.refresh(second)
    assert (second.total_minor, second.paid_minor) == (8800, 0)
    assert await db_session.scalar(select(func.count()).select_from(Refund).where(Refund.order_id == second.id)) == 0

    # Held, not sold, until the station hands it over and takes the money.
    def sales(number: str) -> object:
        return select(func.coalesce(func.sum(StockLedgerEntry.on_hand_delta), 0)).where(
            StockLedgerEntry.kind == LedgerKind.sale, StockLedgerEntry.document_ref == number
        )

    assert await db_session.scalar(sales(second.number)) == 0  # type: ignore[call-overload]
    operator = await make_user(db_session, Role.station_operator)
    collected = await payments.collect_at_pickup(db_session, second, method="cash", actor_user_id=operator.id)
    assert collected.payment.amount_minor == 8800
    assert await db_session.scalar(sales(second.number)) == Decimal(-1)  # type: ignore[call-overload]


async def test_money_for_an_expired_order_after_allocation_is_refunded(db_session: AsyncSession) -> None:
    start = clock.now()
    setup = await make_wave(db_session, cap=5, pay_at_pickup=False, cutoff_in=timedelta(hours=1))
    with clock.pinned(start):
        late = await service.place(db_session, order_in(setup, "2"), stripe_enabled=True)
        payment = await payments.prepare_online_payment(db_session, late, method="alipay")
        paid = await service.place(db_session, order_in(setup, "3", i=1), stripe_enabled=True)
        await pay(db_session, paid)
    # The unpaid order's hold lapses: its boxes go back to the wave.
    assert late.number in await expire_unpaid(db_session, now=start + timedelta(minutes=30))
    await receive(db_session, setup.variant, "5")
    with clock.pinned(start + timedelta(hours=2)):
        done = await allocation.allocate(db_session, setup.wave.code, actor_user_id=None)
    assert (done.filled, done.released) == ([paid.number], [late.number])
    # Its money arrives now: the wave is closed, there is no place to take again — refunded.
    assert await payments.mark_paid(db_session, payment, payment.amount_minor)
    await db_session.refresh(late)
    assert late.status is OrderStatus.expired and late.reservation_reference is None
    refunds = list(await db_session.scalars(select(Refund.amount_minor).where(Refund.order_id == late.id)))
    assert refunds == [2 * 8800]
