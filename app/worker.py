"""Celery app, the outbox relay and the task wrapper every background task uses.

Broker: ``CELERY_BROKER_URL`` when set (Redis / RabbitMQ); otherwise kombu's SQLAlchemy transport
on the platform's own PostgreSQL, so one machine needs nothing else. Tasks are idempotent and
``acks_late``: a task that dies mid-way is delivered again, and its outbox claim (rolled back with
its work) lets the retry do the work exactly once.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
from celery import Celery
from celery.schedules import crontab
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_failure,
    task_prerun,
    task_retry,
    worker_ready,
    worker_shutdown,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import models as _every_table  # noqa: F401 - tasks flush rows whose foreign keys span domains
from app.config import Settings, get_settings
from app.db import create_engine, create_sessionmaker, libpq_conninfo, resolve_database_url
from app.kit import outbox
from app.kit import repository as kit_repository
from app.kit.logs import current_request_id, logging_config, request_id_var
from app.kit.metrics import count_task_failure
from app.kit.outbox_listener import OutboxListener
from app.task_sender import DRAINED_TASK_NAMES, broker_url

if TYPE_CHECKING:
    import psycopg

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
    "app.county.tasks",
]


celery_app = Celery("nanling", include=TASK_MODULES)


def configure_celery(settings: Settings | None = None, *, broker: str | None = None) -> Celery:
    """Point the Celery app at its broker. Called by ``app worker`` / ``app serve`` once the
    database is known, and at import when the environment already names the servers."""
    settings = settings or get_settings()
    app = celery_app
    app.conf.update(
        broker_url=broker or broker_url(settings),
        # A database outage (the default broker is the database) must not end the worker: it waits
        # for the broker as long as it takes, then carries on (``app serve`` restarts it otherwise).
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
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
            "outbox-relay": {"task": "outbox.relay", "schedule": settings.outbox_relay_interval_seconds},
            "release-expired-reservations": {"task": "supply.release_expired_reservations", "schedule": 60.0},
            "expire-unpaid-orders": {"task": "orders.expire_unpaid", "schedule": 30.0},
            "return-overdue-parcels": {"task": "stations.return_overdue_parcels", "schedule": 3600.0},
            "release-lapsed-credit-holds": {"task": "wholesale.release_lapsed_credit_holds", "schedule": 300.0},
            "generate-standing-orders": {"task": "wholesale.generate_standing_orders", "schedule": 600.0},
            "alibaba-sync-due": {"task": "alibaba.sync_due", "schedule": 60.0},
            "alibaba-pull-orders": {"task": "alibaba.pull_orders", "schedule": 600.0},
            # The county dashboard's daily summary: only the days touched since the last run.
            "county-refresh-figures": {"task": "county.refresh_figures", "schedule": 60.0},
            # Every day at BACKUP_HOUR in the app's time zone (China); does nothing unless BACKUP_ENABLED.
            "daily-backup": {"task": "backup.daily", "schedule": crontab(hour=settings.backup_hour, minute=0)},
        },
        beat_schedule_filename=str(settings.app_data_dir / "celerybeat-schedule"),
    )
    return app


# Key of the advisory lock under which a starting process creates kombu's broker tables.
BROKER_TABLES_LOCK_KEY = 0x4E50_424B  # "NPBK"


def prepare_database_broker(settings: Settings) -> None:
    """Create kombu's broker tables before this process publishes or consumes, when the broker is
    the database. kombu creates them on first use (``CREATE TABLE`` / ``CREATE SEQUENCE`` checked
    first), so processes starting at once — two web processes, workers and beat — race: one of them
    dies on a duplicate ``queue_id_sequence``. Here every starting process takes one advisory lock
    in turn; the first creates the tables, the others find them.

    A database that does not answer yet is not fatal here: the process starts as before and waits
    for its broker (``broker_connection_retry_on_startup``), and kombu creates the tables itself
    when it connects — a race only when several processes start together into a database down at
    the time."""
    if settings.celery_broker_url:
        return
    import psycopg
    from kombu.connection import Connection

    try:
        with psycopg.connect(
            libpq_conninfo(resolve_database_url(settings)), autocommit=True, connect_timeout=5
        ) as lock:
            lock.execute("SELECT pg_advisory_lock(%s)", (BROKER_TABLES_LOCK_KEY,))
            try:
                with Connection(broker_url(settings)) as broker:  # type: ignore[no-untyped-call]
                    broker.default_channel.session  # noqa: B018 - its first open creates the tables
            finally:
                lock.execute("SELECT pg_advisory_unlock(%s)", (BROKER_TABLES_LOCK_KEY,))
                _forget_broker_engines()
    except psycopg.OperationalError as exc:
        log.warning("broker tables not prepared (database not reachable yet): %s", exc)


def _forget_broker_engines() -> None:
    """kombu keeps the engine it opened (and its pooled connection) in a class-level cache for the
    life of the process. Opened here, before ``app worker`` forks its pool, the children would
    inherit that connection's socket and talk over it at the same time as the parent (a corrupted
    protocol: aborted transactions, lost messages). Dispose of it: each process opens its own."""
    from kombu.transport.sqlalchemy import Channel

    engines: dict[str, Any] = Channel._engines
    for engine, _sessionmaker in engines.values():
        engine.dispose()
    engines.clear()


if get_settings().celery_broker_url or get_settings().database_url:
    # Started as `celery -A app.worker` or as a child of `app serve`: the servers are known.
    configure_celery()


DRAIN_TASK = "outbox.drain"


class CelerySender:
    """Hands committed outbox messages to Celery; kombu's publish blocks, so it runs in a thread.

    A message of a task registered with :func:`outbox_task` is not published at all: the commit
    that wrote it notified the worker's outbox listener (``app.kit.outbox_listener``), which asks
    for a drain (``outbox.drain``) that processes every due message in the worker's process, one
    transaction each. One broker message then carries any number of outbox messages — the default
    broker (kombu's SQLAlchemy transport) delivers about two messages a second, so one publish per
    order would leave notices hours behind under a harvest-day load — and a web process that only
    takes orders never loads a broker client. Other tasks (payments, the Alibaba.com nudge) are
    published one by one, as they call outside systems on their own terms.
    """

    def __init__(self, app: Celery) -> None:
        self.app = app
        _import_task_modules()

    def drains(self, task_name: str) -> bool:
        return task_name in DRAINED_TASKS

    async def send(self, message_id: int, task_name: str, payload: dict[str, Any]) -> None:
        if task_name in DRAINED_TASKS:
            return  # announced by the database at commit (see the class's docstring)

        def publish() -> None:
            self.app.send_task(task_name, kwargs={"outbox_id": message_id, **payload})

        await anyio.to_thread.run_sync(publish)


# The X-Request-ID of the request a task works for travels as a header of the task's message
# (``app.kit.logs``): a task published while one is bound (the relay binds each message's) takes it
# along, and the task's log lines carry it.
REQUEST_ID_HEADER = "np_request_id"


@before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = current_request_id()
    if request_id is not None and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@task_prerun.connect
def _bind_request_id(task: Any = None, **_: Any) -> None:
    # Every task sets it, None included: a pool process runs one task after another.
    request_id_var.set(getattr(task.request, REQUEST_ID_HEADER, None) if task is not None else None)


@task_failure.connect
@task_retry.connect
def _count_failure(sender: Any = None, request: Any = None, **_: Any) -> None:
    """One failed attempt of a Celery task: it fails for good (``task_failure``) or is retried
    (``task_retry``), never both. A drained message's failure is counted by the drain."""
    name = getattr(sender, "name", None) or getattr(request, "task", None) or "unknown"
    count_task_failure(str(name))


@setup_logging.connect
def _set_up_logging(loglevel: Any = None, **_: Any) -> None:
    """The worker logs as the web processes do (LOG_FORMAT, request ids, masked phone numbers)
    instead of Celery's own set-up."""
    import logging.config

    settings = get_settings()
    level = logging.getLevelName(loglevel) if isinstance(loglevel, int) else str(loglevel or settings.log_level)
    logging.config.dictConfig(logging_config(settings.log_format, level))


# The worker's main process listens for committed outbox messages (one listener per worker).
_listeners: list[OutboxListener] = []


@worker_ready.connect
def _start_outbox_listener(**_: Any) -> None:
    conninfo = libpq_conninfo(resolve_database_url(get_settings()))

    def connect() -> psycopg.Connection[Any]:
        import psycopg

        return psycopg.connect(conninfo, autocommit=True, connect_timeout=5)

    listener = OutboxListener(connect, lambda: celery_app.send_task(DRAIN_TASK))
    listener.start()
    _listeners.append(listener)


@worker_shutdown.connect
def _stop_outbox_listener(**_: Any) -> None:
    while _listeners:
        _listeners.pop().stop()


def run_with_sessionmaker(
    main: Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]], *, pooled: bool = False
) -> T:
    """Run ``main`` on a fresh engine (no pool shared across event loops) and dispose of it.
    ``pooled``: keep connections for the run's many transactions (a drain) instead of one each."""

    async def runner() -> T:
        url = resolve_database_url(get_settings())
        engine = create_engine(url, pool_size=1) if pooled else create_engine(url, null_pool=True)
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


