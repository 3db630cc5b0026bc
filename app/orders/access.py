"""Who may see an order: its customer, staff, the station it is routed to, or a guest who knows
both the order number and the phone it was placed with. Anyone else gets 404, as if it did not
exist (so order numbers cannot be probed)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Header
from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import BACK_OFFICE, Principal, Role, Scope
from app.accounts.ratelimit import LookupLimiter
from app.config import get_settings
from app.kit.errors import TooManyRequests
from app.kit.phones import normalise_cn_phone
from app.orders import errors, repository
from app.orders.models import Order
from app.orders.views import ContactView

# A header, not a query parameter: query strings end up in access logs, proxies and browser history.
OrderPhone = Annotated[
    str | None, Header(alias="X-Order-Phone", max_length=20, description="游客查询：下单手机号（请求头，不放在网址里）")
]


def may_see(order: Order, principal: Principal | None, phone: str | None) -> bool:
    if principal is not None:
        if BACK_OFFICE.admits(principal):
            return True  # admins and the warehouse, with their admin / stock scope
        if principal.role is Role.station_operator:
            at_station = order.station_id is not None and order.station_id == principal.station_id
            return principal.has_scope(Scope.pda) and at_station
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


# How long the link in a notice opens its order without the phone being typed again: longer than
# any parcel waits at a station.
ORDER_LINK_MAX_AGE = timedelta(days=30)


def _link_signer() -> TimestampSigner:
    return TimestampSigner(get_settings().secret_key.get_secret_value(), salt="np-order-link")


def order_link(number: str) -> str:
    """The address sent in a notice: the order page with a signature that proves the customer got
    it from us (in place of typing the phone). Only the part after the number travels."""
    token = _link_signer().sign(number).decode().split(".", 1)[1]
    return f"{get_settings().public_base_url.rstrip('/')}/orders/{number}?t={token}"


def order_link_valid(number: str, token: str) -> bool:
    try:
        _link_signer().unsign(f"{number}.{token}", max_age=int(ORDER_LINK_MAX_AGE.total_seconds()))
    except BadSignature:
        return False
    return True


def is_customer_view(order: Order, principal: Principal | None, phone: str | None) -> bool:
    """The caller sees the order as its customer (its signed-in owner, or a guest who proved the
    phone) and not as staff: only then are customer secrets such as the pickup code shown."""
    if principal is not None and principal.role is not Role.customer:
        return False
    if principal is not None and order.customer_user_id == principal.user_id:
        return True
    if not phone:
        return False
    try:
        return normalise_cn_phone(phone) == order.contact_phone
    except ValueError:
        return False


def contact_view(order: Order, principal: Principal | None, phone: str | None) -> ContactView:
    """How much of the customer's contact data this reader of ``order`` sees (see ``ContactView``):
    the customer and an admin everything, a wholesale buyer its own company's order, the warehouse
    the back-office view, a station operator only the masked name and the phone's last four."""
    if is_customer_view(order, principal, phone):
        return ContactView.full
    if principal is None:
        return ContactView.station
    if principal.role is Role.admin and principal.has_scope(Scope.admin):
        return ContactView.full
    if principal.role is Role.buyer and order.company_id is not None and order.company_id == principal.company_id:
        return ContactView.full
    if BACK_OFFICE.admits(principal):
        return ContactView.back_office
    return ContactView.station


async def visible_order(
    session: AsyncSession,
    number: str,
    principal: Principal | None,
    phone: str | None,
    *,
    limiter: LookupLimiter,
    client_ip: str,
    phone_proven: bool = False,
    for_update: bool = False,
    with_lines_and_events: bool = True,
) -> Order:
    """The order if this caller may see it, else ``OrderNotFound``.

    A typed phone is a guess until it matches: the attempt is counted per order number and per
    client address *before* the order is read, so a burst of concurrent guesses gets no more
    checks than the limit. A phone from the guest's signed cookie (``phone_proven``) was proven
    earlier for this very order and is not counted."""
    number = number.strip().upper()
    if phone and not phone_proven and not await limiter.attempt(number, client_ip):
        raise TooManyRequests("查询过于频繁，请稍后再试")
    order = await repository.order_by_number(
        session, number, for_update=for_update, with_lines_and_events=with_lines_and_events
    )
    if order is None or not may_see(order, principal, phone):
        raise errors.OrderNotFound()
    return order
