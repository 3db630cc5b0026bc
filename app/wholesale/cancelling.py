"""A buyer cancels one of its company's wholesale orders (the portal's 取消订单, the API's
``POST /api/v1/wholesale/orders/{number}/cancel``).

Allowed while the order is open (待付款 / 待审批 / 已确认), the warehouse has not packed it and its
trip still takes orders (planned, before the cut-off). After the cut-off the warehouse is picking
the trip: the online cancel is refused with 409 ``wholesale_cancel_after_cutoff`` and the buyer is
told to call the centre, which can still act on the console — an order is never silently taken
off a truck being loaded.

Any buyer of the company (not only its owner) may cancel, as any of them may order; another
company's order is a 404. The order row is locked first: the warehouse's packing locks it too
(and records the ``packed`` event), so a cancel and a packing of one order run one after the other
and the second is refused (409) — never both. A held order's credit state becomes ``withdrawn``,
so neither the centre's approval nor the lapse sweep acts on it any more. The stock hold is
released (``orders.service.cancel``) and the truck room given back once (``trip_released_at`` is
set by compare-and-set, so the sweep of ended orders does not release it again)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.config import get_settings
from app.kit import clock
from app.kit.errors import AppError
from app.orders import repository as orders_repository
from app.orders import service as order_service
from app.orders.models import FulfilmentStatus, OrderStatus
from app.wholesale import amend_errors, errors, ordering, trip_queries, trips
from app.wholesale import order_queries as queries
from app.wholesale.models import CreditState
from app.wholesale.trip_models import TripStatus

OPEN = (OrderStatus.pending_payment, OrderStatus.confirmed)
REASON_MAX_CHARS = 200


def refusal(view: ordering.WholesaleOrderView, now: datetime) -> AppError | None:
    """Why the buyer cannot cancel this order now, or None when it can."""
    order, trip = view.order, view.trip
    if order.status not in OPEN:
        return amend_errors.OrderNotCancellable(
            f"订单{ordering.status_label(order, view.wholesale)}，不能取消",
            detail={"order": order.number, "status": order.status.value},
        )
    packed = any(event.kind == order_service.PACKED for event in order.events)
    if packed or order.fulfilment_status is not FulfilmentStatus.unfulfilled:
        return amend_errors.OrderAlreadyPacked(
            f"订单已打包，不能在线取消；如需取消请致电{get_settings().service_centre_name}",
            detail={"order": order.number},
        )
    if trip.status is not TripStatus.planned or now >= trip.cutoff_at:
        return amend_errors.CancelAfterCutoff(
            f"已过车次 {trip.number} 的截单时间（{trips.local_cutoff_text(trip.cutoff_at)}），不能在线取消；"
            f"如需取消请致电{get_settings().service_centre_name}",
            detail={"order": order.number, "trip": trip.number, "cutoff_at": trip.cutoff_at.isoformat()},
        )
    return None


def can_cancel(view: ordering.WholesaleOrderView) -> bool:
    return refusal(view, clock.now()) is None


def _reason(raw: str) -> str:
    cleaned = " ".join(raw.split())[:REASON_MAX_CHARS]
    return f"采购商取消：{cleaned}" if cleaned else "采购商取消"


async def cancel_order(
    session: AsyncSession, principal: Principal, number: str, *, reason: str = ""
) -> ordering.WholesaleOrderView:
    """Cancel one of the principal's company's orders (see the module's rules); only flushes."""
    placed = await ordering.order_for(session, principal, number)  # another company's order: 404
    # The trip row first, as packing and dispatch lock it: a cancel racing the warehouse's packing
    # of this order waits for it (and then sees the order packed), or packs after it (and then
    # no longer finds a live order) — never both, and never a deadlock on order and trip rows.
    await trip_queries.trip_by_id(session, placed.wholesale.trip_id, for_update=True)
    order = await orders_repository.order_by_number(session, number, for_update=True)
    wholesale = await queries.of_order(session, order.id, for_update=True) if order else None
    if order is None or wholesale is None:
        raise errors.WholesaleOrderNotFound(detail={"order": number})
    view = await ordering.order_for(session, principal, number)  # as it is now we hold the lock
    refused = refusal(view, clock.now())
    if refused is not None:
        raise refused
    if wholesale.credit_state == CreditState.held.value and not await queries.set_credit_state(
        session, order.id, expected=CreditState.held, to=CreditState.withdrawn
    ):
        raise amend_errors.OrderNotCancellable(detail={"order": number})
    text = _reason(reason)
    await order_service.cancel(session, view.order, reason=text, actor_user_id=principal.user_id)
    if await queries.mark_trip_released(session, order.id, clock.now()):
        await trips.release(session, wholesale.trip_id, wholesale.weight_kg, wholesale.cases)
    return await ordering.order_for(session, principal, number)
