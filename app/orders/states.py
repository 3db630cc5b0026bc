"""The order status machine: an explicit transition table, one compare-and-set per transition,
and an event row for every step.

A transition is ``UPDATE orders SET status = :to … WHERE id = :id AND status = :from``: two
concurrent transitions of one order (a payment webhook and the expiry task, say) cannot both win;
the loser gets 409 ``order_state_conflict`` and changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.orders import errors, repository
from app.orders.models import Order, OrderEvent, OrderStatus

TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.pending_payment: frozenset({OrderStatus.confirmed, OrderStatus.cancelled, OrderStatus.expired}),
    OrderStatus.confirmed: frozenset({OrderStatus.ready_for_pickup, OrderStatus.completed, OrderStatus.cancelled}),
    OrderStatus.ready_for_pickup: frozenset({OrderStatus.completed, OrderStatus.cancelled}),
    # A payment that lands after expiry re-reserves the stock and revives the order.
    OrderStatus.expired: frozenset({OrderStatus.confirmed}),
    OrderStatus.completed: frozenset(),
    OrderStatus.cancelled: frozenset(),
}


def can_transition(current: OrderStatus, to: OrderStatus) -> bool:
    return to in TRANSITIONS[current]


async def transition(
    session: AsyncSession,
    order: Order,
    to: OrderStatus,
    *,
    kind: str,
    message_zh: str,
    actor_user_id: int | None = None,
    detail: dict[str, Any] | None = None,
    **values: Any,
) -> Order:
    """Move ``order`` from its current status to ``to`` (plus any other column ``values``)."""
    current = OrderStatus(order.status)
    if not can_transition(current, to):
        raise errors.TransitionNotAllowed(
            f"订单{current.label_zh}，不能变为{to.label_zh}", detail={"from": current.value, "to": to.value}
        )
    # The update refreshes ``order`` from its RETURNING row (no read back) and writes the event.
    event = {
        "kind": kind,
        "from_status": current.value,
        "to_status": to.value,
        "actor_user_id": actor_user_id,
        "message_zh": message_zh,
        "detail": detail or {},
    }
    if not await repository.move_status(session, order, expected=current, to=to, event=event, **values):
        raise errors.OrderStateConflict(detail={"expected": current.value})
    # What the caller changed meanwhile goes now, as before the event had its own statement (a
    # handover's parcel): later reads of this transaction see it.
    await session.flush()
    return order


async def record(
    session: AsyncSession,
    order: Order,
    *,
    kind: str,
    message_zh: str,
    actor_user_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """An event without a status change (a payment step, a notice sent). When the order in memory
    has its events loaded, the new one joins them, so an answer built from it needs no read back."""
    # What the caller changed meanwhile goes first, as when the event was flushed with it.
    await session.flush()
    event = await repository.add_event(
        session,
        OrderEvent(
            order_id=order.id,
            kind=kind,
            from_status=None,
            to_status=None,
            actor_user_id=actor_user_id,
            message_zh=message_zh,
            detail=detail or {},
        ),
    )
    if "events" in order.__dict__:
        set_committed_value(order, "events", [*order.events, event])
