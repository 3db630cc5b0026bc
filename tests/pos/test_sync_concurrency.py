"""Exactly once for real (issue 14, item 8): the same queue uploaded at the same moment from two
connections, and an upload whose answer is lost on the wire and that the till sends again — one
sale each, the book and the ledger agree, nothing lost.

Rows stay in the committed database, so each test has its own store, till and goods."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.orders.models import Order
from app.pos.sale_models import Sale, StockException
from tests.fixtures.http_server import DROP_HEADER, DropResponses, serve_in_thread
from tests.fixtures.pos import make_till, till_token
from tests.fixtures.pos_sales import (
    Shop,
    book_agrees,
    cash,
    line,
    make_shop,
    sale,
    shift_close,
    shift_open,
    sign_in,
    upload,
)


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(app_env=AppEnv.test, app_data_dir=tmp_path / "data", database_url=url)


async def _shop(engine: AsyncEngine) -> Shop:
    async with create_sessionmaker(engine)() as session:
        shop = await make_shop(session, box_stock="6", code=f"STORE-C{uuid.uuid4().hex[:6].upper()}")
        await session.commit()
    return shop


def _queue(shop: Shop, sid: str) -> list[dict[str, Any]]:
    """Ten sales: eight boxes in all against six on the book, and loquats."""
    ops = [sale(shop, sid, [line(shop.box, "1", 1280), line(shop.jin, "0.5", 1680)]) for _ in range(8)]
    ops += [sale(shop, sid, [line(shop.jin, "1", 1680)], made_offline=True) for _ in range(2)]
    return ops


async def _counts(engine: AsyncEngine, shop: Shop) -> tuple[int, int, int]:
    async with create_sessionmaker(engine)() as session:
        sales = await session.scalar(select(func.count()).select_from(Sale).where(Sale.store_id == shop.store.id))
        orders = await session.scalar(
            select(func.count()).select_from(Order).where(Order.number.startswith(f"{shop.till.sale_prefix}-"))
        )
        shorts = await session.scalar(
            select(func.sum(StockException.quantity)).where(StockException.store_id == shop.store.id)
        )
        await book_agrees(session, shop.location.id)
    return int(sales or 0), int(orders or 0), int(shorts or 0)


@asynccontextmanager
async def _two_connections(
    tmp_path: Path, url: str, engine: AsyncEngine
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two clients of one app on the committed database, each request on its own connection."""
    app = create_app(
        _settings(tmp_path, url), engine=engine, sessionmaker=create_sessionmaker(engine), task_sender=RecordingSender()
    )
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as one,
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as two,
    ):
        yield one, two


async def test_the_same_queue_from_two_connections_at_once_lands_once(
    tmp_path: Path, committed_database_url: str, committed_engine: AsyncEngine
) -> None:
    shop = await _shop(committed_engine)
    async with _two_connections(tmp_path, committed_database_url, committed_engine) as (one, two):
        clerk = await sign_in(one, shop)
        opened = shift_open()
        queue = [opened, *_queue(shop, opened["client_id"])]
        first, second = await asyncio.gather(upload(one, clerk, *queue), upload(two, clerk, *queue))
        closed = await asyncio.gather(
            *(upload(c, clerk, shift_close(opened["client_id"], {}, made_offline=True)) for c in (one, two))
        )
    for mine, theirs in zip(first, second, strict=True):
        assert {mine["outcome"], theirs["outcome"]} == {"recorded", "duplicate"}, (mine, theirs)
        assert mine["number"] == theirs["number"]
    assert Counter(r[0]["outcome"] for r in closed) == Counter({"recorded": 1, "duplicate": 1})
    # 8 boxes sold against 6 on the book: 2 short, raised once.
    assert await _counts(committed_engine, shop) == (10, 10, 2)


