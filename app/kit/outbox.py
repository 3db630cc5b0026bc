"""Transactional outbox: background tasks are asked for inside the business transaction.

A service calls :func:`enqueue`; the message is a row written in the same transaction as the work
that asked for it. Only after that transaction commits is it handed to the broker, so a task is
never sent for work that rolled back, and never lost for work that committed: the request sends it
right after its commit, and the periodic relay (``outbox.relay``) sends whatever a crashed process
left behind. Delivery is therefore at-least-once; tasks claim their message with a conditional
update in their own transaction (:func:`claim`), which makes their effect exactly-once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from app.kit import clock, repository
from app.kit.logs import bound_request_id, current_request_id
from app.kit.models import OutboxMessage

log = logging.getLogger(__name__)

PENDING_KEY = "outbox_pending"
RESEND_AFTER_SECONDS = 900
MAX_SEND_ATTEMPTS = 5
# Failed attempts of the worker's drain (``app.worker.drain_outbox``) before a message waits for a
# person; here, not in the worker, because the backlog (``backlog``) tells those apart.
MAX_PROCESS_ATTEMPTS = 10
SENDER_KEY = "task_sender"


class TaskSender(Protocol):
    """Hands a committed outbox message to the broker (Celery in production, a recorder in tests)."""

    async def send(self, message_id: int, task_name: str, payload: dict[str, Any]) -> None: ...


@runtime_checkable
class DrainingSender(TaskSender, Protocol):
    """A sender whose worker drains some tasks' messages from the table itself (``drains``): the
    request that committed them neither sends them nor reads or marks their rows."""

    def drains(self, task_name: str) -> bool: ...


class RecordingSender:
    """A sender that only remembers what it was given: the default when no broker is wanted."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, dict[str, Any]]] = []

    async def send(self, message_id: int, task_name: str, payload: dict[str, Any]) -> None:
        self.sent.append((message_id, task_name, payload))


async def enqueue(session: AsyncSession, task_name: str, **payload: Any) -> OutboxMessage:
    """Ask for ``task_name(**payload)`` to run once the current transaction commits."""
    message = OutboxMessage(task_name=task_name, payload=payload, request_id=current_request_id())
    session.add(message)
    await session.flush()
    remember(session, message.id, task_name, payload)
    return message


def remember(session: AsyncSession, message_id: int, task_name: str, payload: dict[str, Any]) -> None:
    """A message written in this transaction (by :func:`enqueue`, or in the same statement as the
    row it is for, ``repository.task_row_for``): sent once the transaction commits."""
    session.info.setdefault(PENDING_KEY, {})[message_id] = (task_name, payload)


def forget_pending(session: AsyncSession) -> None:
    """Called on rollback: the rows are gone, so nothing may be sent."""
    session.info.pop(PENDING_KEY, None)


async def relay_after_commit(session: AsyncSession) -> None:
    """Send the messages this session committed. A send failure is logged, not raised: the work
    is committed and the periodic relay will send the message later.

    A message its worker drains from the table is left alone: the commit announced it to the
    worker (``app.kit.outbox_listener``), so the request that placed an order spends nothing on it;
    the periodic relay still covers it if the drain never comes, as it covers any unsent message."""
    pending: dict[int, tuple[str, dict[str, Any]]] = session.info.pop(PENDING_KEY, {})
    sender: TaskSender | None = session.info.get(SENDER_KEY)
    if not pending or sender is None:
        return
    drains = sender.drains if isinstance(sender, DrainingSender) else None
    to_relay = [message_id for message_id, (task_name, _) in pending.items() if drains is None or not drains(task_name)]
    if to_relay:
        await relay(session, sender, ids=to_relay)


