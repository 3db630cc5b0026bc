from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db import create_engine
from app.health import DATABASE_BROKER
from app.kit import clock, outbox
from app.kit.models import OutboxMessage
from app.main import create_app
from tests.fixtures.database import create_database, drop_database, settle_outbox


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


# /readyz reads the outbox on a connection of its own, so its tests commit their messages: in the
# committed database, settled first (earlier tests' messages marked processed) and cleaned after.
NOW = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # 16:00 UTC: midnight in China, the date flips
STALL_AFTER = 300


@pytest.fixture
async def outbox_rows(committed_engine: AsyncEngine) -> AsyncIterator[Callable[..., Awaitable[int]]]:
    """Commit an outbox message created ``age`` seconds before ``NOW``; returns its id."""
    await settle_outbox(committed_engine)
    made: list[int] = []

    async def add(age: int, **columns: object) -> int:
        async with committed_engine.begin() as conn:
            message_id = await conn.scalar(
                insert(OutboxMessage)
                .values(task_name="test.readyz", payload={}, created_at=NOW - timedelta(seconds=age), **columns)
                .returning(OutboxMessage.id)
            )
        assert message_id is not None
        made.append(message_id)
        return message_id

    yield add
    async with committed_engine.begin() as conn:
        await conn.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(made)))


@pytest.fixture
async def ready_client(settings: Settings, committed_engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    ready = create_app(settings.model_copy(update={"outbox_stall_seconds": STALL_AFTER}), engine=committed_engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ready), base_url="http://t") as client:
        yield client


async def test_readyz_ok(ready_client: httpx.AsyncClient, outbox_rows: Callable[..., Awaitable[int]]) -> None:
    with clock.pinned(NOW):
        response = await ready_client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "ok", "background": "ok"},
        "background": {"backlog": 0, "oldest_age_seconds": None, "stall_after_seconds": STALL_AFTER, "given_up": 0},
    }


async def test_readyz_ok_while_background_work_keeps_up(
    ready_client: httpx.AsyncClient, outbox_rows: Callable[..., Awaitable[int]]
) -> None:
    """Messages waiting less than OUTBOX_STALL_SECONDS are work in progress, not a stall."""
    await outbox_rows(STALL_AFTER - 1)
    await outbox_rows(5, sent_at=NOW)
    with clock.pinned(NOW):
        response = await ready_client.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["checks"]["background"] == "ok"
    assert body["background"] == {
        "backlog": 2,
        "oldest_age_seconds": STALL_AFTER - 1,
        "stall_after_seconds": STALL_AFTER,
        "given_up": 0,
    }


async def test_readyz_503_when_background_work_stalled(
    ready_client: httpx.AsyncClient, outbox_rows: Callable[..., Awaitable[int]]
) -> None:
    """The oldest unprocessed message — here one waiting for its next attempt after failures —
    older than the threshold: 503 naming the stalled background work, with the backlog and age."""
    await outbox_rows(
        STALL_AFTER + 1, process_attempts=3, next_attempt_at=NOW + timedelta(seconds=40), last_error="Down: gateway"
    )
    await outbox_rows(60)
    await outbox_rows(900, processed_at=NOW - timedelta(seconds=890))  # done long ago: not waiting
    with clock.pinned(NOW):
        response = await ready_client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready" and body["error"] == "not_ready"
    assert body["checks"] == {"database": "ok", "broker": "ok", "background": "stalled"}
    assert body["background"]["backlog"] == 2 and body["background"]["oldest_age_seconds"] == STALL_AFTER + 1
    assert body["message"] == (
        f"后台任务停滞（background）：最早一条未处理的消息已等待 {STALL_AFTER + 1} 秒，超过 {STALL_AFTER} 秒，积压 2 条"
    )


async def test_readyz_counts_a_given_up_message_without_stalling_for_good(
    ready_client: httpx.AsyncClient, outbox_rows: Callable[..., Awaitable[int]]
) -> None:
    """A message the drain gave up on waits for a person: counted, shown, but no reason to take
    the site out of its load balancer for ever."""
    await outbox_rows(86_400, process_attempts=outbox.MAX_PROCESS_ATTEMPTS, last_error="Rejected: bad number")
    await outbox_rows(10)
    with clock.pinned(NOW):
        response = await ready_client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["background"] == {
        "backlog": 2,
        "oldest_age_seconds": 10,
        "stall_after_seconds": STALL_AFTER,
        "given_up": 1,
    }