class _LoseFirstSyncAnswer:
    """Marks the first answer to ``POST /api/v1/pos/sync`` to be cut off on the wire (after the
    server committed): the till never hears back, as when the network drops mid-answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.lost = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        drop = scope["type"] == "http" and scope["path"] == "/api/v1/pos/sync" and self.lost == 0

        async def marking(message: Message) -> None:
            if drop and message["type"] == "http.response.start":
                self.lost += 1
                message = {**message, "headers": [*message.get("headers", []), (DROP_HEADER.encode(), b"1")]}
            await send(message)

        await self.app(scope, receive, marking)


@pytest.fixture
def served(tmp_path: Path, committed_database_url: str) -> Iterator[tuple[str, _LoseFirstSyncAnswer]]:
    # The server gets its own engine: its connections live on the server thread's event loop.
    engine = create_engine(committed_database_url, null_pool=True)
    app = create_app(_settings(tmp_path, committed_database_url), engine=engine, task_sender=RecordingSender())
    losing = _LoseFirstSyncAnswer(app)
    with serve_in_thread(DropResponses(losing), name="pos server") as base:
        yield base, losing


async def test_an_upload_whose_answer_is_lost_is_sent_again_without_loss_or_duplicate(
    served: tuple[str, _LoseFirstSyncAnswer], committed_engine: AsyncEngine
) -> None:
    base, losing = served
    shop = await _shop(committed_engine)
    async with httpx.AsyncClient(base_url=base, timeout=10) as till:
        clerk = await sign_in(till, shop)
        opened = shift_open()
        queue = [opened, *_queue(shop, opened["client_id"])]
        with pytest.raises(httpx.TransportError):
            await till.post("/api/v1/pos/sync", headers=clerk, json={"ops": queue[:6]})
        assert losing.lost == 1
        # The till heard nothing: it keeps its whole queue, made two more sales meanwhile, and sends it all.
        queue += [sale(shop, opened["client_id"], [line(shop.jin, "0.5", 1680)]) for _ in range(2)]
        results = await upload(till, clerk, *queue)
    assert [r["outcome"] for r in results] == ["duplicate"] * 6 + ["recorded"] * 7, results
    assert await _counts(committed_engine, shop) == (12, 12, 2)


async def test_two_tills_of_one_store_uploading_at_once_never_deadlock_nor_oversell(
    tmp_path: Path, committed_database_url: str, committed_engine: AsyncEngine
) -> None:
    """Issue 15: tills of one store take the same lots. Till A's sales name the loquats before the
    boxes, till B's the other way round, each batch cut in two runs by a cash movement: each upload
    locks its stock rows at once and in one order, so neither waits on the other in a cycle."""
    shop = await _shop(committed_engine)
    async with create_sessionmaker(committed_engine)() as session:
        other = await make_till(session, shop.store)
        device = await till_token(session, other)
        await session.commit()
    shop_b = dataclasses.replace(shop, till=other, device=device)
    async with _two_connections(tmp_path, committed_database_url, committed_engine) as (one, two):
        clerks = [await sign_in(one, shop), await sign_in(two, shop_b)]
        opened = [shift_open(), shift_open()]
        for client, clerk, op in zip((one, two), clerks, opened, strict=True):
            assert [r["outcome"] for r in await upload(client, clerk, op)] == ["recorded"]

        def batch(till: Shop, sid: str, first: str) -> list[dict[str, Any]]:
            jin, box = line(till.jin, "0.5", 1680), line(till.box, "1", 1280)
            order = [jin, box] if first == "jin" else [box, jin]
            sales = [sale(till, sid, [order[n % 2]]) for n in range(6)]
            return [*sales[:3], cash("in", 100, sid), *sales[3:]]

        rounds = [
            (batch(shop, opened[0]["client_id"], "jin"), batch(shop_b, opened[1]["client_id"], "box")) for _ in range(4)
        ]
        for mine, theirs in rounds:
            answers = await asyncio.gather(upload(one, clerks[0], *mine), upload(two, clerks[1], *theirs))
            assert all(r["outcome"] == "recorded" for results in answers for r in results), answers
    async with create_sessionmaker(committed_engine)() as session:
        sales = await session.scalar(select(func.count()).select_from(Sale).where(Sale.store_id == shop.store.id))
        shorts = await session.scalar(
            select(func.sum(StockException.quantity)).where(
                StockException.store_id == shop.store.id, StockException.variant_id == shop.box.id
            )
        )
        await book_agrees(session, shop.location.id)
    # 4 rounds × 2 tills × 3 boxes = 24 boxes against 6 on the book: 18 short, none sold twice.
    assert (sales, shorts) == (48, 18)
