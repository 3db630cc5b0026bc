"""SMS to a wholesale buyer about a held order: held over the credit limit, approved by the centre,
or lapsed (not approved in time: cancelled, its stock and truck room released).

Who is told: the buyer who placed the order and the company's owner when that is someone else
(one message per phone); when neither has a phone on record, the company's contact phone. The
messages are written in the order's transaction (``app.notifications.service.notify``): a change
that rolls back sends nothing."""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.phones import last_four, normalise_cn_phone
from app.notifications.service import notify
from app.orders.models import Order
from app.wholesale import notice_queries as queries
from app.wholesale import trips

log = logging.getLogger(__name__)


async def recipients(session: AsyncSession, company_id: int, placed_by: int | None) -> list[str]:
    """The distinct, valid phones to tell about an order of ``company_id`` placed by ``placed_by``."""
    phones: list[str] = []
    candidates = await queries.phones_to_tell(session, company_id, placed_by)
    if not any(candidates):
        candidates = [await queries.company_phone(session, company_id)]
    for raw in candidates:
        if not raw:
            continue
        try:
            phone = normalise_cn_phone(raw)
        except ValueError:
            log.warning("wholesale notice: company %s has an invalid phone …%s", company_id, last_four(raw))
            continue
        if phone not in phones:
            phones.append(phone)
    return phones


async def _tell(session: AsyncSession, order: Order, template: str, params: dict[str, Any]) -> int:
    assert order.company_id is not None  # a wholesale order always has its company
    sent = 0
    for phone in await recipients(session, order.company_id, order.customer_user_id):
        await notify(
            session,
            template=template,
            recipient=phone,
            params={"order_number": order.number, "amount_minor": order.total_minor, **params},
            reference=order.number,
        )
        sent += 1
    return sent


async def order_held(session: AsyncSession, order: Order, hold_until: datetime) -> int:
    """The order waits for the centre's approval until ``hold_until``; returns the messages queued."""
    return await _tell(session, order, "wholesale_order_held", {"hold_until": hold_until})


async def hold_approved(session: AsyncSession, order: Order, departure: date) -> int:
    """The centre approved the held order: it is confirmed and goes with its trip (``departure`` date)."""
    return await _tell(session, order, "wholesale_order_approved", {"departure": trips.departure_text(departure)})


async def hold_lapsed(session: AsyncSession, order: Order) -> int:
    """The hold lapsed: the order is cancelled, its stock and truck room released."""
    return await _tell(session, order, "wholesale_hold_lapsed", {})
