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
from typing import Any, TypeVar

import anyio
from celery import Celery
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import models as _every_table  # noqa: F401 - tasks flush rows whose foreign keys span domains
from app.config import Settings, get_settings
from app.db import as_psycopg_url, create_engine, create_sessionmaker, resolve_database_url
from app.kit import outbox

log = logging.getLogger(__name__)
T = TypeVar("T")

TASK_MODULES = [
    "app.worker",
    "app.catalog.tasks",
    "app.supply.tasks",
    "app.notifications.tasks",
    "app.orders.tasks",
    "app.stations.tasks",
    "app.crossborder.tasks",
    "app.wholesale.tasks",
]
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
            "expire-unpaid-orders": {"task": "orders.expire_unpaid", "schedule": 30.0},
            "return-overdue-parcels": {"task": "stations.return_overdue_parcels", "schedule": 3600.0},
            "release-lapsed-credit-holds": {"task": "wholesale.release_lapsed_credit_holds", "schedule": 300.0},
            "generate-standing-orders": {"task": "wholesale.generate_standing_orders", "schedule": 600.0},
            "alibaba-sync-due": {"task": "alibaba.sync_due", "schedule": 60.0},
            "alibaba-pull-orders": {"task": "alibaba.pull_orders", "schedule": 600.0},
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


def run_with_sessionmaker(main: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]) -> T:
    """Run ``main`` on a fresh engine (no pool shared across event loops) and dispose of it."""

    async def runner() -> T:
        engine = create_engine(resolve_database_url(get_settings()), null_pool=True)
        try:
            return await main(create_sessionmaker(engine))
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def run_async(coro_factory: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Run one unit of work for a task: one transaction, commit, relay what it enqueued."""

    async def main(sessionmaker: async_sessionmaker[AsyncSession]) -> Any:
        async with outbox.unit_of_work(sessionmaker, CelerySender(celery_app)) as session:
            return await coro_factory(session)

    return run_with_sessionmaker(main)


# ``on_failure(session, exc, **payload)``: records why an attempt failed (see process_outbox_message).
FailureHook = Callable[..., Awaitable[None]]


async def process_outbox_message(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: outbox.TaskSender | None,
    *,
    name: str,
    outbox_id: int,
    fn: Callable[..., Awaitable[None]],
    payload: dict[str, Any],
    on_failure: FailureHook | None = None,
) -> bool:
    """One delivery of an outbox message: claim it and run ``fn(session, **payload)`` in one
    transaction. False when the message was already processed (a duplicate delivery).

    When ``fn`` raises, that transaction rolls back, claim included, so the retry finds the message
    unclaimed and does the work again. Anything ``fn`` wrote about the failure would roll back
    with it; ``on_failure(session, exc, **payload)`` therefore runs afterwards in a transaction of
    its own (a failure to record is logged, never hides the original error), then the error
    propagates for the caller to retry.
    """
    try:
        async with outbox.unit_of_work(sessionmaker, sender) as session:
            if not await outbox.claim(session, outbox_id):
                log.info("%s: outbox message %s already processed", name, outbox_id)
                return False
            await fn(session, **payload)
    except Exception as exc:
        if on_failure is not None:
            try:
                async with outbox.unit_of_work(sessionmaker, sender) as session:
                    await on_failure(session, exc, **payload)
            except Exception:
                log.exception("%s: could not record the failure of outbox message %s", name, outbox_id)
        raise
    return True


def outbox_task(name: str, *, on_failure: FailureHook | None = None) -> Callable[[Callable[..., Awaitable[None]]], Any]:
    """Register ``fn(session, **payload)`` as a Celery task run exactly once per outbox message;
    a failed attempt is retried (and reported to ``on_failure`` first, see process_outbox_message)."""

    def decorate(fn: Callable[..., Awaitable[None]]) -> Any:
        @celery_app.task(name=name, bind=True, acks_late=True, max_retries=10, default_retry_delay=5)
        def task(self: Any, outbox_id: int, **payload: Any) -> None:
            async def deliver(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
                return await process_outbox_message(
                    sessionmaker,
                    CelerySender(celery_app),
                    name=name,
                    outbox_id=outbox_id,
                    fn=fn,
                    payload=payload,
                    on_failure=on_failure,
                )

            try:
                run_with_sessionmaker(deliver)
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


def run_each(step: Callable[[AsyncSession], Awaitable[list[str]]], *, max_items: int = 1000) -> list[str]:
    """Run ``step`` (which handles at most one item) in a transaction of its own, again and again
    until it finds nothing. Sweeps such as expiry touch one order's stock rows per transaction, so
    they never hold many rows locked in an order a checkout could cross (no deadlock), and one bad
    item does not roll back the others."""

    async def main() -> list[str]:
        engine = create_engine(resolve_database_url(get_settings()), null_pool=True)
        sessionmaker = create_sessionmaker(engine)
        done: list[str] = []
        try:
            while len(done) < max_items:
                async with outbox.unit_of_work(sessionmaker, CelerySender(celery_app)) as session:
                    items = await step(session)
                if not items:
                    break
                done.extend(items)
        finally:
            await engine.dispose()
        return done

    return asyncio.run(main())


def run_sweep(step: Callable[[AsyncSession], Awaitable[list[str]]], logger: logging.Logger, message: str) -> int:
    """A periodic sweep: :func:`run_each` of ``step``, then ``message`` logged with how many items
    were handled and the references of the first twenty; returns how many."""
    handled = run_each(step)
    if handled:
        logger.info(message, len(handled), ", ".join(handled[:20]))
    return len(handled)
