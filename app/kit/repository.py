"""All SQL of the domain-free kit: the outbox (and its backlog), idempotency keys, rate-limit counters,
savepoints left to the transaction's end, readiness."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    CTE,
    String,
    Table,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.kit.models import IdempotencyKey, OutboxMessage, RateLimitCounter, any_of

if TYPE_CHECKING:
    import psycopg

# ---- outbox ---------------------------------------------------------------------------------------

# The table, for statements whose result is no entity: a statement naming the mapped class goes
# through the ORM's execution, about half a millisecond more per statement (issue 15).
_OUTBOX = cast(Table, OutboxMessage.__table__)


def task_row_for(new_row: CTE, id_key: str) -> CTE:
    """The outbox row asking for a task with ``{id_key: <id>}`` of the row ``new_row`` writes (an
    ``INSERT … RETURNING id`` CTE), as a CTE of the same statement returning the message's id: the
    row and the task asked for it are one round trip (``app.kit.outbox.remember`` then keeps it for
    the relay after the commit). Its parameters: ``task_name`` and ``request_id``."""
    return (
        insert(_OUTBOX)
        .from_select(
            ["task_name", "payload", "request_id"],
            select(
                bindparam("task_name", type_=String),
                func.jsonb_build_object(literal(id_key, String), new_row.c.id),
                bindparam("request_id", type_=String),
            ),
        )
        .returning(_OUTBOX.c.id)
        .cte("task")
    )


def _seconds_ago(seconds: int) -> Any:
    return func.now() - func.make_interval(0, 0, 0, 0, 0, 0, seconds)


async def unsent_messages(
    session: AsyncSession,
    *,
    ids: list[int] | None,
    older_than_seconds: int,
    resend_after_seconds: int,
    max_send_attempts: int,
    limit: int,
) -> list[OutboxMessage]:
    """Unprocessed messages to send, row-locked (``SKIP LOCKED``: several relays may run at once
    without sending a row twice): the unsent ones among ``ids``; or, without ``ids``, the unsent
    ones older than ``older_than_seconds`` and those sent ``resend_after_seconds`` ago and still
    not processed, fewer than ``max_send_attempts`` times; or, with neither, every unsent one."""
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.processed_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    unsent = OutboxMessage.sent_at.is_(None)
    if ids is not None:
        stmt = stmt.where(unsent, OutboxMessage.id.in_(ids))
    elif older_than_seconds:
        age = OutboxMessage.created_at < _seconds_ago(older_than_seconds)
        stale = and_(
            OutboxMessage.sent_at < _seconds_ago(resend_after_seconds),
            OutboxMessage.send_attempts < max_send_attempts,
        )
        stmt = stmt.where(or_(and_(unsent, age), stale))
    else:
        stmt = stmt.where(unsent)
    return list((await session.scalars(stmt)).all())


@dataclass(frozen=True)
class OutboxBacklogRow:
    waiting: int  # every unprocessed message, those given up on included
    given_up: int  # unprocessed after ``max_process_attempts`` failed attempts of the drain
    oldest_created_at: datetime | None  # of the oldest unprocessed message still being tried


async def outbox_backlog(conn: AsyncConnection | AsyncSession, *, max_process_attempts: int) -> OutboxBacklogRow:
    """The unprocessed messages in one statement, cheap however long the table grows: both parts
    read the partial index ``ix_outbox_messages_unprocessed`` (only unprocessed rows), and the
    oldest is the first of it by id (``LIMIT 1``), skipping only the given-up rows before it.
    By id rather than ``min(created_at)``: ids are handed out in insert order, so the lowest id is
    the oldest message give or take the length of the transaction that wrote it, and ``min()``
    over ``created_at`` would need an index of its own."""
    unprocessed = OutboxMessage.processed_at.is_(None)
    given_up = OutboxMessage.process_attempts >= max_process_attempts
    counts = (
        select(func.count(), func.count().filter(given_up)).select_from(OutboxMessage).where(unprocessed).subquery()
    )
    oldest = (
        select(OutboxMessage.created_at)
        .where(unprocessed, ~given_up)
        .order_by(OutboxMessage.id)
        .limit(1)
        .scalar_subquery()
    )
    row = (await conn.execute(select(counts, oldest))).one()
    return OutboxBacklogRow(waiting=int(row[0]), given_up=int(row[1]), oldest_created_at=row[2])


def mark_sent(message: OutboxMessage) -> None:
    """The database's clock, as every other outbox time: the relay compares against ``now()``."""
    message.sent_at = func.now()


