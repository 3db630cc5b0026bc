"""The send task's body against both providers: the outbox-only one keeps the message in the
building; the HTTP one talks to a local fake SMS gateway over real HTTP. A gateway failure leaves
the message ``failed`` and unclaimed; the retry after recovery sends it exactly once."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.config import AppEnv, Settings, SmsProviderKind
from app.db import create_sessionmaker
from app.kit import outbox
from app.kit.outbox import OutboxMessage, RecordingSender
from app.notifications import service, tasks
from app.notifications.models import NotificationMessage, NotificationStatus
from app.notifications.providers import HttpSmsProvider, OutboxOnlyProvider, ProviderError, provider_from_settings
from app.worker import TASK_MODULES, celery_app, process_outbox_message
from tests.fixtures.sms_gateway import GATEWAY_KEY, FakeSmsGateway, serve_gateway

PHONE = "+8613800138000"


@pytest.fixture(scope="module")
def running_gateway() -> Iterator[FakeSmsGateway]:
    with serve_gateway() as gateway:
        yield gateway


@pytest.fixture
def gateway(running_gateway: FakeSmsGateway) -> FakeSmsGateway:
    running_gateway.reset()
    return running_gateway


def http_provider(gateway: FakeSmsGateway, key: str = GATEWAY_KEY) -> HttpSmsProvider:
    return HttpSmsProvider(gateway.url, key, "南岭明珠", timeout=5)


async def queued(session: AsyncSession, reference: str = "NP2611290009") -> NotificationMessage:
    return await service.notify(
        session,
        template="order_expiring",
        recipient="13800138000",
        params={"order_number": reference, "minutes": 5},
        reference=reference,
    )


async def test_outbox_only_keeps_the_message_and_sends_nothing(
    db_session: AsyncSession, gateway: FakeSmsGateway
) -> None:
    message = await queued(db_session)
    result = await service.send_message(db_session, message.id, OutboxOnlyProvider())
    assert result is not None
    assert result.status is NotificationStatus.outbox_only
    assert (result.attempts, result.provider, result.provider_message_id, result.sent_at) == (1, "outbox", None, None)
    # A duplicate delivery changes nothing.
    await service.send_message(db_session, message.id, OutboxOnlyProvider())
    await db_session.refresh(message)
    assert (message.status, message.attempts) == (NotificationStatus.outbox_only, 1)
    assert gateway.requests == []


async def test_http_provider_sends_through_the_gateway(db_session: AsyncSession, gateway: FakeSmsGateway) -> None:
    message = await queued(db_session)
    sent = await service.send_message(db_session, message.id, http_provider(gateway))
    assert sent is not None
    assert len(gateway.accepted) == 1
    request = gateway.requests[0]
    assert request["headers"]["authorization"] == f"Bearer {GATEWAY_KEY}"
    assert request["json"] == {
        "to": PHONE,
        "text": "【南岭明珠】订单NP2611290009尚未支付，订单将在5分钟后因未支付自动取消。",
        "sign": "南岭明珠",
        "client_ref": f"np-msg-{message.id}",
    }
    assert sent.status is NotificationStatus.sent
    assert sent.provider_message_id == gateway.accepted[0]["message_id"]
    assert (sent.attempts, sent.provider, sent.last_error) == (1, "http", None)
    assert sent.sent_at is not None

    # Already sent: a second run of the task body does not call the gateway again.
    await service.send_message(db_session, message.id, http_provider(gateway))
    assert len(gateway.requests) == 1
    await db_session.refresh(message)
    assert message.attempts == 1


async def test_wrong_key_and_unreachable_gateway_are_provider_errors(gateway: FakeSmsGateway) -> None:
    with pytest.raises(ProviderError) as refused:
        await http_provider(gateway, key="wrong-key").send(PHONE, "【南岭明珠】测试", reference="np-msg-1")
    assert refused.value.status_code == 401
    assert str(refused.value) == "短信网关返回 HTTP 401：unauthorized"
    assert gateway.accepted == []

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    down = HttpSmsProvider(f"http://127.0.0.1:{closed}/v1/messages", GATEWAY_KEY, "南岭明珠", timeout=2)
    with pytest.raises(ProviderError, match="短信网关连接失败") as unreachable:
        await down.send(PHONE, "【南岭明珠】测试", reference="np-msg-2")
    assert unreachable.value.status_code is None


async def test_a_gateway_failure_is_recorded_and_the_retry_sends_once(
    committed_engine: AsyncEngine,
    gateway: FakeSmsGateway,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Runs the task's own pieces (claim + body in one transaction, the failure hook in another)
    exactly as ``outbox_task`` does, on a database where commits are real."""
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        app_env=AppEnv.test,
        sms_provider=SmsProviderKind.http,
        sms_api_url=gateway.url,
        sms_api_key=SecretStr(GATEWAY_KEY),
    )
    monkeypatch.setattr(tasks, "get_settings", lambda: settings)
    sessionmaker = create_sessionmaker(committed_engine)
    reference = f"NP-RT-{uuid.uuid4().hex[:8]}"
    sender = RecordingSender()
    async with outbox.unit_of_work(sessionmaker, sender) as session:
        message = await queued(session, reference)
    [(outbox_id, task_name, payload)] = sender.sent
    assert (task_name, payload) == ("notifications.send", {"message_id": message.id})

    async def deliver() -> bool:
        return await process_outbox_message(
            sessionmaker,
            None,
            name=task_name,
            outbox_id=outbox_id,
            fn=tasks.send_notification,
            payload=payload,
            on_failure=tasks.record_send_failure,
        )

    async def state() -> tuple[NotificationMessage, OutboxMessage]:
        async with sessionmaker() as session:
            stored = await session.get(NotificationMessage, message.id)
            claim = await session.get(OutboxMessage, outbox_id)
            assert stored is not None and claim is not None
            return stored, claim

    gateway.fail_with = 500
    with pytest.raises(ProviderError, match="HTTP 500"):
        await deliver()
    failed, claim = await state()
    assert failed.status is NotificationStatus.failed
    assert (failed.attempts, failed.provider, failed.sent_at) == (1, "http", None)
    assert failed.last_error == "短信网关返回 HTTP 500：upstream_unavailable"
    assert failed.last_attempt_at is not None
    assert claim.processed_at is None  # the claim rolled back: the retry will do the work
    assert gateway.accepted == [] and len(gateway.requests) == 1

    gateway.fail_with = None  # the gateway recovers; Celery's retry delivers the message again
    assert await deliver() is True
    sent, claim = await state()
    assert sent.status is NotificationStatus.sent
    assert (sent.attempts, sent.last_error) == (2, None)
    assert [m["client_ref"] for m in gateway.accepted] == [f"np-msg-{message.id}"]
    assert sent.provider_message_id == gateway.accepted[0]["message_id"]
    assert claim.processed_at is not None

    # The broker delivers at least once: another delivery neither sends nor changes anything.
    assert await deliver() is False
    again, _ = await state()
    assert len(gateway.accepted) == 1 and len(gateway.requests) == 2
    assert (again.status, again.attempts) == (NotificationStatus.sent, 2)

    # A failure recorded late (a racing delivery's) never overwrites a sent message.
    async with outbox.unit_of_work(sessionmaker) as session:
        assert await service.record_failure(session, message.id, ProviderError("late"), provider="http") is False
    late, _ = await state()
    assert (late.status, late.attempts) == (NotificationStatus.sent, 2)

    # Neither the key nor the full phone number reached the logs; the last four digits did.
    assert GATEWAY_KEY not in caplog.text
    assert "13800138000" not in caplog.text
    assert "…8000" in caplog.text


