"""Payments: starting an online payment, recording what the provider says, marking an order paid
exactly once, late payments, and refunds.

``mark_paid`` is the single door to "paid": a compare-and-set on the payment row
(``state <> 'succeeded'``) means the webhook task, the polling path and a duplicate event can all
call it and only the first does anything. No provider call happens inside these functions: callers
talk to Stripe outside any transaction and bring the result here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import SalesChannel
from app.kit import clock
from app.kit.outbox import enqueue
from app.orders import capacity, errors, repository, service, states
from app.orders.models import (
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentState,
    Refund,
    RefundState,
)
from app.orders.notices import send_order_notice
from app.orders.providers import IntentResult, RefundResult
from app.supply import reservations
from app.supply.errors import InsufficientStock

EXECUTE_REFUND_TASK = "payments.execute_refund"
ONLINE_METHODS = ("card", "alipay", "wechat_pay")

STRIPE_STATES = {
    "requires_payment_method": PaymentState.failed,
    "requires_confirmation": PaymentState.pending,
    "requires_action": PaymentState.requires_action,
    "processing": PaymentState.processing,
    "requires_capture": PaymentState.processing,
    "succeeded": PaymentState.succeeded,
    "canceled": PaymentState.canceled,
}


async def prepare_online_payment(session: AsyncSession, order: Order, *, method: str) -> Payment:
    """The payment row for the next Stripe attempt. A retried request (same order, same method,
    attempt still open) gets the same row, hence the same idempotency key: Stripe replays instead of
    creating a second PaymentIntent."""
    if method not in ONLINE_METHODS:
        raise errors.PaymentNotAllowed("支付方式须为 card、alipay 或 wechat_pay")
    if order.payment_method is not PaymentMethod.stripe or order.status is not OrderStatus.pending_payment:
        raise errors.PaymentNotAllowed()
    existing = list(await repository.payments_for(session, order.id))
    for payment in reversed(existing):
        if (
            payment.provider == "stripe"
            and payment.method == method
            and payment.state in (PaymentState.pending, PaymentState.requires_action, PaymentState.processing)
        ):
            return payment
    attempt = 1 + max((p.attempt for p in existing if p.provider == "stripe"), default=0)
    payment = Payment(
        order_id=order.id,
        provider="stripe",
        method=method,
        attempt=attempt,
        state=PaymentState.pending,
        amount_minor=order.total_minor,
        currency=order.currency,
        idempotency_key=f"order:{order.number}:pi:{attempt}",
    )
    session.add(payment)
    await session.flush()
    await states.record(
        session, order, kind="payment_started", message_zh=f"发起在线支付（{method}）", detail={"attempt": attempt}
    )
    return payment


async def record_intent(session: AsyncSession, payment: Payment, result: IntentResult) -> Payment:
    """Store what the provider answered to a create/confirm; a success goes through ``mark_paid``."""
    await repository.set_payment_external_id(session, payment.id, result.external_id)
    await session.refresh(payment)
    return await apply_intent(session, payment, result)


async def apply_intent(session: AsyncSession, payment: Payment, result: IntentResult) -> Payment:
    state = STRIPE_STATES.get(result.status, PaymentState.pending)
    if state is PaymentState.succeeded:
        await mark_paid(session, payment, result.amount_minor)
    elif payment.state is not PaymentState.succeeded:
        await repository.update_unsettled_payment(
            session,
            payment.id,
            state=state,
            next_action=result.next_action,
            failure_message=result.failure_message[:300],
        )
    await session.refresh(payment)
    return payment


async def record_decline(session: AsyncSession, payment: Payment, message: str, result: IntentResult | None) -> None:
    values: dict[str, object] = {"state": PaymentState.failed, "failure_message": message[:300]}
    if result is not None and payment.external_id is None:
        values["external_id"] = result.external_id
    await repository.update_unsettled_payment(session, payment.id, **values)
    order = await repository.order_by_id(session, payment.order_id)
    assert order is not None
    await states.record(session, order, kind="payment_declined", message_zh=f"支付被拒绝：{message}")


async def mark_paid(
    session: AsyncSession, payment: Payment, amount_minor: int, *, actor_user_id: int | None = None
) -> bool:
    """Record money received, once. Returns False when this payment was already marked paid.

    The order then moves on: an order awaiting payment is confirmed and its held stock becomes a
    sale; an order that expired meanwhile has its stock reserved again (or, when it is gone, the
    payment is refunded automatically); money for a cancelled or already-paid order is refunded.
    """
    if not await repository.settle_payment(session, payment.id, now=clock.now(), collected_by_id=actor_user_id):
        return False
    await _count_payment(session, payment, amount_minor, actor_user_id=actor_user_id)
    return True


async def _count_payment(
    session: AsyncSession,
    payment: Payment,
    amount_minor: int,
    *,
    actor_user_id: int | None,
    sell_later: bool = False,
) -> bool:
    """What a payment that has just become succeeded does to its order (see :func:`mark_paid`);
    run once per payment, by whoever made it succeeded. ``sell_later``: a pay-at-pickup order's held
    stock is left for the caller to sell (:func:`sell_held_stock`), as the last write of its
    transaction; True when it is owed."""
    # One statement locks the order, counts the money and reads the order as it now is; what was
    # paid before is what the increment started from.
    order = await repository.add_paid_returning(session, payment.order_id, amount_minor)
    assert order is not None
    already_paid = order.paid_minor - amount_minor >= order.total_minor
    status = OrderStatus(order.status)
    if already_paid or status is OrderStatus.cancelled:
        await states.record(
            session,
            order,
            kind="payment_received",
            message_zh="收到重复或取消后的付款，将自动退款",
            detail={"payment_id": payment.id, "amount_minor": amount_minor},
        )
        await request_refund(
            session,
            order,
            amount_minor=amount_minor,
            reason="重复付款或订单已取消",
            actor_user_id=None,
            payment=payment,
        )
        return False
    if status is OrderStatus.pending_payment and not await _sell_held_stock(session, order, actor_user_id):
        # The hold lapsed (a stock-expiry sweep got there first) though the order had not expired yet.
        await _late_payment(session, order, payment, amount_minor)
    elif status is OrderStatus.pending_payment:
        await states.transition(
            session,
            order,
            OrderStatus.confirmed,
            kind="paid",
            message_zh="在线支付成功",
            actor_user_id=actor_user_id,
            detail={"payment_id": payment.id},
            payment_due_at=None,
        )
        await send_order_notice(session, order, "order_paid")
    elif status is OrderStatus.expired:
        await _late_payment(session, order, payment, amount_minor)
    else:
        await states.record(
            session,
            order,
            kind="paid",
            message_zh="付款已收到",
            actor_user_id=actor_user_id,
            detail={"payment_id": payment.id},
        )
        if order.payment_method is PaymentMethod.pay_at_pickup:
            if sell_later:
                return True
            await _sell_held_stock(session, order, actor_user_id)
    return False


async def sell_held_stock(session: AsyncSession, order: Order, *, actor_user_id: int | None) -> None:
    """Sell a collected pay-at-pickup order's held stock (see :func:`collect_at_pickup`)."""
    await _sell_held_stock(session, order, actor_user_id)


