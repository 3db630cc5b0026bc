"""The ops console's wholesale orders and the trip board's order lists, through the app (rolled
back). Sunday 6 December 2026, noon in China; the route to 广州 runs Tue / Thu / Sat, so the first
trip is Tuesday 8 December."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import Role
from app.orders.models import OrderStatus
from app.wholesale import ordering
from app.wholesale.models import CreditState
from app.wholesale.ordering import BasketLine, PlacedOrder
from tests.fixtures.builders import ensure_warehouse
from tests.fixtures.trips import make_prd_route
from tests.fixtures.wholesale_orders import Buyer, buyer, supply_sku
from tests.orders.test_order_read_model import counting
from tests.web.test_stock_pages import HTML, field, log_in

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")


def order_row(page: httpx.Response, number: str) -> str:
    start = page.text.index(f'id="order-{number}"')
    return page.text[start : page.text.index("</tr>", start)]


async def _place(session: AsyncSession, ours: Buyer, sku: str, cases: int) -> PlacedOrder:
    return await ordering.place_order(
        session, ours.principal, [BasketLine(sku, cases=cases)], address_id=ours.address.id
    )


async def _held(session: AsyncSession) -> tuple[PlacedOrder, PlacedOrder, Buyer]:
    """Two orders of a company with a ¥500 limit: ¥400 within it, then ¥200 more — held."""
    sausage = await supply_sku(session, wholesale_minor=1000)  # ¥200.00 a case
    ours = await buyer(session, credit_limit_minor=50_000)
    first = await _place(session, ours, sausage.sku, 2)
    second = await _place(session, ours, sausage.sku, 1)
    assert second.wholesale.credit_state == CreditState.held.value
    return first, second, ours


async def test_a_held_order_is_listed_first_and_an_admin_approves_it(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await ensure_warehouse(db_session)
    first, held, ours = await _held(db_session)
    await log_in(client, db_session, Role.admin)

    page = await client.get("/admin/wholesale/orders", headers=HTML)

    assert page.status_code == 200
    assert page.text.index(f'id="order-{held.order.number}"') < page.text.index(f'id="order-{first.order.number}"')
    row = order_row(page, held.order.number)
    assert ours.company.name in row
    assert "敞口 ¥600.00 / 额度 ¥500.00 · 超出 ¥100.00" in row
    assert "审批通过" in row
    assert "审批通过" not in order_row(page, first.order.number)
    assert "有 1 张订单超出信用额度" in page.text
    held_only = await client.get("/admin/wholesale/orders?credit=held", headers=HTML)
    assert held.order.number in held_only.text and first.order.number not in held_only.text

    form = {
        "csrf_token": field(page, "csrf_token"),
        "idempotency_key": field(page, "idempotency_key", after=f'id="order-{held.order.number}"'),
    }
    approved = await client.post(f"/admin/wholesale/orders/{held.order.number}/approve", data=form, headers=HTML)
    assert approved.status_code == 303
    again = await client.post(f"/admin/wholesale/orders/{held.order.number}/approve", data=form, headers=HTML)
    assert again.status_code == 303 and again.headers["location"] == approved.headers["location"]  # once per form

    after = await client.get(approved.headers["location"], headers=HTML)
    assert f"订单 {held.order.number} 已审批" in after.text
    row = order_row(after, held.order.number)
    assert CreditState.approved.label_zh in row and OrderStatus.confirmed.label_zh in row
    assert "审批通过" not in after.text
    view = await ordering.order_for(db_session, ours.principal, held.order.number)
    assert view.wholesale.credit_state == CreditState.approved.value

    # A stale page's second approve (a fresh key) is refused with the reason, nothing changed.
    stale = {"csrf_token": form["csrf_token"], "idempotency_key": "a-second-page"}
    refused = await client.post(f"/admin/wholesale/orders/{held.order.number}/approve", data=stale, headers=HTML)
    assert refused.status_code == 409
    assert "不需要审批" in refused.text


async def test_the_warehouse_sees_held_orders_but_cannot_approve(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    await ensure_warehouse(db_session)
    _, held, ours = await _held(db_session)
    await log_in(client, db_session, Role.warehouse)

    page = await client.get("/admin/wholesale/orders", headers=HTML)
    assert page.status_code == 200
    row = order_row(page, held.order.number)
    assert "待管理员审批" in row and "审批通过" not in row
    assert 'href="/admin/wholesale/orders" aria-current="page"' in page.text

    refused = await client.post(
        f"/admin/wholesale/orders/{held.order.number}/approve",
        data={"csrf_token": field(page, "csrf_token"), "idempotency_key": "w-1"},
        headers=HTML,
    )
    assert refused.status_code == 403
    view = await ordering.order_for(db_session, ours.principal, held.order.number)
    assert view.wholesale.credit_state == CreditState.held.value


async def test_a_bad_filter_is_a_message_not_an_error(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    await log_in(client, db_session, Role.warehouse)
    page = await client.get("/admin/wholesale/orders?trip_date=12月8日", headers=HTML)
    assert page.status_code == 422 and "发车日期：日期格式应为 年-月-日" in page.text


async def test_the_trip_board_lists_each_trips_orders_in_a_bounded_number_of_statements(
    client: httpx.AsyncClient, db_session: AsyncSession, engine: AsyncEngine
) -> None:
    await ensure_warehouse(db_session)
    await make_prd_route(db_session, name="深圳线", cities=("深圳",), weekdays=(2,))
    sausage = await supply_sku(db_session, wholesale_minor=1000)
    await log_in(client, db_session, Role.warehouse)
    assert (await client.get("/admin/wholesale/trips?date=2026-12-08", headers=HTML)).status_code == 200
    counts = []
    placed: list[tuple[PlacedOrder, Buyer]] = []
    for orders in (1, 4):
        while len(placed) < orders:
            ours = await buyer(db_session, city=("广州", "深圳", "佛山", "深圳")[len(placed)])
            placed.append((await _place(db_session, ours, sausage.sku, 1 + len(placed)), ours))
        with counting(engine) as counter:
            board = await client.get("/admin/wholesale/trips?date=2026-12-08", headers=HTML)
        assert board.status_code == 200
        assert counter.reading("wholesale_orders") == 1  # one read for both trips' orders
        counts.append(counter.count)
    assert counts[0] == counts[1]  # however many orders and trips have orders

    tables = {
        number: board.text[board.text.index("<table", board.text.index(f'id="trip-{number}"')) :]
        for number in {order.trip.trip.number for order, _ in placed}
    }
    assert len(tables) == 2 and "车次订单（2 单）" in "".join(t[:200] for t in tables.values())
    for n, (order, ours) in enumerate(placed):
        section = tables[order.trip.trip.number]
        section = section[: section.index("</table>")]
        row_start = section.index(order.order.number)
        row = section[row_start : section.index("</tr>", row_start)]
        assert ours.company.name in row and f"{ours.address.city} · {ours.address.address}" in row
        assert f'<td class="num">{1 + n}</td>' in row  # its cases
        assert OrderStatus.confirmed.label_zh in row and CreditState.clear.label_zh in row