async def test_an_unexpected_error_is_recorded_without_its_text(
    committed_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Exploding:
        name = "http"
        delivers = True

        async def send(self, recipient: str, body: str, *, reference: str | None) -> str:
            raise RuntimeError(f"bug while sending to {recipient}")

    monkeypatch.setattr(tasks, "provider_from_settings", lambda _: Exploding())
    sessionmaker = create_sessionmaker(committed_engine)
    sender = RecordingSender()
    async with outbox.unit_of_work(sessionmaker, sender) as session:
        message = await queued(session, f"NP-UX-{uuid.uuid4().hex[:8]}")
    [(outbox_id, task_name, payload)] = sender.sent
    with pytest.raises(RuntimeError):
        await process_outbox_message(
            sessionmaker,
            None,
            name=task_name,
            outbox_id=outbox_id,
            fn=tasks.send_notification,
            payload=payload,
            on_failure=tasks.record_send_failure,
        )
    async with sessionmaker() as session:
        stored = await session.get(NotificationMessage, message.id)
        assert stored is not None
        assert (stored.status, stored.attempts, stored.last_error) == (
            NotificationStatus.failed,
            1,
            "内部错误：RuntimeError",
        )


def test_the_task_is_registered() -> None:
    assert "app.notifications.tasks" in TASK_MODULES
    assert tasks.send.name == "notifications.send"
    assert celery_app.tasks["notifications.send"].max_retries == 10  # acks_late, retried by Celery


def test_settings_choose_the_provider() -> None:
    assert isinstance(provider_from_settings(Settings(app_env=AppEnv.test)), OutboxOnlyProvider)
    configured: dict[str, Any] = {
        "app_env": AppEnv.test,
        "sms_provider": "http",
        "sms_api_url": "https://sms.example.cn/v1/messages",
        "sms_api_key": "k-123456",
    }
    provider = provider_from_settings(Settings(**configured))
    assert isinstance(provider, HttpSmsProvider)
    assert "k-123456" not in repr(provider)
    with pytest.raises(ValidationError, match="SMS_API_KEY"):
        Settings(**{**configured, "sms_api_key": None})
    with pytest.raises(ValidationError, match="https"):
        Settings(
            **{**configured, "app_env": AppEnv.production, "sms_api_url": "http://sms.example.cn/v1"},
            secret_key="x" * 40,
            database_url="postgresql://u:p@db/np",
        )
