"""What operators see: the request id from a request to the task it caused, and ``/metrics``."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.config import Settings
from app.kit import clock, outbox
from app.kit.logs import JsonFormatter, RequestIdFilter
from app.kit.metrics import REGISTRY
from app.kit.models import OutboxMessage
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.notifications import tasks as _notification_tasks  # noqa: F401 - registers SEND_TASK with the drain
from app.notifications.service import SEND_TASK
from app.worker import DRAINED_TASKS, DrainedTask, drain_outbox
from tests.fixtures.builders import auth, make_user, token_for
from tests.fixtures.database import settle_outbox

PHONE = "13800138000"
METRICS_TOKEN = "prometheus-scrape-token-0123456789"


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every record reaching the root logger, as the served config writes it (JSON, request id)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield out
    finally:
        root.removeHandler(handler)


def entries(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_a_valid_request_id_comes_back_and_an_invalid_one_is_replaced(client: httpx.AsyncClient) -> None:
    given = await client.get("/healthz", headers={"X-Request-ID": "lb-42.a_b"})
    assert given.headers["X-Request-ID"] == "lb-42.a_b"
    for bad in ("x" * 65, "has space", "semi;colon"):
        replaced = await client.get("/healthz", headers={"X-Request-ID": bad})
        assert replaced.headers["X-Request-ID"] != bad and len(replaced.headers["X-Request-ID"]) == 32
    made = {(await client.get("/healthz")).headers["X-Request-ID"] for _ in range(2)}
    assert len(made) == 2  # a new one per request
    assert (await client.get("/no-such-page")).headers["X-Request-ID"]  # errors too


async def test_the_task_a_request_caused_logs_with_the_requests_id(
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    json_lines: io.StringIO,
) -> None:
    """An SMS sign-in code: the request writes a notification to the outbox; the worker's drain
    (run here in-process, as tests/worker/test_drain.py does) sends it and logs about it."""
    response = await client.post("/api/v1/auth/sms/code", json={"phone": PHONE}, headers={"X-Request-ID": "req-sms-1"})
    assert response.status_code == 202, response.text
    assert response.headers["X-Request-ID"] == "req-sms-1"
    request_lines = entries(json_lines)

    report = await drain_outbox(sessionmaker, RecordingSender(), task_names=[SEND_TASK])
    assert report.processed == 1
    task_lines = entries(json_lines)[len(request_lines) :]
    sent = [e for e in task_lines if e["logger"].startswith("app.notifications")]
    assert sent and all(e["request_id"] == "req-sms-1" for e in sent), task_lines
    assert PHONE not in json_lines.getvalue()


async def test_a_failed_attempt_of_a_drained_task_is_counted(
    db_session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    name = "test.metrics.failing"

    async def fail(session: AsyncSession, n: int) -> None:
        raise RuntimeError("gateway down")

    DRAINED_TASKS[name] = DrainedTask(fail, None)
    try:
        before = REGISTRY.get_sample_value("nanling_task_failures_total", {"task": name}) or 0
        async with sessionmaker() as session:
            await outbox.enqueue(session, name, n=1)
            await session.commit()
        report = await drain_outbox(sessionmaker, RecordingSender(), task_names=[name])
        assert report.failed == 1
        assert REGISTRY.get_sample_value("nanling_task_failures_total", {"task": name}) == before + 1
    finally:
        DRAINED_TASKS.pop(name, None)


async def test_a_message_written_outside_a_request_has_no_id(db_session: AsyncSession) -> None:
    message = await outbox.enqueue(db_session, "test.no_request", n=1)
    assert message.request_id is None


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, frozenset(labels.items())))


@pytest.fixture
def metrics_app(app: FastAPI) -> FastAPI:
    app.state.settings = app.state.settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})
    return app


async def test_metrics_are_refused_anonymously_and_to_non_admins(
    metrics_app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    anonymous = await client.get("/metrics")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "not_authenticated"
    wrong = await client.get("/metrics", headers=auth("not-the-token"))
    assert wrong.status_code == 401 and wrong.json()["error"] == "token_invalid"
    warehouse = await token_for(db_session, await make_user(db_session, Role.warehouse))
    refused = await client.get("/metrics", headers=auth(warehouse))
    assert refused.status_code == 403 and "message" in refused.json()


async def test_metrics_for_the_token_and_an_admin(
    metrics_app: FastAPI, client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with_token = await client.get("/metrics", headers=auth(METRICS_TOKEN))
    assert with_token.status_code == 200 and with_token.headers["content-type"].startswith("text/plain")
    admin = await token_for(db_session, await make_user(db_session, Role.admin))
    assert (await client.get("/metrics", headers=auth(admin))).status_code == 200
    # Without METRICS_TOKEN set, no bearer value opens it.
    metrics_app.state.settings = metrics_app.state.settings.model_copy(update={"metrics_token": None})
    assert (await client.get("/metrics", headers=auth(METRICS_TOKEN))).status_code == 401


async def test_requests_are_counted_per_route_template_with_pool_figures(
    metrics_app: FastAPI, client: httpx.AsyncClient
) -> None:
    route = "/api/v1/products/{slug}"
    count = "nanling_http_request_duration_seconds_count"
    before = await client.get("/metrics", headers=auth(METRICS_TOKEN))
    start = value(before.text, count, method="GET", route=route, status="404") or 0
    for slug in ("no-such-a", "no-such-b", "no-such-c"):
        assert (await client.get(f"/api/v1/products/{slug}")).status_code == 404
    after = (await client.get("/metrics", headers=auth(METRICS_TOKEN))).text
    assert value(after, count, method="GET", route=route, status="404") == start + 3
    assert "no-such-a" not in after  # the template, never the raw path
    assert (value(after, "nanling_http_request_duration_seconds_bucket", method="GET", route=route,
                  status="404", le="+Inf") or 0) >= 3  # fmt: skip
    assert (value(after, count, method="GET", route="/metrics", status="200") or 0) >= 1
    assert (value(after, "nanling_db_pool_size") or 0) >= 1  # the test engine's pool
    assert value(after, "nanling_db_pool_checked_out") is not None
    assert value(after, "nanling_scrape_source_up", source="database") == 1


async def test_a_cached_answer_is_counted_under_its_route_and_gets_its_own_request_id(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    """The public cache (``app.kit.public_cache``) answers before the router: the route it kept
    labels the hit, and the id is this request's, not the one the answer was kept with."""
    cached = create_app(
        settings.model_copy(update={"public_cache_seconds": 60, "metrics_token": SecretStr(METRICS_TOKEN)}),
        engine=engine,
        sessionmaker=sessionmaker,
    )
    count = "nanling_http_request_duration_seconds_count"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=cached), base_url="http://t") as client:
        before = value((await client.get("/metrics", headers=auth(METRICS_TOKEN))).text, count,
                       method="GET", route="/api/v1/stations", status="200") or 0  # fmt: skip
        first = await client.get("/api/v1/stations", headers={"X-Request-ID": "first"})
        second = await client.get("/api/v1/stations", headers={"X-Request-ID": "second"})
        after = (await client.get("/metrics", headers=auth(METRICS_TOKEN))).text
    assert first.status_code == second.status_code == 200 and first.content == second.content
    assert second.headers.get_list("X-Request-ID") == ["second"]
    assert value(after, count, method="GET", route="/api/v1/stations", status="200") == before + 2