async def _sell_held_stock(session: AsyncSession, order: Order, actor_user_id: int | None) -> bool:
    """Turn the order's held stock into a sale. False when there is no hold to sell any more (it
    expired or was released meanwhile): the caller must hold the stock again or refund. Sold
    already (a second payment): True, nothing more moves. An order of capacity lines only (a
    pre-sale, tickets) holds no stock: True while it still holds its places."""
    if order.reservation_reference is None:
        return await capacity.holds_intact(session, order.id)
    return await reservations.sell_held(
        session,
        order.reservation_reference or "",
        document_type="order",
        document_ref=order.number,
        actor_user_id=actor_user_id,
    )


async def _late_payment(session: AsyncSession, order: Order, payment: Payment, amount_minor: int) -> None:
    """Money arrived after the stock hold expired: hold the stock again if it is still there,
    otherwise give the money back. Never a silent oversell, never a lost payment.

    An order of capacity lines only (a pre-sale, tickets) whose places were given back is always
    refunded: what sells the capacity may have moved on meanwhile (a wave allocated or cancelled, an
    event cancelled or begun), and only it knows, so late money never takes a place again."""
    if order.reservation_reference is None:
        await _refund_late_payment(
            session,
            order,
            payment,
            amount_minor,
            held="名额",
            message_zh="付款晚于名额保留期，名额已释放，款项将原路退回",
        )
        return
    reference = f"order:{order.number}:late{payment.attempt}"
    try:
        async with session.begin_nested():
            with_lines = await repository.order_by_number(session, order.number)  # the lines to hold again
            assert with_lines is not None
            await service.hold_stock(
                session,
                channel=SalesChannel(order.channel),
                reference=reference,
                location_id=order.location_id,
                expires_at=None,
                lines=[service.StockLine(line.variant_id, line.quantity) for line in with_lines.lines],
            )
    except InsufficientStock as exc:
        await _refund_late_payment(
            session,
            order,
            payment,
            amount_minor,
            held="库存",
            message_zh="付款晚于库存保留期，商品已售罄，款项将原路退回",
            lines=(exc.detail or {}).get("lines", []),
        )
        return
    await repository.set_reservation_reference(session, order.id, reference)
    await session.refresh(order)
    await _sell_held_stock(session, order, None)
    await states.transition(
        session,
        order,
        OrderStatus.confirmed,
        kind="late_payment_rereserved",
        message_zh="付款晚于库存保留期，已重新预留库存，订单继续处理",
        payment_due_at=None,
    )


async def _refund_late_payment(
    session: AsyncSession,
    order: Order,
    payment: Payment,
    amount_minor: int,
    *,
    held: str,
    message_zh: str,
    lines: list[Any] | None = None,
) -> None:
    """The late money goes back; a still-pending order expires (``held``: what its hold was)."""
    if order.status is OrderStatus.pending_payment:
        await states.transition(
            session, order, OrderStatus.expired, kind="expired", message_zh=f"{held}保留已失效，订单取消"
        )
    await states.record(
        session, order, kind="late_payment_refunded", message_zh=message_zh, detail={"lines": lines or []}
    )
    await request_refund(
        session, order, amount_minor=amount_minor, reason=f"付款晚于{held}保留期", actor_user_id=None, payment=payment
    )


