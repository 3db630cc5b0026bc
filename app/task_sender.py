"""How a web process hands committed outbox messages to the worker, without loading Celery.

Most messages never go through a broker: the worker drains the tasks in :data:`DRAINED_TASK_NAMES`
from the outbox table itself (``app.worker.outbox_task``), announced by the commit that wrote them.
Placing an order, scanning a parcel or rendering a page therefore needs no broker client, and Celery
with kombu, click, PyYAML and dateutil costs a web worker about 6 MiB for its whole life (issue 15's
memory goal). :class:`LazyCelerySender` loads them on the first message that is published one by
one (a refund, the Alibaba.com nudge), in the thread that publishes it, so the event loop never
waits for the import.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import anyio

from app.catalog.service import THUMBNAIL_TASK
from app.config import Settings
from app.db import as_psycopg_url, resolve_database_url
from app.notifications.service import SEND_TASK

if TYPE_CHECKING:
    from app.worker import CelerySender

# The tasks whose messages the worker drains from the table. ``app.worker.outbox_task`` refuses a
# name missing here, so a web process can tell them apart without importing the task modules.
DRAINED_TASK_NAMES: frozenset[str] = frozenset({THUMBNAIL_TASK, SEND_TASK})


def broker_url(settings: Settings) -> str:
    """The Celery broker: ``CELERY_BROKER_URL``, else the database (kombu's SQLAlchemy transport)."""
    if settings.celery_broker_url:
        return settings.celery_broker_url
    return "sqla+" + as_psycopg_url(resolve_database_url(settings))


class LazyCelerySender:
    """A web process's sender (``app.kit.outbox.DrainingSender``): a drained task's message is left
    to the worker; any other is published through ``app.worker.CelerySender``, made on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._sender: CelerySender | None = None
        self._lock = threading.Lock()

    def drains(self, task_name: str) -> bool:
        return task_name in DRAINED_TASK_NAMES

    async def send(self, message_id: int, task_name: str, payload: dict[str, Any]) -> None:
        if self.drains(task_name):
            return  # announced by the database at commit
        sender = self._sender
        if sender is None:
            sender = await anyio.to_thread.run_sync(self._make_sender)
        await sender.send(message_id, task_name, payload)

    def _make_sender(self) -> CelerySender:
        # Two first publishes at once (two threads) make one sender.
        with self._lock:
            sender = self._sender
            if sender is None:
                from app.worker import CelerySender, configure_celery

                sender = self._sender = CelerySender(configure_celery(self.settings))
            return sender