@dataclass(frozen=True)
class DrainedTask:
    fn: Callable[..., Awaitable[None]]
    on_failure: FailureHook | None


# Tasks whose messages the drain processes in the worker's process (filled by ``outbox_task``).
DRAINED_TASKS: dict[str, DrainedTask] = {}


@functools.cache
def _import_task_modules() -> None:
    """Fill ``DRAINED_TASKS`` in a process that is not the worker (the web app sending messages);
    once per process, whatever the number of senders made."""
    for module in TASK_MODULES:
        importlib.import_module(module)


def outbox_task(name: str, *, on_failure: FailureHook | None = None) -> Callable[[Callable[..., Awaitable[None]]], Any]:
    """Register ``fn(session, **payload)`` to run exactly once per outbox message, in the worker's
    drain (:func:`drain_outbox`); a failed attempt is retried with back-off (and reported to
    ``on_failure`` first). The same function is also a Celery task of that name, for a message a
    broker delivers on its own (one published before drains existed, or delivered twice)."""

    if name not in DRAINED_TASK_NAMES:
        # A web process tells a drained task from its name alone (``app.task_sender``): one missing
        # there would be published to the broker as well as drained.
        raise ValueError(f"drained task {name!r} is not in app.task_sender.DRAINED_TASK_NAMES")

    def decorate(fn: Callable[..., Awaitable[None]]) -> Any:
        DRAINED_TASKS[name] = DrainedTask(fn, on_failure)

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


