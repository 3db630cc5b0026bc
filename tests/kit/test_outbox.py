"""Transactional outbox: a task is sent only after its transaction commits, never after a rollback."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db import create_sessionmaker
from app.kit import outbox
from app.kit.outbox import OutboxMessage, RecordingSender


class CommitCheckingSender:
    """Records, at send time, whether another connection can already see the message row."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.seen: list[tuple[int, bool]] = []

    async def send(self, message_id: int, task_name: str, payload: dict[str, Any]) -> None:
        async with self.engine.connect() as other:
            visible = await other.scalar(select(func.count()).where(OutboxMessage.id == message_id)) == 1
        self.seen.append((message_id, visible))


class Boom(Exception):
    pass


async def test_sent_after_commit_and_marked_sent(committed_engine: AsyncEngine) -> None:
    sender = CommitCheckingSender(committed_engine)
    sessionmaker = create_sessionmaker(committed_engine)
    async with outbox.unit_of_work(sessionmaker, sender) as session:
        message = await outbox.enqueue(session, "demo.task", order_number="NP-1")
        assert sender.seen == []  # nothing leaves before the commit
    assert sender.seen == [(message.id, True)]
    async with sessionmaker() as session:
        stored = await session.get(OutboxMessage, message.id)
        assert stored is not None and stored.sent_at is not None and stored.payload == {"order_number": "NP-1"}


async def test_never_sent_after_rollback(committed_engine: AsyncEngine) -> None:
    sender = RecordingSender()
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        before = await session.scalar(select(func.count()).select_from(OutboxMessage))
    with pytest.raises(Boom):
        async with outbox.unit_of_work(sessionmaker, sender) as session:
            await outbox.enqueue(session, "demo.task", n=1)
            raise Boom()
    assert sender.sent == []
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == before


async def test_a_failed_send_is_relayed_later(committed_engine: AsyncEngine) -> None:
    class Down:
        async def send(self, message_id: int, task_name: str, payload: dict[str, Any]) -> None:
            raise ConnectionError("broker down")

    sessionmaker = create_sessionmaker(committed_engine)
    async with outbox.unit_of_work(sessionmaker, Down()) as session:
        message = await outbox.enqueue(session, "demo.relay", k="v")
    async with sessionmaker() as session:
        stored = await session.get(OutboxMessage, message.id)
        assert stored is not None and stored.sent_at is None and stored.send_attempts == 1
        # Make it old enough for the periodic relay.
        await session.execute(
            text("UPDATE outbox_messages SET created_at = now() - interval '1 minute' WHERE id = :id"),
            {"id": message.id},
        )
        await session.commit()
    recorder = RecordingSender()
    async with sessionmaker() as session:
        await outbox.relay(session, recorder, older_than_seconds=10)
    assert (message.id, "demo.relay", {"k": "v"}) in recorder.sent
    again = RecordingSender()
    async with sessionmaker() as session:
        await outbox.relay(session, again, older_than_seconds=10)
    assert all(sent[0] != message.id for sent in again.sent)


async def test_claim_is_once(db_session: AsyncSession) -> None:
    message = await outbox.enqueue(db_session, "demo.claim")
    assert await outbox.claim(db_session, message.id) is True
    assert await outbox.claim(db_session, message.id) is False


async def test_a_sent_but_never_processed_message_is_sent_again_a_few_times(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with outbox.unit_of_work(sessionmaker, RecordingSender()) as session:
        lost = await outbox.enqueue(session, "demo.lost", k=1)
        done = await outbox.enqueue(session, "demo.done", k=2)
    async with sessionmaker() as session:
        assert await outbox.claim(session, done.id)
        # Both were sent 20 minutes ago; only ``done`` was processed since.
        await session.execute(
            text("UPDATE outbox_messages SET sent_at = now() - interval '20 minutes' WHERE id IN (:a, :b)"),
            {"a": lost.id, "b": done.id},
        )
        await session.commit()
    again = RecordingSender()
    async with sessionmaker() as session:
        await outbox.relay(session, again, older_than_seconds=10)
    ids = [sent[0] for sent in again.sent]
    assert lost.id in ids and done.id not in ids
    # Sent just now: not again on the next tick.
    soon = RecordingSender()
    async with sessionmaker() as session:
        await outbox.relay(session, soon, older_than_seconds=10)
    assert lost.id not in [sent[0] for sent in soon.sent]
    # Out of sends: left for someone to look at.
    async with sessionmaker() as session:
        await session.execute(
            text("UPDATE outbox_messages SET sent_at = now() - interval '1 hour', send_attempts = :n WHERE id = :id"),
            {"n": outbox.MAX_SEND_ATTEMPTS, "id": lost.id},
        )
        await session.commit()
    last = RecordingSender()
    async with sessionmaker() as session:
        await outbox.relay(session, last, older_than_seconds=10)
    assert lost.id not in [sent[0] for sent in last.sent]
