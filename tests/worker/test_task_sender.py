"""A web process's task sender (``app.task_sender``): drained tasks stay with the worker, the
others are published through Celery, which loads on the first of them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from app import worker
from app.catalog.service import THUMBNAIL_TASK
from app.config import get_settings
from app.notifications.service import SEND_TASK
from app.orders.payments import EXECUTE_REFUND_TASK
from app.task_sender import DRAINED_TASK_NAMES, LazyCelerySender
from tests.test_app_startup import run_child


class _RecordingCeleryApp:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send_task(self, name: str, kwargs: dict[str, Any]) -> None:
        self.sent.append((name, kwargs))


def test_the_drained_names_are_the_workers_outbox_tasks() -> None:
    worker._import_task_modules()
    assert set(worker.DRAINED_TASKS) == DRAINED_TASK_NAMES == {SEND_TASK, THUMBNAIL_TASK}


def test_an_outbox_task_missing_from_the_names_is_refused() -> None:
    with pytest.raises(ValueError, match="DRAINED_TASK_NAMES"):
        worker.outbox_task("notifications.not_listed")


async def test_a_drained_task_is_left_to_the_worker_and_another_is_published_once_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    celery = _RecordingCeleryApp()
    made: list[object] = []

    def configure(settings: object) -> _RecordingCeleryApp:
        made.append(settings)
        # As slow as Celery's first import: two first publishes at once both get here unless
        # the sender is made under a lock.
        time.sleep(0.3)
        return celery

    monkeypatch.setattr(worker, "configure_celery", configure)
    sender = LazyCelerySender(get_settings())
    assert sender.drains(SEND_TASK) and not sender.drains(EXECUTE_REFUND_TASK)

    await sender.send(1, SEND_TASK, {"notification_id": 5})
    assert made == [] and celery.sent == []  # nothing made, nothing published

    await asyncio.gather(*(sender.send(n, EXECUTE_REFUND_TASK, {"refund_id": n}) for n in (2, 3)))
    assert len(made) == 1  # two first publishes at once made one sender
    assert sorted(celery.sent, key=lambda sent: int(sent[1]["outbox_id"])) == [
        (EXECUTE_REFUND_TASK, {"outbox_id": 2, "refund_id": 2}),
        (EXECUTE_REFUND_TASK, {"outbox_id": 3, "refund_id": 3}),
    ]


def test_a_drained_message_loads_no_broker_client() -> None:
    result = run_child(
        "import asyncio, sys\n"
        "from app.config import get_settings\n"
        "from app.task_sender import LazyCelerySender\n"
        "asyncio.run(LazyCelerySender(get_settings()).send(1, 'notifications.send', {}))\n"
        "print(sorted(m for m in ('celery', 'kombu') if m in sys.modules))\n",
        APP_ENV="test",
        DATABASE_URL="postgresql+asyncpg://nobody@127.0.0.1:9/not_reached",
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"
