"""The events pages driven like a browser (form posts with their CSRF and idempotency tokens): an
admin creates an event, adds a slot, sees tickets, attendance and duplicates, and cancels it; the
shop's event page refuses a bad form in Chinese and writes nothing; a ticket refund asked on the
order page past the deadline is refused; the console's check-in page only for operators."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.events import checkin, repository
from app.events.models import FarmEvent, Ticket
from app.kit import clock
from app.orders.models import OrderStatus
from tests.events.builders import Setup, buy, make_event, pay
from tests.fixtures.builders import ensure_warehouse, make_station
from tests.web.test_stock_pages import HTML, form_post, log_in


async def test_an_admin_creates_an_event_adds_a_slot_and_cancels_it(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    station = await make_station(db_session)
    await log_in(client, db_session, Role.admin)
    form: dict[str, str | list[str]] = {
        "title": "板栗采摘亲子游",
        "place": "司前镇板栗园",
        "station_code": station.code,
        "adult_price": "58.00",
        "child_price": "29.50",
        "cancel_hours": "48",
        "description": "",
    }
    bad = await form_post(client, "/admin/events", "/admin/events", {**form, "adult_price": "abc"})
    assert bad.status_code == 422 and "成人票价" in bad.text
    made = await form_post(client, "/admin/events", "/admin/events", form)
    assert made.status_code == 303, made.text
    event = await db_session.scalar(select(FarmEvent).where(FarmEvent.title == "板栗采摘亲子游"))
    assert event is not None and (event.adult_price_minor, event.child_price_minor) == (5800, 2950)
    assert made.headers["location"] == f"/admin/events/{event.id}"

    day = clock.local_date(clock.now() + timedelta(days=5))
    times: dict[str, str | list[str]] = {"starts_at": f"{day}T09:00", "ends_at": f"{day}T12:00", "places": "25"}
    page = f"/admin/events/{event.id}"
    assert (await form_post(client, page, f"{page}/slots", times)).status_code == 303
    shown = await client.get(page, headers=HTML)
    assert "09:00–12:00" in shown.text and ">25<" in shown.text

    await ensure_warehouse(db_session)
    slot = (await repository.slots(db_session, [event.id]))[event.id][0].slot
    order = await buy(db_session, Setup(event, slot, station))
    await pay(db_session, order)
    cancelled = await form_post(client, page, f"{page}/cancel", {"reason": "台风预警"}, after="取消活动")
    assert cancelled.status_code == 303
    await db_session.refresh(order)
    assert (
        order.status.value == "cancelled"
    )  # (mypy narrowed the status above) and order.refunded_minor == 0  # the refund task sends it
    shown = await client.get(page, headers=HTML)
    assert "已取消" in shown.text and "有效门票 0 张" in shown.text
    # The order itself on the ops console: no delivery to show, its refund on its way.
    staff_view = await client.get(f"/admin/orders/{order.number}", headers=HTML)
    assert staff_view.status_code == 200 and "活动门票（无需配送）" in staff_view.text


async def test_the_event_page_refuses_a_bad_form_and_writes_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    setup = await make_event(db_session)
    page = f"/events/{setup.event.id}"
    shown = await client.get(page, headers=HTML)
    assert shown.status_code == 200 and "还剩 10 个名额" in shown.text and "在线支付暂未开通" in shown.text
    data = {"slot_id": str(setup.slot.id), "adults": "0", "children": "0", "contact_name": "陈", "contact_phone": "138"}
    token = re.search(r'name="csrf_token" value="([^"]+)"', shown.text)
    assert token is not None
    refused = await client.post(f"{page}/buy", data={**data, "csrf_token": token.group(1)}, headers=HTML)
    assert refused.status_code == 422
    assert await db_session.scalar(select(func.count()).select_from(Ticket).where(Ticket.slot_id == setup.slot.id)) == 0
    listed = await client.get("/events", headers=HTML)
    assert setup.event.title in listed.text


async def test_a_refund_past_the_deadline_is_refused_on_the_order_page(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    setup = await make_event(db_session, starts_in=timedelta(hours=30), cancel_hours=24)
    customer_id = await log_in(client, db_session, Role.customer)
    order = await buy(db_session, setup, adults=1)
    order.customer_user_id = customer_id
    await pay(db_session, order)
    page = await client.get(f"/orders/{order.number}", headers=HTML)
    assert "退票" in page.text and page.text.count('class="ticket-card"') == 1
    with clock.pinned(clock.now() + timedelta(hours=7)):
        late = await form_post(client, f"/orders/{order.number}", f"/events/orders/{order.number}/cancel", {})
        assert late.status_code == 303 and "ticket_error=ticket_cancellation_too_late" in late.headers["location"]
        shown = await client.get(late.headers["location"], headers=HTML)
    assert "已过退票截止时间" in shown.text
    await db_session.refresh(order)
    assert order.status is OrderStatus.confirmed
    # Before the deadline the same button refunds.
    done = await form_post(client, f"/orders/{order.number}", f"/events/orders/{order.number}/cancel", {})
    assert done.headers["location"] == f"/orders/{order.number}?done=cancelled"
    await db_session.refresh(order)
    assert order.status.value == "cancelled"  # (mypy narrowed the status above)


async def test_the_check_in_page_is_the_operators_and_shows_duplicates_to_admins(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    setup = await make_event(db_session, starts_in=timedelta(hours=1))  # check-in opens 2 h before
    order = await buy(db_session, setup, adults=1)
    await pay(db_session, order)
    token = (await repository.tickets_of_order(db_session, order.id))[0].token
    await log_in(client, db_session, Role.customer)
    assert (await client.get("/station/tickets", headers=HTML)).status_code == 403

    from tests.fixtures.builders import make_user

    operator = await make_user(db_session, Role.station_operator, station_id=setup.station.id)
    for device in ("PDA-A", "PDA-B"):
        await checkin.sync_offline(
            db_session,
            device_id=device,
            station_id=setup.station.id,
            operator_id=operator.id,
            scans=[checkin.OfflineScan("1", token, clock.now() - timedelta(minutes=3))],
        )
    client.cookies.clear()
    await log_in(client, db_session, Role.admin)
    shown = await client.get(f"/admin/events/{setup.event.id}", headers=HTML)
    assert "重复签到 1 次" in shown.text and "PDA-B" in shown.text and "已签到 1 人" in shown.text
