"""The order list pages (/admin/orders, /account/orders) read a page in a fixed number of SQL
statements, whatever its length."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import Role, User
from tests.fixtures.builders import auth, token_for
from tests.fixtures.shop import Shop, order_body
from tests.orders.test_order_read_model import counting
from tests.web.test_stock_pages import HTML, log_in


@pytest.fixture
async def api_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client without the page session's cookies, for placing orders through the API."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as other:
        yield other


async def _place(api: httpx.AsyncClient, shop: Shop, n: int, phone: str, headers: dict[str, str]) -> list[str]:
    numbers = []
    for _ in range(n):
        body = order_body(
            shop, lines=[{"sku": shop.taro_sku, "quantity": "0.5"}], contact={"name": "李阿姨", "phone": phone}
        )
        response = await api.post("/api/v1/orders", json=body, headers=headers)
        assert response.status_code == 201, response.text
        numbers.append(response.json()["number"])
    return numbers


async def test_the_admin_order_list_is_a_constant_number_of_statements(
    client: httpx.AsyncClient, api_client: httpx.AsyncClient, db_session: AsyncSession, engine: AsyncEngine, shop: Shop
) -> None:
    # Pages of 1, 10 and 20 orders, told apart by the phone's last four digits (the page's search).
    placed = {size: await _place(api_client, shop, size, f"1380000{size:04d}", {}) for size in (1, 10, 20)}
    await log_in(client, db_session, Role.admin)
    assert (await client.get("/admin/orders", headers=HTML)).status_code == 200
    every = [n for numbers in placed.values() for n in numbers]
    counts = {}
    for size, numbers in placed.items():
        with counting(engine) as counter:
            page = await client.get(f"/admin/orders?q={size:04d}", headers=HTML)
        assert page.status_code == 200, page.text
        assert sorted(n for n in every if n in page.text) == sorted(numbers)
        counts[size] = counter.count
    assert counts[1] == counts[10] == counts[20], counts


async def test_my_order_page_is_a_constant_number_of_statements(
    client: httpx.AsyncClient, api_client: httpx.AsyncClient, db_session: AsyncSession, engine: AsyncEngine, shop: Shop
) -> None:
    user = await db_session.get(User, await log_in(client, db_session, Role.customer))
    assert user is not None
    mine = auth(await token_for(db_session, user))
    assert (await client.get("/account/orders", headers=HTML)).status_code == 200
    counts = {}
    numbers: list[str] = []
    for total in (1, 10, 20):
        numbers += await _place(api_client, shop, total - len(numbers), "13800138000", mine)
        with counting(engine) as counter:
            page = await client.get("/account/orders", headers=HTML)
        assert page.status_code == 200, page.text
        assert [n for n in numbers if n in page.text] == numbers
        counts[total] = counter.count
    assert counts[1] == counts[10] == counts[20], counts
