"""The portal's standing orders (/wholesale/standing) through the app (rolled back per test):
每周重复 on an order's page, the list with its next week, skip / undo, pause, a new one from a
pasted list, a colleague sees the company's, another company gets a 404."""

from __future__ import annotations

import html

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.wholesale import ordering
from app.wholesale.ordering import BasketLine
from tests.fixtures.builders import make_user
from tests.fixtures.wholesale_orders import buyer, supply_sku
from tests.wholesale.helpers import sign_in
from tests.wholesale.test_portal import HTML, hidden

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")


async def _page(client: httpx.AsyncClient) -> str:
    page = await client.get("/wholesale/standing", headers=HTML)
    assert page.status_code == 200, page.text[:2000]
    return html.unescape(page.text)


async def _post(client: httpx.AsyncClient, path: str, **data: str) -> httpx.Response:
    page = await client.get("/wholesale/standing", headers=HTML)
    return await client.post(path, data={"csrf_token": hidden(page, "csrf_token"), **data}, headers=HTML)


async def test_repeat_an_order_weekly_then_skip_pause_and_delete(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    sausage = await supply_sku(db_session)
    ours = await buyer(db_session)
    placed = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=2)], address_id=ours.address.id
    )
    await sign_in(client, ours.user.username)

    order_page = await client.get(f"/wholesale/orders/{placed.order.number}", headers=HTML)
    assert "每周重复" in order_page.text
    made = await client.post(
        f"/wholesale/standing/from-order/{placed.order.number}",
        data={"csrf_token": hidden(order_page, "csrf_token"), "idempotency_key": hidden(order_page, "idempotency_key")},
        headers=HTML,
    )
    assert made.status_code == 303, made.text[:2000]
    text = await _page(client)
    assert "每周二车次" in text and "2 箱" in text and sausage.sku in text
    assert "周二（12月8日）车次，周一 18:00 截单前自动下单" in text
    standing_id = text.split('id="standing-')[1].split('"')[0]

    assert (await _post(client, f"/wholesale/standing/{standing_id}/skip")).status_code == 303
    text = await _page(client)
    assert "周二（12月8日）车次已跳过" in text and "之后 周二（12月15日）" in text
    assert (await _post(client, f"/wholesale/standing/{standing_id}/unskip", trip_date="2026-12-08")).status_code == 303
    assert "周二（12月8日）车次，周一 18:00 截单前自动下单" in await _page(client)

    assert (await _post(client, f"/wholesale/standing/{standing_id}/pause")).status_code == 303
    assert "已暂停，恢复后再下单" in await _page(client)
    assert (await _post(client, f"/wholesale/standing/{standing_id}/delete")).status_code == 303
    assert "还没有每周重复订单" in await _page(client)


async def test_a_new_one_from_a_pasted_list_and_a_bad_sku(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    ours = await buyer(db_session)
    await sign_in(client, ours.user.username)
    fields = {"address_id": str(ours.address.id), "weekday": "4"}

    refused = await _post(client, "/wholesale/standing", lines="NOPE-1, 2", **fields)
    assert refused.status_code == 422
    assert "NOPE-1" in html.unescape(refused.text) and "NOPE-1, 2" in html.unescape(refused.text)  # kept as typed
    refused = await _post(
        client, "/wholesale/standing", lines=f"{sausage.sku}, 1", address_id=str(ours.address.id), weekday="1"
    )
    assert refused.status_code == 422 and "周一没有发往广州的车次" in html.unescape(refused.text)

    made = await _post(client, "/wholesale/standing", lines=f"{sausage.sku}, 3", **fields)
    assert made.status_code == 303, made.text[:2000]
    text = await _page(client)
    assert "每周四车次" in text and "3 箱" in text and "周四（12月10日）车次" in text


async def test_colleagues_share_it_and_another_company_gets_a_404(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    from app.wholesale import standing

    sausage = await supply_sku(db_session)
    ours, theirs = await buyer(db_session), await buyer(db_session)
    colleague = await make_user(db_session, Role.buyer, company=ours.company)
    made = await standing.create(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id, weekday=2
    )

    await sign_in(client, colleague.username)
    assert f'id="standing-{made.id}"' in await _page(client)
    assert (await _post(client, f"/wholesale/standing/{made.id}/skip")).status_code == 303

    await client.post(
        "/logout", data={"csrf_token": hidden(await client.get("/wholesale/standing", headers=HTML), "csrf_token")}
    )
    client.cookies.clear()
    await sign_in(client, theirs.user.username)
    text = await _page(client)
    assert f'id="standing-{made.id}"' not in text
    for action in ("skip", "pause", "delete"):
        answer = await _post(client, f"/wholesale/standing/{made.id}/{action}")
        assert answer.status_code == 404, action
    await db_session.refresh(made)
    assert made.is_active and made.skipped_dates  # as the colleague left it
