"""All SQL of the notifications domain."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypedDict, Unpack, cast

from sqlalchemy import Select, Table, bindparam, inspect, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import outbox, stored_rows
from app.kit import repository as kit_repository
from app.kit.logs import current_request_id
from app.notifications.models import NotificationMessage, NotificationStatus

# States a delivery may still be attempted from; ``sent`` and ``outbox_only`` are final.
OPEN_STATUSES = (NotificationStatus.queued, NotificationStatus.failed)


async def add_to_send(session: AsyncSession, message: NotificationMessage, task_name: str) -> NotificationMessage:
    """Store the new ``message`` (every column given but its id and creation time) with the outbox
    row that asks ``task_name`` to send it, in one statement: an order's notice is written under the
    order's other writes, and a shop order or a PDA scan-in pays every round trip (issue 15). The
    message joins the session as the row stored, as SQLAlchemy's own ``INSERT … RETURNING`` of an
    entity makes it: a rollback expires it like any other row read in the transaction (read its id
    before, as the outbox row's payload has it)."""
    params = {column.key: getattr(message, column.key) for column in _WRITTEN_COLUMNS}
    message_id, created_at, task_id = (
        await session.execute(_ADD_TO_SEND, {**params, "task_name": task_name, "request_id": current_request_id()})
    ).one()
    message.id, message.created_at = message_id, created_at
    stored_rows.join_as_stored(session, message)
    outbox.remember(session, task_id, task_name, {"message_id": message_id})
    return message


_WRITTEN_COLUMNS = tuple(
    column for column in inspect(NotificationMessage).columns if column.key not in ("id", "created_at")
)


def _add_to_send_statement() -> Select[int, datetime, int]:
    """Built once: a statement built per call costs more Python than the round trip it saves. On the
    table, not the mapped class: the result is no entity, and the ORM's execution of a statement
    naming the class costs about half a millisecond more (issue 15)."""
    messages = cast(Table, NotificationMessage.__table__)
    new_message = (
        insert(messages)
        .values({column.key: bindparam(column.key, type_=column.type) for column in _WRITTEN_COLUMNS})
        .returning(messages.c.id, messages.c.created_at)
        .cte("new_message")
    )
    task = kit_repository.task_row_for(new_message, "message_id")
    return select(new_message.c.id, new_message.c.created_at, task.c.id).select_from(new_message.join(task, true()))


_ADD_TO_SEND = _add_to_send_statement()


async def get(session: AsyncSession, message_id: int) -> NotificationMessage | None:
    return await session.get(NotificationMessage, message_id)


async def get_for_update(session: AsyncSession, message_id: int) -> NotificationMessage | None:
    """The message, row-locked for this transaction (and re-read: another delivery may have just
    committed it as sent)."""
    stmt = (
        select(NotificationMessage)
        .where(NotificationMessage.id == message_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.scalars(stmt)).one_or_none()


async def record_attempt(session: AsyncSession, message: NotificationMessage, **values: Any) -> None:
    """Write a delivery attempt's columns (``values``, by attribute name) to the locked ``message``
    and keep the loaded message in step, with one statement built once per set of columns rather
    than a flush: the worker records one attempt for every notice of every order (issue 15)."""
    await session.execute(_record_attempt_statement(tuple(sorted(values))), {"attempted_id": message.id, **values})
    stored_rows.refresh_loaded(session, NotificationMessage, message.id, values)


@functools.cache
def _record_attempt_statement(keys: tuple[str, ...]) -> Any:
    messages = cast(Table, NotificationMessage.__table__)
    return (
        update(messages)
        .where(messages.c.id == bindparam("attempted_id"))
        .values({key: bindparam(key, type_=messages.c[key].type) for key in keys})
    )


async def mark_failed(
    session: AsyncSession, message_id: int, *, error: str, provider: str | None, at: datetime
) -> bool:
    """Record a failed attempt unless the message meanwhile reached a final state (a concurrent
    delivery of the same message may have sent it: that success must not be overwritten)."""
    result = await session.execute(
        update(NotificationMessage)
        .where(NotificationMessage.id == message_id, NotificationMessage.status.in_(OPEN_STATUSES))
        .values(
            status=NotificationStatus.failed,
            attempts=NotificationMessage.attempts + 1,
            last_error=error,
            last_attempt_at=at,
            provider=provider,
        )
        .returning(NotificationMessage.id)
        .execution_options(synchronize_session=False)
    )
    return result.scalar_one_or_none() is not None


class MessageFilters(TypedDict, total=False):
    """What the console narrows the message list by; an absent or empty filter keeps every row."""

    status: NotificationStatus | None
    template: str | None
    reference: str | None
    phone_last4: str | None  # the recipient's last four digits
    before_id: int | None  # keyset paging: rows older than this one
    limit: int  # 50 when absent


async def list_messages(session: AsyncSession, **filters: Unpack[MessageFilters]) -> list[NotificationMessage]:
    """Newest first, keyset-paged by id."""
    stmt = select(NotificationMessage).order_by(NotificationMessage.id.desc()).limit(filters.get("limit", 50))
    if (status := filters.get("status")) is not None:
        stmt = stmt.where(NotificationMessage.status == status)
    if template := filters.get("template"):
        stmt = stmt.where(NotificationMessage.template == template)
    if reference := filters.get("reference"):
        stmt = stmt.where(NotificationMessage.reference == reference)
    if phone_last4 := filters.get("phone_last4"):
        stmt = stmt.where(NotificationMessage.recipient.endswith(phone_last4, autoescape=True))
    if (before_id := filters.get("before_id")) is not None:
        stmt = stmt.where(NotificationMessage.id < before_id)
    return list((await session.scalars(stmt)).all())


async def messages_about(
    session: AsyncSession, *, recipients: Sequence[str], references: Sequence[str], for_update: bool = False
) -> list[NotificationMessage]:
    """Messages sent to one of ``recipients`` or about one of ``references`` (order numbers),
    oldest first: what a customer's data export lists and their account's erasure masks."""
    if not recipients and not references:
        return []
    stmt = (
        select(NotificationMessage)
        .where(or_(NotificationMessage.recipient.in_(recipients), NotificationMessage.reference.in_(references)))
        .order_by(NotificationMessage.id)
    )
    if for_update:
        stmt = stmt.with_for_update()
    return list((await session.scalars(stmt)).all())