async def refundable_minor(session: AsyncSession, order: Order) -> int:
    pending = await repository.open_refunds_minor(session, order.id)
    return order.paid_minor - order.refunded_minor - pending


async def request_refund(
    session: AsyncSession,
    order: Order,
    *,
    amount_minor: int,
    reason: str,
    actor_user_id: int | None,
    payment: Payment | None = None,
) -> Refund:
    """Ask for a refund (full or partial). Stripe refunds are sent by a task after commit; cash
    collected at a station is handed back by staff, so it is recorded as done at once."""
    if amount_minor <= 0:
        raise errors.RefundTooLarge("退款金额必须大于 0")
    # Two refunds of one order at once must see each other: the order row is the lock.
    await repository.lock_order(session, order.id)
    await session.refresh(order)
    if amount_minor > await refundable_minor(session, order):
        raise errors.RefundTooLarge(detail={"refundable_minor": await refundable_minor(session, order)})
    if payment is None:
        paid = [p for p in await repository.payments_for(session, order.id) if p.state is PaymentState.succeeded]
        if not paid:
            raise errors.RefundTooLarge("该订单没有可退的付款")
        payment = paid[-1]
    refund = Refund(
        payment_id=payment.id,
        order_id=order.id,
        amount_minor=amount_minor,
        reason=reason[:200],
        actor_user_id=actor_user_id,
        state=RefundState.pending,
    )
    session.add(refund)
    await session.flush()
    await states.record(
        session,
        order,
        kind="refund_requested",
        actor_user_id=actor_user_id,
        message_zh=f"申请退款 {amount_minor / 100:.2f} 元：{reason}",
        detail={"refund_id": refund.id},
    )
    if payment.provider == "stripe":
        await enqueue(session, EXECUTE_REFUND_TASK, refund_id=refund.id)
    else:
        await record_refund_result(session, refund, RefundResult(external_id=f"cash-{refund.id}", status="succeeded"))
    return refund


async def record_refund_result(session: AsyncSession, refund: Refund, result: RefundResult) -> Refund:
    """Apply the provider's word on a refund; the order's refunded amount moves once, on success."""
    state = {"succeeded": RefundState.succeeded, "failed": RefundState.failed, "canceled": RefundState.failed}.get(
        result.status, RefundState.submitted
    )
    if not await repository.settle_refund(
        session, refund.id, state=state, external_id=result.external_id, failure_message=result.failure_message[:300]
    ):
        return refund
    await session.refresh(refund)
    if state is RefundState.succeeded:
        await repository.add_refunded(session, refund.order_id, refund.amount_minor)
        order = await repository.order_by_id(session, refund.order_id)
        assert order is not None
        await states.record(
            session,
            order,
            kind="refunded",
            message_zh=f"退款成功 {refund.amount_minor / 100:.2f} 元",
            detail={"refund_id": refund.id},
        )
        await send_order_notice(session, order, "refund_issued", amount_minor=refund.amount_minor)
    elif state is RefundState.failed:
        order = await repository.order_by_id(session, refund.order_id)
        assert order is not None
        await states.record(
            session, order, kind="refund_failed", message_zh="退款失败，请人工处理", detail={"refund_id": refund.id}
        )
    return refund


@dataclass(frozen=True)
class Collected:
    payment: Payment
    stock_to_sell: bool  # ``sell_later``: the caller sells the held stock (sell_held_stock)


async def collect_at_pickup(
    session: AsyncSession, order: Order, *, method: str, actor_user_id: int, sell_later: bool = False
) -> Collected:
    """Cash or QR collected by the station at handover, recorded as the order's payment; the held
    stock becomes a sale, or with ``sell_later`` is left to the caller to sell last: the stock rows
    of a popular SKU are what concurrent handovers wait for, so they are locked for as short a time
    as the caller can make it."""
    if order.payment_method is not PaymentMethod.pay_at_pickup:
        raise errors.PaymentNotAllowed("该订单不是到站付款")
    if method not in ("cash", "qr"):
        raise errors.PaymentNotAllowed("到站付款方式须为 cash 或 qr")
    # Written as succeeded at once, not pending and then settled by mark_paid: the money is in the
    # operator's hand, and the row is new (its idempotency key is unique per order), so nobody else
    # can have counted it — the order is counted once, here, under the parcel's lock.
    payment = Payment(
        order_id=order.id,
        provider="pay_at_pickup",
        method=method,
        attempt=1,
        state=PaymentState.succeeded,
        amount_minor=order.total_minor - order.paid_minor,
        currency=order.currency,
        idempotency_key=f"order:{order.number}:pickup",
        collected_by_id=actor_user_id,
        succeeded_at=clock.now(),
    )
    session.add(payment)
    await session.flush()
    owed = await _count_payment(
        session, payment, payment.amount_minor, actor_user_id=actor_user_id, sell_later=sell_later
    )
    return Collected(payment, owed)
