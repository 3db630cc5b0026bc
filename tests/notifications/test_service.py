"""notify() writes the message and exactly one outbox task in the caller's transaction — and
nothing at all when that transaction rolls back."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db import create_sessionmaker
from app.kit import outbox
from app.kit.outbox import OutboxMessage, RecordingSender
from app.notifications import service
from app.notifications.errors import InvalidRecipient
from app.notifications.models import NotificationChannel, NotificationMessage, NotificationStatus
from app.notifications.templates import TemplateError

PARAMS = {"order_number": "NP2611290007", "amount_minor": 3650}


async def _counts(session: AsyncSession) -> tuple[int, int]:
    messages = await session.scalar(select(func.count()).select_from(NotificationMessage))
    tasks = await session.scalar(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.task_name == service.SEND_TASK)
    )
    return int(messages or 0), int(tasks or 0)


async def test_notify_stores_the_message_and_one_outbox_task(db_session: AsyncSession) -> None:
    before = await _counts(db_session)
    message = await service.notify(
        db_session, template="order_paid", recipient="138 0013 8000", params=PARAMS, reference="NP2611290007"
    )
    assert await _counts(db_session) == (before[0] + 1, before[1] + 1)

    stored = await db_session.get(NotificationMessage, message.id)
    assert stored is not None
    assert stored.channel is NotificationChannel.sms
    assert stored.recipient == "+8613800138000"
    assert stored.template == "order_paid"
    assert stored.params == {"order_number": "NP2611290007", "amount_minor": 3650}
    assert stored.body == "【南岭明珠】订单NP2611290007已付款¥36.50，我们正在备货，到货后会再短信通知您。"
    assert stored.status is NotificationStatus.queued
    assert (stored.attempts, stored.provider, stored.sent_at, stored.last_error) == (0, None, None, None)
    assert stored.reference == "NP2611290007"

    tasks = (
        await db_session.scalars(
            select(OutboxMessage).where(OutboxMessage.payload["message_id"].as_integer() == message.id)
        )
    ).all()
    assert [(t.task_name, t.payload, t.processed_at) for t in tasks] == [
        (service.SEND_TASK, {"message_id": message.id}, None)
    ]


async def test_bad_phone_or_params_write_nothing(db_session: AsyncSession) -> None:
    before = await _counts(db_session)
    with pytest.raises(InvalidRecipient) as refused:
        await service.notify(db_session, template="order_paid", recipient="12345", params=PARAMS)
    assert refused.value.code == "invalid_recipient" and refused.value.status_code == 422
    with pytest.raises(TemplateError):
        await service.notify(db_session, template="order_paid", recipient="13800138000", params={"order_number": "X"})
    assert await _counts(db_session) == before


async def test_nothing_is_written_or_sent_after_a_rollback(committed_engine: AsyncEngine) -> None:
    class Boom(Exception):
        pass

    reference = f"NP-RB-{uuid.uuid4().hex[:8]}"
    sender = RecordingSender()
    sessionmaker = create_sessionmaker(committed_engine)
    with pytest.raises(Boom):
        async with outbox.unit_of_work(sessionmaker, sender) as session:
            message = await service.notify(
                session,
                template="order_expired",
                recipient="13800138000",
                params={"order_number": reference},
                reference=reference,
            )
            message_id = message.id  # a rollback expires what the transaction wrote
            assert message_id is not None
            raise Boom()  # the business change fails after asking for the notice
    assert sender.sent == []
    async with sessionmaker() as session:
        assert (
            await session.scalar(
                select(func.count()).select_from(NotificationMessage).where(NotificationMessage.reference == reference)
            )
            == 0
        )
        assert (
            await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.payload["message_id"].as_integer() == message_id)
            )
            == 0
        )

    # The same notice in a transaction that commits is stored and handed to the broker once.
    async with outbox.unit_of_work(sessionmaker, sender) as session:
        kept = await service.notify(
            session,
            template="order_expired",
            recipient="13800138000",
            params={"order_number": reference},
            reference=reference,
        )
    assert [(name, payload) for _, name, payload in sender.sent] == [(service.SEND_TASK, {"message_id": kept.id})]