async def claim_message(session: AsyncSession, message_id: int) -> bool:
    """Compare-and-set ``processed_at``; False when the message already was processed."""
    claimed = await session.scalar(_CLAIM_MESSAGE, {"claimed_id": message_id})
    return claimed is not None


_CLAIM_MESSAGE = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("claimed_id"), _OUTBOX.c.processed_at.is_(None))
    .values(processed_at=func.now())
    .returning(_OUTBOX.c.id)
)


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    task_name: str
    payload: dict[str, Any]
    request_id: str | None = None


async def claim_next_due_message(
    session: AsyncSession, *, task_names: Sequence[str], max_attempts: int
) -> ClaimedMessage | None:
    """Claim the oldest due message of one of ``task_names`` (unprocessed, under ``max_attempts``
    failed attempts, its back-off over), in one statement. The row stays locked until the caller's
    transaction ends and ``SKIP LOCKED`` lets other drains take the next one; the claim rolls back
    with the work if that fails."""
    row = (
        await session.execute(_CLAIM_NEXT_DUE, {"task_names": list(task_names), "max_attempts": max_attempts})
    ).one_or_none()
    return None if row is None else ClaimedMessage(row.id, row.task_name, dict(row.payload), row.request_id)


def _claim_next_due_statement() -> Any:
    """Built once, the task names one array parameter (``app.kit.models.any_of``): a drain claims
    once per message."""
    due = (
        select(_OUTBOX.c.id)
        .where(
            _OUTBOX.c.processed_at.is_(None),
            any_of(_OUTBOX.c.task_name, "task_names", String()),
            _OUTBOX.c.process_attempts < bindparam("max_attempts"),
            or_(_OUTBOX.c.next_attempt_at.is_(None), _OUTBOX.c.next_attempt_at <= func.now()),
        )
        .order_by(_OUTBOX.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return (
        update(_OUTBOX)
        .where(_OUTBOX.c.id == due)
        .values(processed_at=func.now())
        .returning(_OUTBOX.c.id, _OUTBOX.c.task_name, _OUTBOX.c.payload, _OUTBOX.c.request_id)
    )


_CLAIM_NEXT_DUE = _claim_next_due_statement()


async def record_failed_attempt(
    session: AsyncSession, message_id: int, *, error: str, first_delay_seconds: int, max_delay_seconds: int
) -> tuple[int, int]:
    """One more failed attempt of the message; the next waits ``first_delay_seconds`` doubled for
    each earlier failure, at most ``max_delay_seconds``. Returns (attempts so far, that wait)."""
    delay = func.least(first_delay_seconds * func.power(2, OutboxMessage.process_attempts), max_delay_seconds)
    row = (
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                process_attempts=OutboxMessage.process_attempts + 1,
                next_attempt_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, delay),
                last_error=error[:500],
            )
            .returning(
                OutboxMessage.process_attempts,
                func.extract("epoch", OutboxMessage.next_attempt_at - func.now()),
            )
        )
    ).one()
    return int(row[0]), round(float(row[1]))


# ---- idempotency keys -----------------------------------------------------------------------------


# Built once with bound parameters, on the table rather than the mapped class: these run on every
# order, payment, sale and scan, and a statement naming the class goes through the ORM's execution
# (about half a millisecond more per statement, issue 15) for a result that is no entity.
_IDEMPOTENCY_KEYS = cast(Table, IdempotencyKey.__table__)
_CLAIM_IDEMPOTENCY_KEY = (
    insert(_IDEMPOTENCY_KEYS)
    .values(scope=bindparam("claim_scope"), key=bindparam("claim_key"), fingerprint=bindparam("claim_fingerprint"))
    .on_conflict_do_nothing(constraint="uq_idempotency_keys_scope_key")
    .returning(_IDEMPOTENCY_KEYS.c.id)
)
_STORE_IDEMPOTENT_ANSWER = (
    update(_IDEMPOTENCY_KEYS)
    .where(_IDEMPOTENCY_KEYS.c.scope == bindparam("for_scope"), _IDEMPOTENCY_KEYS.c.key == bindparam("for_key"))
    .values(status_code=bindparam("answer_status"), response=bindparam("answer_body", type_=JSONB))
)


async def claim_idempotency_key(session: AsyncSession, scope: str, key: str, fingerprint: str) -> bool:
    """Insert the key; False when it exists (a concurrent insert of the same key blocks on the
    unique index until the first transaction ends)."""
    claimed = await session.scalar(
        _CLAIM_IDEMPOTENCY_KEY, {"claim_scope": scope, "claim_key": key, "claim_fingerprint": fingerprint}
    )
    return claimed is not None