NOW = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)  # 16:00 UTC: midnight in China


@pytest.fixture
async def committed_client(settings: Settings, committed_engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    """The backlog is read on a connection of its own: an app on the committed database."""
    await settle_outbox(committed_engine)
    app = create_app(settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)}), engine=committed_engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        yield client


async def test_outbox_backlog_and_its_age_are_read_at_scrape_time(
    committed_client: httpx.AsyncClient, committed_engine: AsyncEngine
) -> None:
    async with committed_engine.begin() as conn:
        ids = [
            await conn.scalar(
                insert(OutboxMessage)
                .values(task_name="test.metrics", payload={}, created_at=NOW - timedelta(seconds=age))
                .returning(OutboxMessage.id)
            )
            for age in (120, 30)
        ]
    try:
        with clock.pinned(NOW):
            text = (await committed_client.get("/metrics", headers=auth(METRICS_TOKEN))).text
    finally:
        async with committed_engine.begin() as conn:
            await conn.execute(delete(OutboxMessage).where(OutboxMessage.id.in_(ids)))
    assert value(text, "nanling_outbox_backlog") == 2
    assert value(text, "nanling_outbox_oldest_age_seconds") == 120
    assert value(text, "nanling_outbox_given_up") == 0
    # The default broker (no CELERY_BROKER_URL): kombu's table on this database, read as well.
    assert value(text, "nanling_celery_queue_length") is not None
