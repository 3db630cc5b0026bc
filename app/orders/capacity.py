"""Order lines that take *capacity* instead of stock: a harvest pre-sale wave sells boxes before any
lot exists, an event sells places in a time slot. The domain that sells them (pre-sales, events)
owns a :class:`~app.orders.models.Capacity` row per wave or slot and passes, with the order, which
of its lines take which capacity (``NewOrder.capacity_lines``); the order service takes them in the
order's unit of work, in a fixed order (by capacity id) so two orders never wait on each other.

Invariant: ``used`` never exceeds ``cap`` under any concurrency — each take is one conditional
``UPDATE … WHERE used + q <= cap``; zero rows means full, and the whole order is refused (409
``capacity_exhausted`` naming every short line) with nothing written. An order cancelled or expired
gives its places back exactly once (``release``), whoever calls it first; money that arrives after
that is refunded (``app.orders.payments``), never a place taken again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.kit.quantities import format_quantity
from app.orders import capacity_queries as queries
from app.orders import errors
from app.orders.models import Capacity, CapacityHold, OrderLine


async def open_capacity(session: AsyncSession, *, kind: str, label: str, cap: Decimal) -> Capacity:
    capacity = Capacity(kind=kind, label=label[:200], cap=cap, used=Decimal(0))
    session.add(capacity)
    await session.flush()
    return capacity


async def take(session: AsyncSession, order_id: int, lines: Sequence[OrderLine], taken: Mapping[int, int]) -> None:
    """Take each line's quantity from its capacity (``taken``: line index → capacity id), all or
    nothing; then record the holds. Raises ``CapacityExhausted`` with every short line."""
    shorts: list[dict[str, str | int]] = []
    for index, capacity_id in sorted(taken.items(), key=lambda item: (item[1], item[0])):
        line = lines[index]
        if not await queries.take(session, capacity_id, line.quantity):
            shorts.append({"sku": line.sku, "capacity_id": capacity_id, "requested": format_quantity(line.quantity)})
    if shorts:
        remaining = await queries.left(session, [int(short["capacity_id"]) for short in shorts])
        for short in shorts:
            short["left"] = format_quantity(max(remaining.get(int(short["capacity_id"]), Decimal(0)), Decimal(0)))
        # The caller's unit of work rolls back: the takes that did succeed are undone with it.
        raise errors.CapacityExhausted(detail={"lines": shorts})
    session.add_all(
        CapacityHold(
            order_id=order_id, order_line_id=lines[index].id, capacity_id=capacity_id, quantity=lines[index].quantity
        )
        for index, capacity_id in taken.items()
    )
    await session.flush()


async def release(session: AsyncSession, order_id: int) -> Decimal:
    """Give back every place the order still holds; the quantity given back (0 the second time)."""
    released = await queries.mark_released(session, order_id, clock.now())
    for item in sorted(released, key=lambda item: item.capacity_id):
        await queries.give_back(session, item.capacity_id, item.quantity)
    return sum((item.quantity for item in released), Decimal(0))


async def reduce_hold(session: AsyncSession, order_line_id: int, quantity: Decimal) -> Decimal:
    """The line now needs only ``quantity`` places (a pre-sale partly filled): its hold shrinks to
    that and the rest is given back; the quantity given back (0 when nothing changed)."""
    given = await queries.reduce_hold(session, order_line_id, quantity)
    if given is None:
        return Decimal(0)
    await queries.give_back(session, given.capacity_id, given.quantity)
    return given.quantity


async def left(session: AsyncSession, capacity_id: int) -> Decimal:
    """What is still free of a capacity (for the shop's "还剩 N 份")."""
    return (await queries.left(session, [capacity_id])).get(capacity_id, Decimal(0))


async def holds_intact(session: AsyncSession, order_id: int) -> bool:
    """True when none of the order's places has been given back (an order with none: True)."""
    return not await queries.any_released(session, order_id)


async def close(session: AsyncSession, capacity_id: int) -> None:
    """No free place any more: the cap shrinks to what is held, and stays at it as places are given
    back (a pre-sale wave allocated or cancelled). Money arriving late for an order that gave its
    places back is refunded anyway (``payments._late_payment``)."""
    await queries.close(session, capacity_id, clock.now())