async def test_readyz_503_when_broker_down(settings: Settings, committed_engine: AsyncEngine) -> None:
    from app.health import kombu_probe

    await settle_outbox(committed_engine)
    down = create_app(settings, engine=committed_engine, broker_probe=kombu_probe("redis://127.0.0.1:1/0"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://t") as client:
        response = await client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "down", "background": "ok"}
    assert body["error"] == "not_ready" and body["message"] == "依赖服务不可用：broker"


async def test_readyz_503_when_database_down(settings: Settings) -> None:
    """The database down: the background check cannot be made, so it says "unknown", not an error."""
    dead = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", null_pool=True)
    down = create_app(settings, engine=dead)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://t") as client:
        response = await client.get("/readyz")
    await dead.dispose()
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"database": "down", "broker": "ok", "background": "unknown"}
    assert "background" not in body and body["message"] == "依赖服务不可用：database"


async def test_openapi_and_docs(client: httpx.AsyncClient) -> None:
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/products", "/api/v1/products/{slug}", "/healthz", "/readyz"):
        assert path in paths
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = await client.delete("/api/v1/products")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


async def test_healthz_touches_no_database(settings: Settings) -> None:
    """Liveness answers with the database gone (readiness is what reports it) and reads no caller."""
    dead = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", null_pool=True)
    down = create_app(settings, engine=dead)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://t") as client:
        response = await client.get("/healthz", headers={"Authorization": "Bearer not-a-token"})
    await dead.dispose()
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_pages_and_json_are_compressed_when_the_client_accepts_it(client: httpx.AsyncClient) -> None:
    """Over 1 KB, HTML and JSON go gzip-compressed to a client that asks (and only then); small
    answers and files that are already compressed stay as they are."""
    spec = await client.get("/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert spec.headers["content-encoding"] == "gzip" and "accept-encoding" in spec.headers["vary"].lower()
    assert int(spec.headers["content-length"]) < len(spec.content) / 3  # httpx has decoded it
    plain = await client.get("/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == spec.json()
    small = await client.get("/healthz", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers
    docs = await client.get("/docs", headers={"Accept-Encoding": "gzip"})
    assert docs.status_code == 200


@pytest.fixture
def broker_database() -> Iterator[str]:
    url = create_database("np_ready")
    yield url
    drop_database(url)


def test_readyz_checks_a_database_broker_on_its_own_connection(settings: Settings, broker_database: str) -> None:
    """With the default broker (kombu's SQLAlchemy transport on this database) the served app's
    readiness reads kombu's tables on the connection that checks the database, without kombu: the
    broker is down until a process has made its tables."""
    from app.worker import prepare_database_broker

    served = settings.model_copy(update={"database_url": broker_database, "celery_broker_url": ""})
    app = create_app(served)  # no engine given: the lifespan opens the app's own, as `app serve` does

    async def ready() -> httpx.Response:
        async with app.router.lifespan_context(app):
            assert app.state.broker_probe == DATABASE_BROKER
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                return await client.get("/readyz")

    before = asyncio.run(ready())
    assert before.status_code == 503
    assert before.json()["checks"] == {"database": "ok", "broker": "down", "background": "ok"}
    assert before.json()["message"] == "依赖服务不可用：broker"

    prepare_database_broker(served)
    after = asyncio.run(ready())
    assert after.status_code == 200, after.text
    assert after.json()["checks"] == {"database": "ok", "broker": "ok", "background": "ok"}


async def test_readyz_with_a_database_broker_and_the_database_down(settings: Settings) -> None:
    dead = create_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", null_pool=True)
    down = create_app(settings, engine=dead, broker_probe=DATABASE_BROKER)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=down), base_url="http://t") as client:
        response = await client.get("/readyz")
    await dead.dispose()
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "down", "broker": "down", "background": "unknown"}
