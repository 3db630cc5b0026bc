"""Bad input is a 4xx, never a 500: an offline scan time without a time zone (it cannot be compared
with the server's clock) and a slot id past the database's bigint, in the JSON API and the form."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.events.checkin import qr_content
from app.events.models import Ticket
from tests.events.builders import buy, make_event, pay
from tests.fixtures.builders import auth, make_user, token_for
from tests.web.test_stock_pages import HTML

TOO_BIG = "9" * 30


async def test_a_naive_offline_scan_time_is_refused_with_422(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    setup = await make_event(db_session)
    order = await buy(db_session, setup)
    await pay(db_session, order)
    operator = await make_user(db_session, Role.station_operator, station_id=setup.station.id)
    (ticket,) = await db_session.scalars(select(Ticket).where(Ticket.order_id == order.id))
    scan = {"client_id": "1", "code": qr_content(ticket.token), "scanned_at": "2026-12-06T10:00:00"}
    answer = await client.post(
        "/api/v1/pda/tickets/offline-check-ins",
        json={"device_id": "PDA-A", "scans": [scan]},
        headers=auth(await token_for(db_session, operator)),
    )
    assert answer.status_code == 422
    await db_session.refresh(ticket)
    assert ticket.checked_in_at is None


async def test_an_overflowing_slot_id_is_refused_not_a_500(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    setup = await make_event(db_session)
    body = {"slot_id": int(TOO_BIG), "adults": 1, "contact": {"name": "陈", "phone": "13800138000"}}
    answer = await client.post("/api/v1/events/tickets", json=body)
    assert answer.status_code == 422
    page = f"/events/{setup.event.id}"
    shown = await client.get(page, headers=HTML)
    token = re.search(r'name="csrf_token" value="([^"]+)"', shown.text)
    assert token is not None
    data = {"slot_id": TOO_BIG, "adults": "1", "children": "0", "contact_name": "陈", "contact_phone": "13800138000"}
    refused = await client.post(f"{page}/buy", data={**data, "csrf_token": token.group(1)}, headers=HTML)
    assert refused.status_code == 422
    assert await db_session.scalar(select(func.count()).select_from(Ticket).where(Ticket.slot_id == setup.slot.id)) == 0
