"""The worker's outbox drain: every due message processed exactly once by several drains at once,
a failure retried with back-off and reported, and one broker message for many outbox messages."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.catalog.service import THUMBNAIL_TASK
from app.db import create_sessionmaker
from app.kit import outbox
from app.kit.outbox import RecordingSender
from app.notifications.service import SEND_TASK
from app.orders.payments import EXECUTE_REFUND_TASK
from app.worker import (
    DRAIN_TASK,
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


async def test_the_web_sender_asks_for_one_drain_for_many_messages() -> None:
    celery = RecordingCelery()
    sender = CelerySender(celery, coalesce=True)  # type: ignore[arg-type]
    drained = SEND_TASK  # notifications.send: drained
    for n in range(50):
        await sender.send(n, drained, {"message_id": n})
    await sender.aclose()
    assert celery.published == [(DRAIN_TASK, {})]
    # A task that calls an outside system on its own terms is still published one by one.
    await sender.send(99, EXECUTE_REFUND_TASK, {"refund_id": 7})
    assert celery.published[-1] == (EXECUTE_REFUND_TASK, {"outbox_id": 99, "refund_id": 7})
    # Later messages ask again, no sooner than the nudge interval after the last one.
    await sender.send(51, drained, {"message_id": 51})
    await sender.aclose()
    assert [name for name, _ in celery.published].count(DRAIN_TASK) == 2


async def test_a_task_or_cli_sender_asks_for_the_drain_before_returning() -> None:
    celery = RecordingCelery()
    sender = CelerySender(celery)  # type: ignore[arg-type]
    await sender.send(1, SEND_TASK, {"message_id": 1})
    assert celery.published == [(DRAIN_TASK, {})]


def test_the_drained_tasks_are_the_outbox_tasks() -> None:
    CelerySender(RecordingCelery())  # type: ignore[arg-type]  # imports the task modules
    assert {SEND_TASK, THUMBNAIL_TASK} <= set(DRAINED_TASKS)
    assert EXECUTE_REFUND_TASK not in DRAINED_TASKS
