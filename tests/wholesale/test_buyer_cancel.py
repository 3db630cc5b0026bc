"""A buyer cancels a wholesale order (rolled back per test): through the service, the JSON API
(with an Idempotency-Key) and the portal's confirm page. Allowed until the trip's cut-off (18:00
China time the day before: 10:00 UTC) and until the warehouse packs it; the stock hold and the
truck room are released once; a held order is withdrawn (the lapse sweep and the centre's approval
leave it alone); a colleague may cancel the company's order; another company's is a 404.

Sunday 6 December 2026, noon in China; the first trip to 广州 is Tuesday 8 December, its cut-off
Monday 7 December 18:00 China time (10:00 UTC)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.kit import clock
from app.orders import repository as orders_repository
from app.orders import service as order_service
from app.orders.models import OrderStatus
from app.supply import stock
from app.supply.models import Lot
from app.wholesale import amend_errors, cancelling, errors, ordering, trip_queries
from app.wholesale.models import CreditState
from app.wholesale.ordering import BasketLine, PlacedOrder
from tests.fixtures.builders import auth, ensure_warehouse, make_user, token_for
from tests.fixtures.wholesale_orders import SUNDAY_NOON, Buyer, buyer, supply_sku
from tests.wholesale.helpers import as_principal, sign_in

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")

HTML = {"accept": "text/html"}
BEFORE_CUTOFF = datetime(2026, 12, 7, 9, 59, tzinfo=UTC)  # Monday 17:59 China time
AFTER_CUTOFF = datetime(2026, 12, 7, 10, 1, tzinfo=UTC)  # Monday 18:01 China time


async def placed(session: AsyncSession, who: Buyer, cases: int = 3, *, wholesale_minor: int = 1000) -> PlacedOrder:
    sausage = await supply_sku(session, wholesale_minor=wholesale_minor)
    return await ordering.place_order(
        session, who.principal, [BasketLine(sausage.sku, cases=cases)], address_id=who.address.id
    )


async def available(session: AsyncSession, order: PlacedOrder) -> Decimal:
    warehouse = await ensure_warehouse(session)
    variant_id = order.order.lines[0].variant_id
    lots = list(await session.scalars(select(Lot.id).where(Lot.variant_id == variant_id)))
    return sum([await stock.available_in_level(session, warehouse.id, lot) for lot in lots], Decimal(0))


async def test_cancel_releases_the_stock_and_the_truck_room_once(db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    order = await placed(db_session, ours, cases=3)  # 60 pieces, 30 kg
    trip = await trip_queries.trip_by_id(db_session, order.wholesale.trip_id)
    assert trip is not None and trip.booked_cases == 3 and await available(db_session, order) == Decimal(340)

    with clock.pinned(BEFORE_CUTOFF):
        view = await cancelling.cancel_order(db_session, ours.principal, order.order.number, reason="客户改期")

    assert view.order.status is OrderStatus.cancelled
    assert view.wholesale.trip_released_at == BEFORE_CUTOFF
    assert any(e.kind == "cancelled" and "采购商取消：客户改期" in e.message_zh for e in view.order.events)
    assert await available(db_session, order) == Decimal(400)
    trip = await trip_queries.trip_by_id(db_session, order.wholesale.trip_id)
    assert trip is not None and trip.booked_cases == 0 and trip.booked_kg == Decimal(0)
    # The sweep of ended orders does not take the load off a second time.
    assert await ordering.release_freed_trip_room(db_session) == []
    # Cancelled is cancelled: a second try is refused, and nothing moves.
    with pytest.raises(amend_errors.OrderNotCancellable):
        await cancelling.cancel_order(db_session, ours.principal, order.order.number)


async def test_after_the_cut_off_the_buyer_is_told_to_call_the_centre(db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    order = await placed(db_session, ours)

    with clock.pinned(AFTER_CUTOFF), pytest.raises(amend_errors.CancelAfterCutoff) as refused:
        await cancelling.cancel_order(db_session, ours.principal, order.order.number)

    assert refused.value.status_code == 409
    assert "截单时间（周一 18:00）" in refused.value.text and "致电" in refused.value.text
    again = await orders_repository.order_by_number(db_session, order.order.number)
    assert again is not None and again.status is OrderStatus.confirmed


async def test_a_packed_order_is_not_cancelled(db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    order = await placed(db_session, ours)
    await order_service.record_packed(db_session, order.order, message_zh="已打包", actor_user_id=None)

    with pytest.raises(amend_errors.OrderAlreadyPacked) as refused:
        await cancelling.cancel_order(db_session, ours.principal, order.order.number)

    assert refused.value.status_code == 409
    view = await ordering.order_for(db_session, ours.principal, order.order.number)
    assert not cancelling.can_cancel(view)


async def test_a_held_order_cancelled_is_withdrawn_from_approval_and_the_sweep(db_session: AsyncSession) -> None:
    ours = await buyer(db_session, credit_limit_minor=10_000)
    order = await placed(db_session, ours, cases=1)  # ¥200 > ¥100: held
    assert order.wholesale.credit_state == CreditState.held.value
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))

    view = await cancelling.cancel_order(db_session, ours.principal, order.order.number)

    assert view.order.status is OrderStatus.cancelled
    assert view.wholesale.credit_state == CreditState.withdrawn.value
    assert await ordering.release_lapsed_hold(db_session, now=SUNDAY_NOON + timedelta(hours=25)) == []
    with pytest.raises(errors.OrderNotHeld):
        await ordering.approve_held_order(db_session, order.order.number, actor=admin)
    assert await ordering.owed_minor(db_session, ours.company.id) == 0  # no invoices: its open orders only


async def test_a_colleague_cancels_but_another_company_cannot_see_the_order(db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    theirs = await buyer(db_session)
    order = await placed(db_session, ours)
    colleague = await as_principal(db_session, await make_user(db_session, Role.buyer, company=ours.company))

    with pytest.raises(errors.WholesaleOrderNotFound):
        await cancelling.cancel_order(db_session, theirs.principal, order.order.number)
    view = await cancelling.cancel_order(db_session, colleague, order.order.number)

    assert view.order.status is OrderStatus.cancelled
    assert view.order.events[-1].actor_user_id == colleague.user_id


async def test_the_api_cancels_once_per_idempotency_key(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    theirs = await buyer(db_session)
    order = await placed(db_session, ours)
    token = await token_for(db_session, ours.user)
    path = f"/api/v1/wholesale/orders/{order.order.number}/cancel"

    other = await client.post(path, json={}, headers=auth(await token_for(db_session, theirs.user)))
    assert other.status_code == 404 and other.json()["error"] == "wholesale_order_not_found"

    headers = {**auth(token), "Idempotency-Key": "erp-cancel-1"}
    first = await client.post(path, json={"reason": "门店装修"}, headers=headers)
    again = await client.post(path, json={"reason": "门店装修"}, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "cancelled" and first.json()["message"] == "订单已取消"
    assert again.status_code == 200 and again.json() == first.json()

    fresh = await client.post(path, headers=auth(token))  # no key, no body: refused, the order is cancelled
    assert fresh.status_code == 409 and fresh.json()["error"] == "wholesale_order_not_cancellable"


async def test_the_api_refuses_after_the_cut_off(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    order = await placed(db_session, ours)

    with clock.pinned(AFTER_CUTOFF):
        token = await token_for(db_session, ours.user)
        answer = await client.post(f"/api/v1/wholesale/orders/{order.order.number}/cancel", headers=auth(token))

    assert answer.status_code == 409 and answer.json()["error"] == "wholesale_cancel_after_cutoff"
    assert "请致电" in answer.json()["message"]


def _hidden(page: httpx.Response, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert found is not None, page.text[:2000]
    return found.group(1)


async def test_the_portal_confirms_then_cancels(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    order = await placed(db_session, ours)
    number = order.order.number
    await sign_in(client, ours.user.username)

    page = await client.get(f"/wholesale/orders/{number}", headers=HTML)
    assert f'href="/wholesale/orders/{number}/cancel"' in page.text and "取消订单" in page.text
    confirm = await client.get(f"/wholesale/orders/{number}/cancel", headers=HTML)
    assert confirm.status_code == 200 and "确认取消订单" in confirm.text
    form = {
        "csrf_token": _hidden(confirm, "csrf_token"),
        "idempotency_key": _hidden(confirm, "idempotency_key"),
        "reason": "改下周",
    }
    done = await client.post(f"/wholesale/orders/{number}/cancel", data=form)
    assert done.status_code == 303 and done.headers["location"].startswith(f"/wholesale/orders/{number}?notice=")
    # The same form posted twice (a double click): the same answer, nothing done twice.
    twice = await client.post(f"/wholesale/orders/{number}/cancel", data=form)
    assert twice.status_code == 303

    shown = await client.get(done.headers["location"], headers=HTML)
    assert "订单已取消，库存和车位已释放" in shown.text and "已取消" in shown.text
    assert f'href="/wholesale/orders/{number}/cancel"' not in shown.text
    again = await client.get(f"/wholesale/orders/{number}/cancel", headers=HTML)
    assert 'id="cancel-refused"' in again.text and 'id="cancel-form"' not in again.text


async def test_the_portal_shows_the_refusal_after_the_cut_off(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    ours = await buyer(db_session)
    order = await placed(db_session, ours)
    number = order.order.number
    with clock.pinned(BEFORE_CUTOFF):
        await sign_in(client, ours.user.username)
        confirm = await client.get(f"/wholesale/orders/{number}/cancel", headers=HTML)
    form = {"csrf_token": _hidden(confirm, "csrf_token"), "idempotency_key": _hidden(confirm, "idempotency_key")}

    with clock.pinned(AFTER_CUTOFF):  # the page was opened at 17:59, posted at 18:01
        refused = await client.post(f"/wholesale/orders/{number}/cancel", data=form)
        page = await client.get(f"/wholesale/orders/{number}", headers=HTML)

    assert refused.status_code == 409 and "请致电" in refused.text
    assert f'href="/wholesale/orders/{number}/cancel"' not in page.text


async def test_another_companys_cancel_page_is_a_404(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    ours = await buyer(db_session)
    theirs = await buyer(db_session)
    order = await placed(db_session, ours)
    await sign_in(client, theirs.user.username)

    page = await client.get(f"/wholesale/orders/{order.order.number}/cancel", headers=HTML)
    assert page.status_code == 404