MAX_PROCESS_ATTEMPTS = outbox.MAX_PROCESS_ATTEMPTS
DRAIN_BUDGET_SECONDS = 20.0


# Back-off after a failed attempt: 5 s, 10 s, 20 s … at most 10 minutes.
FIRST_RETRY_DELAY_SECONDS = 5
MAX_RETRY_DELAY_SECONDS = 600


@dataclass
class DrainReport:
    processed: int = 0
    failed: int = 0
    more: bool = False  # stopped at its time budget with messages still due
    retry_in_seconds: int | None = None  # the soonest retry of a message that failed in this drain


async def drain_outbox(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: outbox.TaskSender | None,
    *,
    budget_seconds: float = DRAIN_BUDGET_SECONDS,
    task_names: Sequence[str] | None = None,
) -> DrainReport:
    """Process due messages of the drained tasks, oldest first, each in a transaction of its own
    that claims it (``SKIP LOCKED``: drains in several worker processes share the queue), until
    none is due or ``budget_seconds`` have passed. ``task_names``: only these (default: every
    registered one).

    A handler that raises rolls back with its claim; the failure is recorded in a transaction of
    its own (attempts, back-off, the error, then the task's ``on_failure``) and the drain goes on
    with the next message. A worker killed mid-message leaves the claim uncommitted: the message is
    due again at once.
    """
    report = DrainReport()
    deadline = time.monotonic() + budget_seconds
    names = tuple(task_names if task_names is not None else DRAINED_TASKS)
    while True:
        if time.monotonic() >= deadline:
            report.more = True
            return report
        claimed: kit_repository.ClaimedMessage | None = None
        bound = request_id_var.set(None)
        try:
            async with outbox.unit_of_work(sessionmaker, sender) as session:
                claimed = await kit_repository.claim_next_due_message(
                    session, task_names=names, max_attempts=MAX_PROCESS_ATTEMPTS
                )
                if claimed is None:
                    return report
                # The handler's log lines (and what it enqueues) carry the id of the request that
                # wrote the message.
                request_id_var.set(claimed.request_id)
                await DRAINED_TASKS[claimed.task_name].fn(session, **claimed.payload)
            report.processed += 1
        except Exception as exc:
            if claimed is None:
                raise  # the queue itself could not be read: let the task fail and be retried
            report.failed += 1
            retry_in = await _record_failure(sessionmaker, sender, claimed, exc)
            if retry_in is not None:
                report.retry_in_seconds = min(retry_in, report.retry_in_seconds or retry_in)
        finally:
            request_id_var.reset(bound)