async def relay(
    session: AsyncSession,
    sender: TaskSender,
    *,
    ids: list[int] | None = None,
    older_than_seconds: int = 0,
    resend_after_seconds: int = RESEND_AFTER_SECONDS,
    limit: int = 200,
) -> int:
    """Send unsent messages (the given ``ids``, or any older than the age given) and mark them sent.

    The periodic relay (``older_than_seconds`` without ``ids``) also sends again a message that was
    sent ``resend_after_seconds`` ago (``OUTBOX_RESEND_AFTER_SECONDS``) and is still not processed —
    its task lost in the broker or out of retries — up to ``MAX_SEND_ATTEMPTS`` sends in all; tasks
    claim their message, so a second delivery of one that did run is a no-op.

    ``FOR UPDATE SKIP LOCKED`` lets several relays run at once without sending a row twice.
    """
    messages = await repository.unsent_messages(
        session,
        ids=ids,
        older_than_seconds=older_than_seconds,
        resend_after_seconds=resend_after_seconds,
        max_send_attempts=MAX_SEND_ATTEMPTS,
        limit=limit,
    )
    sent = 0
    for message in messages:
        try:
            # The id goes with the task (a header, ``app.worker``), for the task's log lines.
            with bound_request_id(message.request_id):
                await sender.send(message.id, message.task_name, dict(message.payload))
        except Exception:
            log.exception("outbox message %s (%s) not sent; the relay will retry", message.id, message.task_name)
            message.send_attempts += 1
            continue
        if message.sent_at is not None:
            log.warning(
                "outbox message %s (%s) sent again: not processed since %s",
                message.id,
                message.task_name,
                message.sent_at.isoformat(),
            )
        repository.mark_sent(message)
        message.send_attempts += 1
        sent += 1
    await session.commit()
    return sent


async def claim(session: AsyncSession, message_id: int) -> bool:
    """Mark the message processed inside the task's transaction; False when it already was.

    The task does its work in the same transaction, so a retry after a crash either finds the
    claim rolled back (and does the work) or committed with the work (and does nothing).
    """
    return await repository.claim_message(session, message_id)


@asynccontextmanager
async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession], sender: TaskSender | None = None
) -> AsyncIterator[AsyncSession]:
    """One transaction for a task or CLI command: commit on success, then relay its outbox."""
    async with sessionmaker() as session:
        if sender is not None:
            session.info[SENDER_KEY] = sender
        try:
            yield session
        except BaseException:
            await session.rollback()
            forget_pending(session)
            raise
        await session.commit()
        await relay_after_commit(session)


@dataclass(frozen=True)
class Backlog:
    """What background work has not done yet, as ``/readyz`` and the ops console show it.

    ``oldest_age_seconds`` is the age of the oldest message still being worked on — unsent, sent
    and not yet processed, or waiting for its next attempt after a failure — and None when there is
    none. A message the drain gave up on (``given_up``) waits for a person: it is counted, but
    leaves the age alone, or one undeliverable notice would keep the platform "stalled" for good.
    """

    waiting: int
    given_up: int
    oldest_age_seconds: int | None
    stall_after_seconds: int

    @property
    def stalled(self) -> bool:
        return self.oldest_age_seconds is not None and self.oldest_age_seconds > self.stall_after_seconds


async def backlog(conn: AsyncConnection | AsyncSession, *, stall_after_seconds: int) -> Backlog:
    """The backlog now (by :func:`app.kit.clock.now`); stalled when its oldest message has waited
    longer than ``stall_after_seconds`` (``OUTBOX_STALL_SECONDS``)."""
    row = await repository.outbox_backlog(conn, max_process_attempts=MAX_PROCESS_ATTEMPTS)
    age = None
    if row.oldest_created_at is not None:
        # Never negative: the database's clock may run a little ahead of this machine's.
        age = max(0, int((clock.now() - row.oldest_created_at).total_seconds()))
    return Backlog(row.waiting, row.given_up, age, stall_after_seconds)


__all__ = [
    "Backlog",
    "OutboxMessage",
    "RecordingSender",
    "TaskSender",
    "backlog",
    "claim",
    "enqueue",
    "forget_pending",
    "relay",
    "relay_after_commit",
    "unit_of_work",
]
