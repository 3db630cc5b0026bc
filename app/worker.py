"""Celery app, the outbox relay and the task wrapper every background task uses.

Broker: ``CELERY_BROKER_URL`` when set (Redis / RabbitMQ); otherwise kombu's SQLAlchemy transport
on the platform's own PostgreSQL, so one machine needs nothing else. Tasks are idempotent and
``acks_late``: a task that dies mid-way is delivered again, and its outbox claim (rolled back with
its work) lets the retry do the work exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from celery import Celery
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings, get_settings
from app.db import as_psycopg_url, create_engine, create_sessionmaker, resolve_database_url
from app.kit import outbox

log = logging.getLogger(__name__)

TASK_MODULES = ["app.worker", "app.catalog.tasks", "app.supply.tasks"]
RELAY_INTERVAL_SECONDS = 30.0


def broker_url(settings: Settings) -> str:
    if settings.celery_broker_url:
        return settings.celery_broker_url
    return "sqla+" + as_psycopg_url(resolve_database_url(settings))


celery_app = Celery("nanling", include=TASK_MODULES)


def configure_celery(settings: Settings | None = None, *, broker: str | None = None) -> Celery:
    """Point the Celery app at its broker. Called by ``app worker`` / ``app serve`` once the
    database is known, and at import when the environment already names the servers."""
    settings = settings or get_settings()
    app = celery_app
    app.conf.update(
        broker_url=broker or broker_url(settings),
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_default_queue="nanling",
        task_serializer="json",
        accept_content=["json"],
        timezone="Asia/Shanghai",
        worker_hijack_root_logger=False,
        beat_schedule={
            "outbox-relay": {"task": "outbox.relay", "schedule": RELAY_INTERVAL_SECONDS},
            "release-expired-reservations": {"task": "supply.release_expired_reservations", "schedule": 60.0},
        },
        beat_schedule_filename=str(settings.app_data_dir / "celerybeat-schedule"),
    )
    return app


if get_settings().celery_broker_url or get_settings().database_url:
    # Started as `celery -A app.worker` or as a child of `app serve`: the servers are known.
    configure_celery()


class CelerySender:
    """Hands committed outbox messages to Celery; kombu's publish blocks, so it runs in a thread."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    async def send(self, message_id: int, task_name: str, payload: dict[str, Any]) -> None:
        def publish() -> None:
            self.app.send_task(task_name, kwargs={"outbox_id": message_id, **payload})

        await anyio.to_thread.run_sync(publish)


def run_async(coro_factory: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Run one unit of work for a task: a fresh engine (no pool shared across event loops),
    one transaction, commit, relay what it enqueued."""

    async def main() -> Any:
        engine = create_engine(resolve_database_url(get_settings()), null_pool=True)
        try:
            async with outbox.unit_of_work(create_sessionmaker(engine), CelerySender(celery_app)) as session:
                return await coro_factory(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def outbox_task(name: str) -> Callable[[Callable[..., Awaitable[None]]], Any]:
    """Register ``fn(session, **payload)`` as a Celery task run exactly once per outbox message."""

    def decorate(fn: Callable[..., Awaitable[None]]) -> Any:
        @celery_app.task(name=name, bind=True, acks_late=True, max_retries=10, default_retry_delay=5)
        def task(self: Any, outbox_id: int, **payload: Any) -> None:
            async def work(session: AsyncSession) -> None:
                if not await outbox.claim(session, outbox_id):
                    log.info("%s: outbox message %s already processed", name, outbox_id)
                    return
                await fn(session, **payload)

            try:
                run_async(work)
            except Exception as exc:
                log.exception("%s failed for outbox message %s; retrying", name, outbox_id)
                raise self.retry(exc=exc) from exc

        return task

    return decorate


@celery_app.task(name="outbox.relay", acks_late=True)
def relay_outbox() -> int:
    """Send outbox messages that a web process committed but did not manage to send."""

    async def work(session: AsyncSession) -> int:
        return await outbox.relay(session, CelerySender(celery_app), older_than_seconds=10)

    return int(run_async(work))
