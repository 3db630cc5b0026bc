"""The whole path on a real Celery worker: the SMS gateway fails, the worker records the failure
and retries; once the gateway recovers the message is sent exactly once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import AppEnv, Settings
from app.db import create_sessionmaker
from app.kit import outbox
from app.notifications import service
from app.notifications.models import NotificationMessage, NotificationStatus
from app.worker import CelerySender, broker_url, configure_celery
from tests.fixtures.database import settle_outbox
from tests.fixtures.sms_gateway import GATEWAY_KEY, FakeSmsGateway, serve_gateway

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def gateway() -> Iterator[FakeSmsGateway]:
    with serve_gateway() as gateway:
        yield gateway


@pytest.fixture
def worker_settings(tmp_path: Path, committed_database_url: str) -> Settings:
    return Settings(
        app_env=AppEnv.test,
        app_data_dir=tmp_path / "data",
        database_url=committed_database_url,
        celery_broker_url=os.environ.get("TEST_CELERY_BROKER_URL") or None,
    )


@pytest.fixture
def sms_worker(worker_settings: Settings, gateway: FakeSmsGateway, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATABASE_URL": str(worker_settings.database_url),
        "APP_DATA_DIR": str(worker_settings.app_data_dir),
        "SMS_PROVIDER": "http",
        "SMS_API_URL": gateway.url,
        "SMS_API_KEY": GATEWAY_KEY,
    }
    if worker_settings.celery_broker_url:
        env["CELERY_BROKER_URL"] = worker_settings.celery_broker_url
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--concurrency", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        yield process
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(0.3)
    return False


async def test_a_failed_send_is_retried_by_the_worker_and_sent_once(
    sms_worker: subprocess.Popen[bytes],
    worker_settings: Settings,
    gateway: FakeSmsGateway,
    committed_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    celery = configure_celery(worker_settings, broker=broker_url(worker_settings))
    await settle_outbox(committed_engine)
    sessionmaker = create_sessionmaker(committed_engine)
    gateway.fail_with = 503
    reference = f"NP-W-{uuid.uuid4().hex[:8]}"
    async with outbox.unit_of_work(sessionmaker, CelerySender(celery)) as session:
        message = await service.notify(
            session,
            template="order_expired",
            recipient="13800138000",
            params={"order_number": reference},
            reference=reference,
        )

    async def current() -> NotificationMessage:
        async with sessionmaker() as session:
            found = await session.get(NotificationMessage, message.id)
            assert found is not None
            return found

    async def failed() -> bool:
        return (await current()).status is NotificationStatus.failed

    def worker_log() -> str:
        return (tmp_path / "worker.log").read_text(errors="replace")

    assert await wait_for(failed), f"no failed attempt recorded; worker log:\n{worker_log()[-4000:]}"
    first = await current()
    assert first.last_error == "短信网关返回 HTTP 503：upstream_unavailable" and first.attempts >= 1
    gateway.fail_with = None

    async def sent() -> bool:
        return (await current()).status is NotificationStatus.sent

    assert await wait_for(sent), f"the retry did not send; worker log:\n{worker_log()[-4000:]}"
    done = await current()
    failures = len(gateway.requests) - 1
    assert failures >= 1
    assert [m["client_ref"] for m in gateway.accepted] == [f"np-msg-{message.id}"]
    assert done.attempts == failures + 1 and done.last_error is None
    assert done.provider_message_id == gateway.accepted[0]["message_id"]
    await asyncio.sleep(2)  # nothing else arrives later
    assert len(gateway.accepted) == 1
    assert GATEWAY_KEY not in worker_log() and "13800138000" not in worker_log()