async def idempotency_key(session: AsyncSession, scope: str, key: str) -> IdempotencyKey | None:
    return await session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))


async def store_idempotent_answer(session: AsyncSession, scope: str, key: str, status_code: int, body: Any) -> None:
    await session.execute(
        _STORE_IDEMPOTENT_ANSWER,
        {"for_scope": scope, "for_key": key, "answer_status": status_code, "answer_body": body},
    )


# ---- rate-limit counters --------------------------------------------------------------------------


async def count_hit(conn: AsyncConnection, key: str, window_start: int, previous_start: int) -> tuple[int, int]:
    """Add one to the window's counter (``INSERT … ON CONFLICT DO UPDATE … RETURNING``) and read
    the window before it: ``(count now, previous window's count)``."""
    counter = RateLimitCounter
    statement = (
        insert(counter)
        .values(key=key, window_start=window_start, hits=1)
        .on_conflict_do_update(index_elements=[counter.key, counter.window_start], set_={"hits": counter.hits + 1})
        .returning(counter.hits)
    )
    current = int((await conn.execute(statement)).scalar_one())
    previous = await conn.scalar(select(counter.hits).where(counter.key == key, counter.window_start == previous_start))
    return current, int(previous or 0)


async def delete_counters_before(conn: AsyncConnection, horizon: int) -> None:
    await conn.execute(delete(RateLimitCounter).where(RateLimitCounter.window_start < horizon))


# ---- savepoints left to the transaction's end ----------------------------------------------------

_SAVEPOINT_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


async def set_savepoint(session: AsyncSession, name: str) -> None:
    """``SAVEPOINT name``, not released: the transaction's end releases it (its commit; or the
    ``RELEASE`` or rollback of a savepoint set before it), one round trip fewer than SQLAlchemy's
    ``begin_nested()``, which releases its savepoint on its own. For a caller that must be able to
    undo its writes only until it has decided, and whose every round trip counts (a wholesale order
    under its company's turn, issue 15).

    The session is not told: what it has pending is flushed first (it would otherwise be flushed
    inside the savepoint), and rolling back to it (:func:`rollback_to_savepoint`) leaves loaded
    instances as they are, as rolling back SQLAlchemy's savepoint leaves those written by Core
    statements (``app.kit.stored_rows``)."""
    if not _SAVEPOINT_NAME.fullmatch(name):  # the name goes into the SQL text
        raise ValueError(f"not a savepoint name: {name!r}")
    await session.flush()
    await session.execute(text(f"SAVEPOINT {name}"))


async def rollback_to_savepoint(session: AsyncSession, name: str) -> None:
    """Undo what was written since :func:`set_savepoint` ``name``; the savepoint stays set."""
    if not _SAVEPOINT_NAME.fullmatch(name):
        raise ValueError(f"not a savepoint name: {name!r}")
    await session.execute(text(f"ROLLBACK TO SAVEPOINT {name}"))


# ---- readiness ------------------------------------------------------------------------------------


async def ping(conn: AsyncConnection) -> None:
    """Raises unless the database answers."""
    await conn.execute(text("SELECT 1"))


async def broker_tables_exist(conn: AsyncConnection) -> bool:
    """Whether kombu's SQLAlchemy transport has its queue and message tables on this database."""
    found = await conn.scalar(
        text("SELECT to_regclass('kombu_queue') IS NOT NULL AND to_regclass('kombu_message') IS NOT NULL")
    )
    return found is True


async def broker_queue_length(conn: AsyncConnection, queue: str) -> int:
    """Messages waiting in ``queue`` of kombu's SQLAlchemy transport (the default broker, on this
    database): the visible rows of ``kombu_message`` (a delivered one is invisible until acked).
    0 before the first worker created the tables. Both statements read small tables."""
    if await conn.scalar(text("SELECT to_regclass('kombu_message') IS NOT NULL")) is not True:
        return 0
    count = await conn.scalar(
        text(
            "SELECT count(*) FROM kombu_message m JOIN kombu_queue q ON q.id = m.queue_id"
            " WHERE q.name = :queue AND m.visible"
        ),
        {"queue": queue},
    )
    return int(count or 0)


def listen(connection: psycopg.Connection[Any], channel: str) -> None:
    """``LISTEN`` on ``channel`` (a constant of ours, never user input: LISTEN takes no parameter)."""
    connection.execute(f"LISTEN {channel}")
