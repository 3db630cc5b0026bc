"""The per-process cache of public JSON answers: anonymous GETs of the listed paths only, kept for
its time to live, never an answer that sets a cookie or is not a 200, never for a caller with
credentials; on the real app a cached product list costs no SQL statement."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import Receive, Scope, Send

from app.config import Settings
from app.kit.outbox import RecordingSender
from app.kit.public_cache import PublicResponseCache
from app.main import create_app
from tests.fixtures.builders import make_category, make_product


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingApp:
    """Answers every request with a fresh body (its call count), a status and headers we choose."""

    def __init__(self) -> None:
        self.calls = 0
        self.status = 200
        self.headers: list[tuple[bytes, bytes]] = [(b"content-type", b"application/json")]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": f'{{"call": {self.calls}}}'.encode()})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def inner() -> CountingApp:
    return CountingApp()


@pytest.fixture
async def client(inner: CountingApp, clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    cached = PublicResponseCache(inner, paths=("/api/v1/products", "/api/v1/products/"), ttl_seconds=2, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=cached), base_url="http://t") as c:
        yield c


async def test_an_anonymous_get_is_served_again_until_it_expires(
    client: httpx.AsyncClient, inner: CountingApp, clock: Clock
) -> None:
    first = await client.get("/api/v1/products?q=枇杷")
    again = await client.get("/api/v1/products?q=枇杷")
    assert first.json() == again.json() == {"call": 1} and inner.calls == 1
    assert (await client.get("/api/v1/products/loquat")).json() == {"call": 2}  # a prefix path, its own entry
    assert (await client.get("/api/v1/products?q=米")).json() == {"call": 3}  # another query, another entry
    clock.now += 2.5
    assert (await client.get("/api/v1/products?q=枇杷")).json() == {"call": 4}  # expired: asked again


async def test_an_expired_answer_is_fetched_once_while_others_get_the_old_one(clock: Clock) -> None:
    release = asyncio.Event()
    calls = 0

    async def slow(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(calls).encode()})

    cached = PublicResponseCache(slow, paths=("/api/v1/products",), ttl_seconds=1, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=cached), base_url="http://t") as client:
        assert (await client.get("/api/v1/products")).text == "1"
        clock.now += 5
        refreshing = asyncio.create_task(client.get("/api/v1/products"))
        await asyncio.sleep(0.05)
        others = await asyncio.gather(*(client.get("/api/v1/products") for _ in range(5)))
        assert [r.text for r in others] == ["1"] * 5 and calls == 2
        release.set()
        assert (await refreshing).text == "2"
        assert (await client.get("/api/v1/products")).text == "2"


async def test_credentials_other_paths_and_methods_are_never_cached(
    client: httpx.AsyncClient, inner: CountingApp
) -> None:
    await client.get("/api/v1/products")
    assert (await client.get("/api/v1/products", headers={"Authorization": "Bearer x"})).json() == {"call": 2}
    assert (await client.get("/api/v1/products", headers={"Cookie": "np_session=abc"})).json() == {"call": 3}
    await client.get("/api/v1/orders/NP1")
    await client.get("/api/v1/orders/NP1")
    await client.post("/api/v1/products", json={})
    await client.post("/api/v1/products", json={})
    assert inner.calls == 7


@pytest.mark.parametrize("status", [404, 500])
async def test_only_a_200_is_kept(client: httpx.AsyncClient, inner: CountingApp, status: int) -> None:
    inner.status = status
    await client.get("/api/v1/products")
    await client.get("/api/v1/products")
    assert inner.calls == 2


async def test_an_answer_that_sets_a_cookie_is_not_kept(client: httpx.AsyncClient, inner: CountingApp) -> None:
    inner.headers = [*inner.headers, (b"set-cookie", b"np_csrf=1")]
    await client.get("/api/v1/products")
    await client.get("/api/v1/products")
    assert inner.calls == 2


async def test_gzip_and_plain_callers_get_their_own_answers(client: httpx.AsyncClient, inner: CountingApp) -> None:
    await client.get("/api/v1/products", headers={"Accept-Encoding": "gzip"})
    await client.get("/api/v1/products", headers={"Accept-Encoding": "identity"})
    await client.get("/api/v1/products", headers={"Accept-Encoding": "gzip, br"})
    assert inner.calls == 2


async def test_the_real_product_list_from_cache_runs_no_statement(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession], db_session: AsyncSession
) -> None:
    category = await make_category(db_session)
    product, *_ = [await make_product(db_session, category=category) for _ in range(4)]  # over 1 KB: gzipped
    await db_session.commit()
    app = create_app(
        settings.model_copy(update={"public_cache_seconds": 30}),
        engine=engine,
        sessionmaker=sessionmaker,
        task_sender=RecordingSender(),
    )
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        first = await client.get("/api/v1/products", headers={"Accept-Encoding": "gzip"})
        assert first.status_code == 200 and product.slug in first.text
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            again = await client.get("/api/v1/products", headers={"Accept-Encoding": "gzip"})
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert again.content == first.content and again.headers["content-encoding"] == "gzip"
    assert again.headers["content-security-policy"] == first.headers["content-security-policy"]
    assert statements == []

