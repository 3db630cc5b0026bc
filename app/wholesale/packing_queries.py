"""The SQL of the warehouse side of a PRD trip: its live orders with their lines, companies and
addresses, the lots their stock reservations hold, which of them are packed.

Each read is one statement for the whole trip (the orders' lines one more, by ``selectinload``),
so a pick list of 200 orders costs the same handful of queries as one of 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.accounts.models import BuyerCompany
from app.catalog.models import Variant
from app.channels import SalesChannel
from app.orders.models import Order, OrderEvent, OrderStatus
from app.orders.service import PACKED
from app.supply.models import Lot, Reservation, ReservationLine, ReservationStatus
from app.wholesale.models import CreditState, DeliveryAddress, WholesaleOrder
from app.wholesale.trip_models import WholesaleRoute, WholesaleTrip

# An order goes on the truck when it is confirmed (paid, on account, or approved over its limit);
# completed once delivered. Held, pending payment, cancelled, expired or lapsed orders do not.
LIVE_STATUSES = (OrderStatus.confirmed, OrderStatus.completed)
LIVE_CREDIT = (CreditState.clear.value, CreditState.approved.value)

TripOrderRow = tuple[Order, WholesaleOrder, BuyerCompany, DeliveryAddress]


async def trip_with_route(
    session: AsyncSession, number: str, *, for_update: bool = False
) -> tuple[WholesaleTrip, WholesaleRoute] | None:
    """The trip and its route; ``for_update`` locks the trip row (packing and dispatch of one trip
    take turns)."""
    stmt = (
        select(WholesaleTrip, WholesaleRoute)
        .join(WholesaleRoute, WholesaleRoute.id == WholesaleTrip.route_id)
        .where(WholesaleTrip.number == number)
        .execution_options(populate_existing=True)
    )
    if for_update:
        stmt = stmt.with_for_update(of=WholesaleTrip)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def live_orders(session: AsyncSession, trip_id: int) -> list[TripOrderRow]:
    """The trip's live orders with their lines (one more statement), companies and addresses."""
    stmt = (
        select(Order, WholesaleOrder, BuyerCompany, DeliveryAddress)
        .join(WholesaleOrder, WholesaleOrder.order_id == Order.id)
        .join(BuyerCompany, BuyerCompany.id == WholesaleOrder.company_id)
        .join(DeliveryAddress, DeliveryAddress.id == WholesaleOrder.delivery_address_id)
        .where(
            WholesaleOrder.trip_id == trip_id,
            Order.channel == SalesChannel.wholesale,
            Order.status.in_(LIVE_STATUSES),
            WholesaleOrder.credit_state.in_(LIVE_CREDIT),
        )
        .options(selectinload(Order.lines))
        .order_by(Order.id)
        .execution_options(populate_existing=True)
    )
    return [(o, w, c, a) for o, w, c, a in (await session.execute(stmt)).all()]


async def case_packs(session: AsyncSession, variant_ids: Sequence[int]) -> dict[int, Decimal]:
    if not variant_ids:
        return {}
    rows = await session.execute(select(Variant.id, Variant.case_pack).where(Variant.id.in_(set(variant_ids))))
    return {variant_id: Decimal(pack or 1) for variant_id, pack in rows.all()}


async def held_lots(session: AsyncSession, references: Sequence[str]) -> list[tuple[str, int, str, date, Decimal]]:
    """(reservation reference, variant id, lot code, best before, quantity) of every lot the
    reservations hold (or held, once sold), in the FEFO order they were taken."""
    if not references:
        return []
    rows = await session.execute(
        select(Reservation.reference, ReservationLine.variant_id, Lot.code, Lot.best_before, ReservationLine.quantity)
        .join(ReservationLine, ReservationLine.reservation_id == Reservation.id)
        .join(Lot, Lot.id == ReservationLine.lot_id)
        .where(
            Reservation.reference.in_(list(references)),
            Reservation.status.in_((ReservationStatus.active, ReservationStatus.converted)),
        )
        .order_by(Reservation.id, ReservationLine.id)
    )
    return [(ref, variant_id, code, best, quantity) for ref, variant_id, code, best, quantity in rows.all()]


async def packed_order_ids(session: AsyncSession, order_ids: Sequence[int]) -> set[int]:
    """Which of the orders have been packed (their ``packed`` event)."""
    if not order_ids:
        return set()
    rows = await session.scalars(
        select(OrderEvent.order_id)
        .where(OrderEvent.order_id.in_(list(order_ids)), OrderEvent.kind == PACKED)
        .distinct()
    )
    return set(rows)


async def active_reservations(session: AsyncSession, references: Sequence[str]) -> dict[str, int]:
    """Reservation id by reference, of those still holding stock."""
    if not references:
        return {}
    rows = await session.execute(
        select(Reservation.reference, Reservation.id).where(
            Reservation.reference.in_(list(references)), Reservation.status == ReservationStatus.active
        )
    )
    return {reference: reservation_id for reference, reservation_id in rows.all()}
