"""Background work of the notifications domain: send one stored message, exactly once."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.notifications import service
from app.notifications.providers import provider_from_settings
from app.worker import outbox_task


async def send_notification(session: AsyncSession, message_id: int) -> None:
    """Send the message through the provider the settings choose. A provider failure propagates:
    the outbox claim rolls back with this transaction, :func:`record_send_failure` writes the
    failure, and Celery retries (the message still unsent, still sent once)."""
    await service.send_message(session, message_id, provider_from_settings(get_settings()))


async def record_send_failure(session: AsyncSession, exc: BaseException, message_id: int) -> None:
    """After a failed attempt rolled back: keep the message visible as ``failed`` with the error."""
    await service.record_failure(session, message_id, exc, provider=get_settings().sms_provider.value)


send = outbox_task(service.SEND_TASK, on_failure=record_send_failure)(send_notification)
