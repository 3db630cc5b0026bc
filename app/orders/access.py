"""Who may see an order: its customer, staff, the station it is routed to, or a guest who knows
both the order number and the phone it was placed with. Anyone else gets 404, as if it did not
exist (so order numbers cannot be probed)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal, Role
from app.accounts.ratelimit import LoginLimiter
from app.kit.errors import TooManyRequests
from app.kit.phones import normalise_cn_phone
from app.orders import errors, repository
from app.orders.models import Order

STAFF = (Role.admin, Role.warehouse, Role.clerk)


def may_see(order: Order, principal: Principal | None, phone: str | None) -> bool:
    if principal is not None:
        if principal.role in STAFF:
            return True
        if principal.role is Role.station_operator:
            return order.station_id is not None and order.station_id == principal.station_id
        if principal.role is Role.buyer and order.company_id is not None:
            return order.company_id == principal.company_id
        if order.customer_user_id is not None and order.customer_user_id == principal.user_id:
            return True
    if phone:
        try:
            return normalise_cn_phone(phone) == order.contact_phone
        except ValueError:
            return False
    return False


async def visible_order(
    session: AsyncSession,
    number: str,
    principal: Principal | None,
    phone: str | None,
    *,
    limiter: LoginLimiter,
    client_ip: str,
    for_update: bool = False,
) -> Order:
    if phone and not limiter.allowed("order-lookup", client_ip):
        raise TooManyRequests("查询过于频繁，请稍后再试")
    order = await repository.order_by_number(session, number.strip().upper(), for_update=for_update)
    if order is None or not may_see(order, principal, phone):
        if phone:
            limiter.record_failure("order-lookup", client_ip)
        raise errors.OrderNotFound()
    return order
