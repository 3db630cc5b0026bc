"""All SQL of the notifications domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypedDict, Unpack

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.notifications.models import NotificationMessage, NotificationStatus

# States a delivery may still be attempted from; ``sent`` and ``outbox_only`` are final.
OPEN_STATUSES = (NotificationStatus.queued, NotificationStatus.failed)


async def add(session: AsyncSession, message: NotificationMessage) -> NotificationMessage:
    session.add(message)
    await session.flush()
    return message


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
