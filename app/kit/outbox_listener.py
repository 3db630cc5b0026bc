"""The database tells the worker when outbox messages are due: ``LISTEN`` on :data:`CHANNEL`.

A trigger on ``outbox_messages`` (migration ``0025_outbox_notify``) runs ``pg_notify`` for every
statement that inserts messages. PostgreSQL delivers a notification only when its transaction
commits (never for one that rolls back) and folds the same notification sent several times in one
transaction into one. So the process that wrote a message spends nothing on announcing it — no
statement, no broker publish, no broker client in memory: a web worker that only takes orders never
loads kombu's transport (~14 MiB for life, issue 15).

:class:`OutboxListener` runs in the Celery worker's main process, on a thread with its own
connection. Each wake-up asks for one drain (``on_due``), at most once per ``min_interval``: the
drain takes every due message, so a burst of commits costs one broker message. A lost connection is
retried with back-off (logged), and a drain is asked for again on reconnecting, for whatever was
committed while nobody listened. The periodic relay still drains in any case, so a listener that is
down delays notices by at most its interval and loses nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.kit import repository

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

CHANNEL = "outbox_due"


class OutboxListener:
    """A daemon thread: ``LISTEN`` on :data:`CHANNEL`, call ``on_due`` when messages were committed."""

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        on_due: Callable[[], None],
        *,
        min_interval: float = 0.5,
        max_retry_delay: float = 30.0,
    ) -> None:
        self._connect = connect
        self._on_due = on_due
        self.min_interval = min_interval
        self.max_retry_delay = max_retry_delay
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox-listener", daemon=True)
        self.listening = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        import psycopg

        delay = 1.0
        lost = False
        while not self._stop.is_set():
            try:
                with self._connect() as connection:
                    repository.listen(connection, CHANNEL)
                    self.listening.set()
                    if lost:
                        log.warning("outbox listener: connected again, listening")
                    delay, lost = 1.0, False
                    self._due()  # whatever was committed while nobody listened
                    self._listen(connection)
            except psycopg.Error as exc:
                self.listening.clear()
                lost = True
                log.warning("outbox listener: database unreachable (%s); trying again in %.0f s", exc, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self.max_retry_delay)

    def _listen(self, connection: psycopg.Connection[Any]) -> None:
        while not self._stop.is_set():
            # A bounded wait, so that ``stop`` is seen within a second.
            if not any(True for _ in connection.notifies(timeout=1.0, stop_after=1)):
                continue
            # Notifications already here are covered by the drain asked for now: it reads the table
            # after their commits.
            for _ in connection.notifies(timeout=0.0):
                pass
            self._due()
            self._stop.wait(self.min_interval)

    def _due(self) -> None:
        try:
            self._on_due()
        except Exception:  # the broker may be down: the periodic relay drains later
            log.exception("outbox listener: could not ask for a drain; the periodic relay will")
