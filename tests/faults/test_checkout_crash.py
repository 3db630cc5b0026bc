"""The app process killed mid-checkout: after a restart each order either exists once with its stock
held, or does not exist and holds nothing; retrying a request with its Idempotency-Key gives the
stored answer or one fresh order, never two.

``app serve --workers 2 --no-worker`` runs on a database of this test's own (a server named by
``TEST_DATABASE_URL``); 60 customers order at once, 16 at a time, for more boxes than there are.
Once the first orders are answered, the whole server (uvicorn's supervisor and both workers) gets
SIGKILL while the rest are in flight. No broker is involved: orders are written with their stock
hold and their notice in one transaction.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_engine
from bench.harness import free_port
from tests.faults.stocked_shop import (
    StockedShop,
    assert_stock_book_agrees,
    kill_process_group,
    log_tail,
    spawn_group,
    stock_a_shop,
    stock_figures,
)
from tests.fixtures.database import create_database, drop_database

CUSTOMERS = 60
AT_ONCE = 16
BOXES = 70  # fewer than asked for: some customers are told "insufficient stock"
KILL_AFTER_ANSWERS = 12


@pytest.fixture
def own_database() -> Iterator[str]:
    url = create_database("np_crash")
    yield url
    drop_database(url)


class Server:
    def __init__(self, database_url: str, tmp_path: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "APP_ENV": "test",
            "DATABASE_URL": database_url,
            "APP_DATA_DIR": str(tmp_path / "data"),
            "LOG_LEVEL": "WARNING",
            # Online orders hold stock until paid; placing one calls nobody (the payment comes later).
            "STRIPE_SECRET_KEY": "sk_test_crash",
            "STRIPE_WEBHOOK_SECRET": "whsec_crash",
            "STRIPE_API_BASE": "http://127.0.0.1:9",
        }
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.tmp_path / f"server-{self.starts}.log"

    async def start(self) -> None:
        self.starts += 1
        argv = ["serve", "--port", str(self.port), "--workers", "2", "--no-worker"]
        self.process = spawn_group(argv, self.env, self.log)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2) as client:
            for _ in range(240):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.25)
        raise AssertionError(f"the server did not start:\n{log_tail(self.log)}")

    def kill(self) -> None:
        assert self.process is not None
        kill_process_group(self.process)
        self.process = None


@pytest.fixture
def server(own_database: str, tmp_path: Path) -> Iterator[Server]:
    running = Server(own_database, tmp_path)
    yield running
    if running.process is not None:
        running.kill()


@dataclass
class Checkout:
    n: int
    key: str
    body: dict[str, Any]
    status: int | None = None  # None: no answer before the kill
    number: str | None = None


async def checkout(client: httpx.AsyncClient, one: Checkout) -> None:
    try:
        response = await client.post("/api/v1/orders", json=one.body, headers={"Idempotency-Key": one.key})
    except httpx.HTTPError:
        return  # the server died under it
    one.status = response.status_code
    if response.status_code == 201:
        one.number = response.json()["number"]


async def rush(server: Server, shop: StockedShop) -> list[Checkout]:
    checkouts = [
        Checkout(
            n,
            f"crash-{shop.tag}-{n}",
            shop.order_body(payment_method="stripe" if n % 3 == 0 else "pay_at_pickup", quantity=1 + n % 2, n=n),
        )
        for n in range(CUSTOMERS)
    ]
    gate = asyncio.Semaphore(AT_ONCE)
    answers = 0
    enough = asyncio.Event()

    async def one(c: Checkout) -> None:
        nonlocal answers
        async with gate:
            await checkout(client, c)
        if c.status is not None:
            answers += 1
            if answers >= KILL_AFTER_ANSWERS:
                enough.set()

    limits = httpx.Limits(max_connections=AT_ONCE)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=30, limits=limits) as client:
        tasks = [asyncio.create_task(one(c)) for c in checkouts]
        await asyncio.wait_for(enough.wait(), 60)
        server.kill()  # mid-flight: 16 requests on their way, the rest waiting their turn
        await asyncio.gather(*tasks)
    return checkouts


async def _rows(engine: AsyncEngine, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        return [dict(r._mapping) for r in (await conn.execute(text(sql), params)).all()]


async def assert_each_order_holds_its_stock(engine: AsyncEngine, shop: StockedShop) -> list[dict[str, Any]]:
    """Every order of the variant holds exactly its lines in one active reservation; no active
    reservation of the variant belongs to no order; the stock book agrees with the holds."""
    orders = await _rows(
        engine,
        """
        SELECT o.number, o.status, o.contact_phone,
               (SELECT sum(ol.quantity) FROM order_lines ol WHERE ol.order_id = o.id) AS ordered,
               (SELECT coalesce(sum(rl.quantity), 0) FROM reservations r
                  JOIN reservation_lines rl ON rl.reservation_id = r.id
                 WHERE r.reference = o.reservation_reference AND r.status = 'active') AS held
          FROM orders o
         WHERE o.id IN (SELECT ol.order_id FROM order_lines ol JOIN variants v ON v.id = ol.variant_id
                         WHERE v.sku = :sku)
        """,
        sku=shop.sku,
    )
    for order in orders:
        assert order["held"] == order["ordered"], order
    orphans = await _rows(
        engine,
        """
        SELECT r.reference FROM reservations r JOIN reservation_lines rl ON rl.reservation_id = r.id
         WHERE rl.variant_id = :v AND r.status = 'active'
           AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.reservation_reference = r.reference)
        """,
        v=shop.variant_id,
    )
    assert orphans == []
    figures = await stock_figures(engine, shop)
    assert_stock_book_agrees(figures)
    assert figures["reserved"] == sum(o["ordered"] for o in orders)
    return orders


async def test_an_order_survives_a_killed_server_whole_or_not_at_all(
    server: Server, own_database: str, tmp_path: Path
) -> None:
    engine = create_engine(own_database, pool_size=2)
    try:
        shop = await stock_a_shop(engine, on_hand=BOXES)
        await server.start()
        checkouts = await rush(server, shop)
        answered = [c for c in checkouts if c.status is not None]
        cut_off = [c for c in checkouts if c.status is None]
        assert len(answered) >= KILL_AFTER_ANSWERS and cut_off, "the kill did not land mid-flight"
        assert {c.status for c in answered} <= {201, 409}, [(c.n, c.status) for c in answered]

        await server.start()  # after the crash, as a supervisor or a person would
        orders = await assert_each_order_holds_its_stock(engine, shop)
        # An order that was answered exists; none exists twice for one customer (one phone each).
        numbers = {o["number"] for o in orders}
        assert {c.number for c in answered if c.number} <= numbers
        assert len({o["contact_phone"] for o in orders}) == len(orders)
        # A key is stored only with its answer: nothing waits for a request that died.
        keys = await _rows(
            engine,
            "SELECT key, status_code, response->>'number' AS number FROM idempotency_keys WHERE key LIKE :prefix",
            prefix=f"crash-{shop.tag}-%",
        )
        assert all(k["status_code"] in (201, 409) for k in keys), keys
        assert {k["number"] for k in keys if k["number"]} == numbers

        # Every customer tries again with the same key: the stored answer, or one fresh order.
        stored = {k["key"]: k for k in keys}
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            retries = await asyncio.gather(
                *(client.post("/api/v1/orders", json=c.body, headers={"Idempotency-Key": c.key}) for c in checkouts)
            )
        for c, again in zip(checkouts, retries, strict=True):
            assert again.status_code in (201, 409), again.text
            first = stored.get(c.key)
            if first is not None:
                assert again.status_code == first["status_code"]
                assert (again.json().get("number") if again.status_code == 201 else None) == first["number"]
            if c.number is not None:
                assert again.json()["number"] == c.number
        after = await assert_each_order_holds_its_stock(engine, shop)
        per_phone = [o["contact_phone"] for o in after]
        assert len(set(per_phone)) == len(per_phone)  # never two orders for one request
        created = sum(1 for r in retries if r.status_code == 201)
        assert len(after) == created
        print(
            f"{len(answered)} answered before the kill, {len(cut_off)} cut off; "
            f"{len(orders)} orders after the restart, {len(after)} after the retries"
        )
    finally:
        await engine.dispose()
