"""Order lists are read in a fixed number of SQL statements, whatever the page size (no N+1),
and each listed order reads exactly as the single-order API shows it to staff."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import Role
from app.orders.models import Order, Payment, PaymentState
from tests.fixtures.builders import auth, make_user, token_for
from tests.fixtures.shop import Shop, order_body


class StatementCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def reading(self, *tables: str) -> int:
        """Statements that read from one of ``tables``."""
        return sum(1 for s in self.statements if s.lstrip().startswith("SELECT") and any(f" {t}." in s for t in tables))


@contextmanager
def counting(engine: AsyncEngine) -> Iterator[StatementCounter]:
    """Counts every statement sent to the database (the app's session runs on this engine's
    connection in the tests)."""
    counter = StatementCounter()
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", counter)


async def _place(client: httpx.AsyncClient, shop: Shop, n: int, headers: dict[str, str]) -> list[str]:
    numbers = []
    for _ in range(n):
        body = order_body(shop, lines=[{"sku": shop.taro_sku, "quantity": "1"}])
        response = await client.post("/api/v1/orders", json=body, headers=headers)
        assert response.status_code == 201, response.text
        numbers.append(response.json()["number"])
    return numbers


async def _add_payment(db_session: AsyncSession, number: str) -> None:
    """An online payment attempt, so the read model has payments to show."""
    order = await db_session.scalar(select(Order).where(Order.number == number))
    assert order is not None
    db_session.add(
        Payment(
            order_id=order.id,
            provider="stripe",
            method="alipay",
            state=PaymentState.requires_action,
            amount_minor=1850,
            currency="CNY",
            idempotency_key=f"test:{number}",
            next_action={"type": "redirect", "url": "https://example.invalid/pay"},
        )
    )
    await db_session.flush()


async def test_staff_order_list_is_a_constant_number_of_statements(
    client: httpx.AsyncClient, db_session: AsyncSession, engine: AsyncEngine, shop: Shop
) -> None:
    staff = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    customer = auth(await token_for(db_session, await make_user(db_session, Role.customer)))
    numbers = await _place(client, shop, 20, customer)
    for number in numbers[::3]:
        await _add_payment(db_session, number)

    # The token's first use stamps its last use (a write that later requests skip): not measured.
    assert (await client.get("/api/v1/admin/orders?limit=1", headers=staff)).status_code == 200
    counts = {}
    order_reads = {}
    for size in (1, 10, 20):
        with counting(engine) as counter:
            response = await client.get(f"/api/v1/admin/orders?limit={size}", headers=staff)
        assert response.status_code == 200, response.text
        listed = response.json()
        assert [o["number"] for o in listed] == numbers[::-1][:size]
        counts[size] = counter.count
        order_reads[size] = counter.reading("orders", "order_lines", "order_events", "payments", "stations")
    assert counts[1] == counts[10] == counts[20], counts
    # Orders (with their station joined in), then lines, events and payments: one statement each.
    assert order_reads == {1: 4, 10: 4, 20: 4}

    # Each listed order reads as the single-order API shows it to staff: payments, events, station,
    # and never the pickup code — but a list masks the customer's name, which an admin reading the
    # one order sees in full (PIPL; the README's 个人信息 table).
    for out in listed:
        single = await client.get(f"/api/v1/orders/{out['number']}", headers=staff)
        assert (out["contact_name"], single.json()["contact_name"]) == ("李**", "李阿姨")
        assert out == {**single.json(), "contact_name": "李**"}
        assert out["pickup"] is None
    with_payment = {o["number"]: o["payments"] for o in listed}
    assert [(p["method"], p["state"]) for p in with_payment[numbers[0]]] == [("alipay", "requires_action")]
    assert with_payment[numbers[1]] == []
    assert listed[0]["station"]["code"] == shop.station_code
    assert [e["kind"] for e in listed[0]["events"]] == [e["kind"] for e in listed[-1]["events"]] != []


async def test_my_orders_is_a_constant_number_of_statements(
    client: httpx.AsyncClient, db_session: AsyncSession, engine: AsyncEngine, shop: Shop
) -> None:
    alice_user = await make_user(db_session, Role.customer)
    alice = auth(await token_for(db_session, alice_user))
    bob = auth(await token_for(db_session, await make_user(db_session, Role.customer)))
    await _place(client, shop, 3, bob)

    counts = {}
    order_reads = {}
    mine: list[str] = []
    for total in (1, 10, 20):
        mine += await _place(client, shop, total - len(mine), alice)
        with counting(engine) as counter:
            response = await client.get("/api/v1/me/orders", headers=alice)
        assert response.status_code == 200, response.text
        assert [o["number"] for o in response.json()] == mine[::-1]
        counts[total] = counter.count
        order_reads[total] = counter.reading("orders", "order_lines", "order_events", "payments", "stations")
    assert counts[1] == counts[10] == counts[20], counts
    assert order_reads == {1: 4, 10: 4, 20: 4}
    for out in response.json():
        single = await client.get(f"/api/v1/orders/{out['number']}", headers=alice)
        # The list never carries the pickup code; everything else is the order as its owner sees it.
        assert out == {**single.json(), "pickup": None}
