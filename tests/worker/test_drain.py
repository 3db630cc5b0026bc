"""The worker's outbox drain: every due message processed exactly once by several drains at once,
a failure retried with back-off and reported; the database announces committed messages to the
worker's listener (one wake-up for many messages, none for a rollback, back after a lost
connection)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.catalog.service import THUMBNAIL_TASK
from app.db import create_sessionmaker, libpq_conninfo
from app.kit import outbox
from app.kit.outbox import RecordingSender
from app.kit.outbox_listener import OutboxListener
from app.notifications.service import SEND_TASK
from app.orders.payments import EXECUTE_REFUND_TASK
from app.worker import (
    DRAINED_TASKS,
    MAX_PROCESS_ATTEMPTS,
    CelerySender,
    DrainedTask,
    drain_outbox,
)


class Flaky(Exception):
    pass


@pytest.fixture
def task_name() -> Iterator[str]:
    """A drained task of this test only: the committed database holds other tests' messages too."""
    name = f"test.drain.{uuid.uuid4().hex[:8]}"
    yield name
    DRAINED_TASKS.pop(name, None)


async def _enqueue(engine: AsyncEngine, task_name: str, count: int) -> list[int]:
    sessionmaker = create_sessionmaker(engine)
    async with outbox.unit_of_work(sessionmaker, RecordingSender()) as session:
        return [(await outbox.enqueue(session, task_name, n=n)).id for n in range(count)]


async def test_concurrent_drains_process_every_message_once(committed_engine: AsyncEngine, task_name: str) -> None:
    seen: list[int] = []

    async def handle(session: AsyncSession, n: int) -> None:
        # Real work in the claiming transaction, slow enough for the drains to overlap.
        await session.execute(text("SELECT pg_sleep(0.002)"))
        seen.append(n)

    DRAINED_TASKS[task_name] = DrainedTask(handle, None)
    ids = await _enqueue(committed_engine, task_name, 60)
    sessionmaker = create_sessionmaker(committed_engine)
    reports = await asyncio.gather(
        *(drain_outbox(sessionmaker, RecordingSender(), task_names=[task_name]) for _ in range(4))
    )
    assert sorted(seen) == list(range(60))  # each once, none lost
    assert sum(r.processed for r in reports) == 60 and not any(r.failed or r.more for r in reports)
    assert sum(1 for r in reports if r.processed) >= 2  # they really shared the queue
    async with sessionmaker() as session:
        unprocessed = await session.scalar(
            text("SELECT count(*) FROM outbox_messages WHERE id = ANY(:ids) AND processed_at IS NULL"), {"ids": ids}
        )
    assert unprocessed == 0
    # Nothing is due any more: a later drain does nothing.
    again = await drain_outbox(sessionmaker, RecordingSender(), task_names=[task_name])
    assert again.processed == 0 and seen.count(0) == 1


async def test_a_failure_rolls_back_is_reported_and_retried_after_its_back_off(
    committed_engine: AsyncEngine, task_name: str
) -> None:
    calls: Counter[int] = Counter()
    reported: list[tuple[str, int]] = []

    async def handle(session: AsyncSession, n: int) -> None:
        calls[n] += 1
        await session.execute(text("SELECT 1"))
        if n == 0 and calls[n] < 3:
            raise Flaky(f"attempt {calls[n]}")

    async def on_failure(session: AsyncSession, exc: Exception, n: int) -> None:
        reported.append((str(exc), n))

    DRAINED_TASKS[task_name] = DrainedTask(handle, on_failure)
    first, second = await _enqueue(committed_engine, task_name, 2)
    sessionmaker = create_sessionmaker(committed_engine)

    report = await drain_outbox(sessionmaker, RecordingSender(), task_names=[task_name])
    # The failing message does not hold up the next one, and is not tried again at once.
    assert (report.processed, report.failed, report.retry_in_seconds) == (1, 1, 5)
    assert calls == Counter({0: 1, 1: 1}) and reported == [("attempt 1", 0)]
    state = await _state(committed_engine, first)
    assert state["processed_at"] is None and state["process_attempts"] == 1
    assert state["last_error"] == "Flaky: attempt 1" and 4 <= state["wait"] <= 5
    assert (await _state(committed_engine, second))["processed_at"] is not None

    # Still backing off: nothing to do.
    assert (await drain_outbox(sessionmaker, RecordingSender(), task_names=[task_name])).processed == 0
    await _make_due(committed_engine, first)
    report = await drain_outbox(sessionmaker, RecordingSender(), task_names=[task_name])
    assert (report.processed, report.failed, report.retry_in_seconds) == (0, 1, 10)  # doubled
    await _make_due(committed_engine, first)
    report = await drain_outbox(sessionmaker, RecordingSender(), task_names=[task_name])
    assert (report.processed, report.failed) == (1, 0)
    assert calls[0] == 3 and len(reported) == 2
    assert (await _state(committed_engine, first))["processed_at"] is not None