async def _record_failure(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: outbox.TaskSender | None,
    message: kit_repository.ClaimedMessage,
    exc: Exception,
) -> int | None:
    """The attempt and its back-off first, in a transaction of their own (so that a failing
    ``on_failure`` cannot make the message due again at once), then the task's ``on_failure``.
    Returns the seconds until the message is due again; None when it has no attempt left."""
    count_task_failure(message.task_name)  # first: counted even when the database cannot record it
    async with outbox.unit_of_work(sessionmaker, sender) as session:
        attempts, retry_in = await kit_repository.record_failed_attempt(
            session,
            message.id,
            error=f"{type(exc).__name__}: {exc}",
            first_delay_seconds=FIRST_RETRY_DELAY_SECONDS,
            max_delay_seconds=MAX_RETRY_DELAY_SECONDS,
        )
    log.warning(
        "%s: outbox message %s failed (attempt %d of %d): %s: %s",
        message.task_name,
        message.id,
        attempts,
        MAX_PROCESS_ATTEMPTS,
        type(exc).__name__,
        exc,
    )
    on_failure = DRAINED_TASKS[message.task_name].on_failure
    if on_failure is not None:
        try:
            async with outbox.unit_of_work(sessionmaker, sender) as session:
                await on_failure(session, exc, **message.payload)
        except Exception:
            log.exception("%s: could not record the failure of outbox message %s", message.task_name, message.id)
    return retry_in if attempts < MAX_PROCESS_ATTEMPTS else None


def _drain_now() -> int:
    """One drain on an engine of its own; another is asked for when its time budget ran out with
    messages still due (so a long queue never holds a worker slot for good), and one for when the
    back-off of a message that failed is over."""

    async def main(sessionmaker: async_sessionmaker[AsyncSession]) -> DrainReport:
        return await drain_outbox(sessionmaker, CelerySender(celery_app))

    report = run_with_sessionmaker(main, pooled=True)
    if report.more:
        celery_app.send_task(DRAIN_TASK)
    if report.retry_in_seconds is not None:  # the retry of what failed, when its back-off is over
        # A second late, so that the message is due by the database's clock when the drain looks.
        celery_app.send_task(DRAIN_TASK, countdown=report.retry_in_seconds + 1)
    return report.processed


@celery_app.task(name=DRAIN_TASK, acks_late=True)
def drain() -> int:
    """Process the due outbox messages of the drained tasks; returns how many it processed."""
    return _drain_now()


@celery_app.task(name="outbox.relay", acks_late=True)
def relay_outbox() -> int:
    """The safety net: send outbox messages that a web process committed but did not manage to
    send, and drain what a lost drain request left behind."""

    async def work(session: AsyncSession) -> int:
        return await outbox.relay(
            session,
            CelerySender(celery_app),
            older_than_seconds=10,
            resend_after_seconds=get_settings().outbox_resend_after_seconds,
        )

    sent = int(run_async(work))
    _drain_now()
    return sent


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


@celery_app.task(name="backup.daily", acks_late=True)
def daily_backup() -> str:
    """Periodic, when BACKUP_ENABLED: an archive of the database and uploads into BACKUP_DIR, its
    outcome recorded for the ops console, then the retention (BACKUP_KEEP_DAILY / _WEEKLY). Run
    again after a lost worker it only makes one more archive, which the retention then thins."""
    from app.kit.backup import apply_retention, run_backup

    settings = get_settings()
    if not settings.backup_enabled:
        return ""
    result = asyncio.run(
        run_backup(settings, resolve_database_url(settings), settings.backups_dir, trigger="scheduled")
    )
    deleted = apply_retention(
        settings.backups_dir, keep_daily=settings.backup_keep_daily, keep_weekly=settings.backup_keep_weekly
    )
    log.info("backup %s (%d bytes); retention deleted %s", result.path, result.size_bytes, deleted or "nothing")
    return str(result.path)
