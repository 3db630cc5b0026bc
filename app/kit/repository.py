"""All SQL of the domain-free kit: the outbox, idempotency keys, rate-limit counters, readiness."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.kit.models import IdempotencyKey, OutboxMessage, RateLimitCounter

# ---- outbox ---------------------------------------------------------------------------------------


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


async def count_unprocessed_messages(session: AsyncSession) -> int:
    """Messages the relay has not finished with (the ops console's "messages waiting")."""
    return (
        await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.processed_at.is_(None))
        )
        or 0
    )


def mark_sent(message: OutboxMessage) -> None:
    """The database's clock, as every other outbox time: the relay compares against ``now()``."""
    message.sent_at = func.now()


async def claim_message(session: AsyncSession, message_id: int) -> bool:
    """Compare-and-set ``processed_at``; False when the message already was processed."""
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.processed_at.is_(None))
        .values(processed_at=func.now())
        .returning(OutboxMessage.id)
    )
    return result.scalar_one_or_none() is not None


# ---- idempotency keys -----------------------------------------------------------------------------


async def claim_idempotency_key(session: AsyncSession, scope: str, key: str, fingerprint: str) -> bool:
    """Insert the key; False when it exists (a concurrent insert of the same key blocks on the
    unique index until the first transaction ends)."""
    claimed = await session.scalar(
        insert(IdempotencyKey)
        .values(scope=scope, key=key, fingerprint=fingerprint)
        .on_conflict_do_nothing(constraint="uq_idempotency_keys_scope_key")
        .returning(IdempotencyKey.id)
    )
    return claimed is not None


async def idempotency_key(session: AsyncSession, scope: str, key: str) -> IdempotencyKey | None:
    return await session.scalar(select(IdempotencyKey).where(IdempotencyKey.scope == scope, IdempotencyKey.key == key))


async def store_idempotent_answer(session: AsyncSession, scope: str, key: str, status_code: int, body: Any) -> None:
    await session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
        .values(status_code=status_code, response=body)
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


# ---- readiness ------------------------------------------------------------------------------------


async def ping(conn: AsyncConnection) -> None:
    """Raises unless the database answers."""
    await conn.execute(text("SELECT 1"))