async def test_a_message_out_of_attempts_waits_for_a_person(committed_engine: AsyncEngine, task_name: str) -> None:
    async def handle(session: AsyncSession, n: int) -> None:
        raise Flaky("always")

    DRAINED_TASKS[task_name] = DrainedTask(handle, None)
    (message,) = await _enqueue(committed_engine, task_name, 1)
    async with committed_engine.begin() as connection:
        await connection.execute(
            text("UPDATE outbox_messages SET process_attempts = :n WHERE id = :id"),
            {"n": MAX_PROCESS_ATTEMPTS - 1, "id": message},
        )
    sessionmaker = create_sessionmaker(committed_engine)
    report = await drain_outbox(sessionmaker, RecordingSender(), task_names=[task_name])
    assert (report.failed, report.retry_in_seconds) == (1, None)  # the last attempt: no retry asked for
    await _make_due(committed_engine, message)
    assert (await drain_outbox(sessionmaker, RecordingSender(), task_names=[task_name])).failed == 0
    state = await _state(committed_engine, message)
    assert state["processed_at"] is None and state["process_attempts"] == MAX_PROCESS_ATTEMPTS


async def _state(engine: AsyncEngine, message_id: int) -> dict[str, Any]:
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT processed_at, process_attempts, last_error,"
                    " extract(epoch FROM next_attempt_at - now()) AS wait FROM outbox_messages WHERE id = :id"
                ),
                {"id": message_id},
            )
        ).one()
    return dict(row._mapping)


async def _make_due(engine: AsyncEngine, message_id: int) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE outbox_messages SET next_attempt_at = now() WHERE id = :id"), {"id": message_id}
        )


class RecordingCelery:
    """Stands in for the Celery app's publish only: what would have gone to the broker."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    def send_task(self, name: str, kwargs: dict[str, Any] | None = None, **options: Any) -> None:
        self.published.append((name, kwargs or {}))


async def test_a_drained_message_is_not_published_a_refund_is() -> None:
    celery = RecordingCelery()
    sender = CelerySender(celery)  # type: ignore[arg-type]
    for n in range(50):
        await sender.send(n, SEND_TASK, {"message_id": n})  # notifications.send: drained
    assert celery.published == []  # the commit announced them (see the listener's tests)
    # A task that calls an outside system on its own terms is still published one by one.
    await sender.send(99, EXECUTE_REFUND_TASK, {"refund_id": 7})
    assert celery.published == [(EXECUTE_REFUND_TASK, {"outbox_id": 99, "refund_id": 7})]


class DueRecorder:
    """``on_due`` of a listener under test: counts the calls, and lets a test wait for the next."""

    def __init__(self) -> None:
        self.calls = 0
        self._changed = threading.Condition()

    def __call__(self) -> None:
        with self._changed:
            self.calls += 1
            self._changed.notify_all()

    def wait_for(self, calls: int, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.calls >= calls, timeout)


@pytest.fixture
def listener_conninfo(committed_database_url: str) -> str:
    return libpq_conninfo(committed_database_url) + f" application_name=outbox-listener-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def listener(listener_conninfo: str) -> Iterator[tuple[OutboxListener, DueRecorder]]:
    due = DueRecorder()
    running = OutboxListener(
        lambda: psycopg.connect(listener_conninfo, autocommit=True), due, min_interval=0.2, max_retry_delay=0.5
    )
    running.start()
    assert running.listening.wait(10)
    assert due.wait_for(1)  # on connecting: a drain for whatever was committed before
    yield running, due
    running.stop()


async def test_a_commit_of_outbox_messages_wakes_the_listener_and_a_rollback_does_not(
    committed_engine: AsyncEngine, task_name: str, listener: tuple[OutboxListener, DueRecorder]
) -> None:
    _, due = listener
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        await outbox.enqueue(session, task_name, n=1)
        await asyncio.sleep(0.5)
        assert due.calls == 1  # written, not committed: nothing announced yet
        await session.rollback()
    await asyncio.sleep(0.5)
    assert due.calls == 1  # rolled back: never announced

    await _enqueue(committed_engine, task_name, 50)  # one transaction, 50 messages
    assert await asyncio.to_thread(due.wait_for, 2)
    await asyncio.sleep(0.5)
    assert due.calls == 2  # one wake-up for the transaction, not one per message

    # A burst of commits in quick succession costs a drain per ``min_interval``, not one each.
    for _ in range(20):
        await _enqueue(committed_engine, task_name, 1)
    assert await asyncio.to_thread(due.wait_for, 3)
    await asyncio.sleep(0.6)
    assert 3 <= due.calls <= 6


async def test_the_listener_listens_again_after_losing_its_connection(
    committed_engine: AsyncEngine,
    task_name: str,
    listener_conninfo: str,
    listener: tuple[OutboxListener, DueRecorder],
) -> None:
    running, due = listener
    name = listener_conninfo.rsplit("application_name=", 1)[1]
    async with committed_engine.connect() as connection:
        killed = await connection.scalar(
            text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :name"),
            {"name": name},
        )
    assert killed == 1
    assert await asyncio.to_thread(due.wait_for, 2, 10)  # reconnected: a drain for the gap
    assert await asyncio.to_thread(running.listening.wait, 5)
    await _enqueue(committed_engine, task_name, 1)
    assert await asyncio.to_thread(due.wait_for, 3, 10)


def test_the_drained_tasks_are_the_outbox_tasks() -> None:
    CelerySender(RecordingCelery())  # type: ignore[arg-type]  # imports the task modules
    assert {SEND_TASK, THUMBNAIL_TASK} <= set(DRAINED_TASKS)
    assert EXECUTE_REFUND_TASK not in DRAINED_TASKS
