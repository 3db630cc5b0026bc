"""A database that cannot be reached answers 503 (JSON error model or a short page, Retry-After),
never 500; other errors keep their 500. Real errors from real connections: a port where nothing
listens, a backend terminated under a connection, a pool with no connection free."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.config import Settings
from app.db import DbSession, as_asyncpg_url, create_engine
from app.kit.unavailable import RETRY_AFTER_SECONDS, database_unavailable
from app.main import create_app
from bench.harness import free_port


@pytest.fixture
async def unreachable_engine() -> AsyncIterator[AsyncEngine]:
    """An engine on a port where nothing listens: every connect is refused."""
    engine = create_engine(f"postgresql://postgres@127.0.0.1:{free_port()}/nanling", pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
async def unreachable_client(settings: Settings, unreachable_engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, engine=unreachable_engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        yield client


async def test_api_answers_503_with_the_error_model(unreachable_client: httpx.AsyncClient) -> None:
    response = await unreachable_client.get("/api/v1/stations")
    assert response.status_code == 503
    body = response.json()
    assert body["error"] == "service_unavailable" and "稍后重试" in body["message"]
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert "Traceback" not in response.text and "asyncpg" not in response.text


async def test_a_page_answers_a_short_503_page(unreachable_client: httpx.AsyncClient) -> None:
    response = await unreachable_client.get("/", headers={"Accept": "text/html"})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "服务暂时不可用" in response.text and "自动恢复" in response.text
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert "Traceback" not in response.text


async def test_readyz_says_the_database_is_down(unreachable_client: httpx.AsyncClient) -> None:
    response = await unreachable_client.get("/readyz")
    assert response.status_code == 503 and response.json()["checks"]["database"] == "down"


async def _raised(work: Awaitable[object]) -> BaseException:
    try:
        await work
    except Exception as exc:
        return exc
    raise AssertionError("no error")


async def test_a_terminated_backend_is_unavailable_not_a_bug(database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    killer = create_async_engine(as_asyncpg_url(database_url))
    try:
        async with engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
            async with killer.connect() as other:
                await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            error = await _raised(conn.execute(text("SELECT 1")))
        assert isinstance(error, DBAPIError) and database_unavailable(error)
        # The pool was invalidated with it: the next checkout gets a fresh, working connection.
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
    finally:
        await engine.dispose()
        await killer.dispose()


async def test_no_free_connection_in_time_is_unavailable(database_url: str) -> None:
    engine = create_async_engine(as_asyncpg_url(database_url), pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        async with engine.connect():
            error = await _raised(engine.connect().__aenter__())
        assert isinstance(error, PoolTimeout) and database_unavailable(error)
    finally:
        await engine.dispose()


async def test_errors_of_the_request_or_the_code_stay_errors(database_url: str, tmp_path: Path) -> None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            division = await _raised(conn.execute(text("SELECT 1 / 0")))
    finally:
        await engine.dispose()
    assert isinstance(division, DBAPIError) and not database_unavailable(division)
    # An OSError of our own (an upload that cannot be written) is not the database's.
    missing = await _raised(asyncio.to_thread((tmp_path / "missing" / "photo.jpg").read_bytes))
    assert isinstance(missing, OSError) and not database_unavailable(missing)


async def test_a_failing_statement_still_answers_500(settings: Settings, database_url: str) -> None:
    engine = create_engine(database_url, pool_size=1)
    app = create_app(settings, engine=engine)

    async def divide(session: DbSession) -> dict[str, object]:
        return {"value": await session.scalar(text("SELECT 1 / 0"))}

    app.add_api_route("/api/v1/test-divide", divide)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/api/v1/test-divide")
    finally:
        await engine.dispose()
    assert response.status_code == 500 and response.json()["error"] == "internal_error"
    assert "retry-after" not in response.headers
