"""Every notice the platform means to send, kept whether or not a provider delivers it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, enum_column

BODY_MAX_CHARS = 500
ERROR_MAX_CHARS = 500


class NotificationChannel(StrEnum):
    """How a notice travels. Only SMS exists today; WeChat (template messages to an openid) becomes a
    second member here (``ALTER TYPE notification_channel ADD VALUE 'wechat'``) with its provider."""

    sms = "sms"

    @property
    def label_zh(self) -> str:
        return {"sms": "短信"}[self.value]


class NotificationStatus(StrEnum):
    queued = "queued"  # written with the business change; the send task has not run yet
    sent = "sent"  # the provider accepted it (provider_message_id is its receipt)
    failed = "failed"  # the last attempt failed; the task is retried by Celery
    outbox_only = "outbox_only"  # no provider configured: kept here, visible in /admin, never sent

    @property
    def label_zh(self) -> str:
        return {"queued": "待发送", "sent": "已发送", "failed": "发送失败", "outbox_only": "仅留存"}[self.value]


class NotificationMessage(Base):
    __tablename__ = "notification_messages"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("status <> 'sent' OR sent_at IS NOT NULL", name="sent_has_time"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    channel: Mapped[NotificationChannel] = mapped_column(
        enum_column(NotificationChannel, "notification_channel"), nullable=False
    )
    # E.164 for SMS (``+8613800138000``); wide enough for a WeChat openid later.
    recipient: Mapped[str] = mapped_column(String(64), nullable=False)
    template: Mapped[str] = mapped_column(String(40), nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    body: Mapped[str] = mapped_column(String(BODY_MAX_CHARS), nullable=False)
    status: Mapped[NotificationStatus] = mapped_column(
        enum_column(NotificationStatus, "notification_status"), nullable=False, default=NotificationStatus.queued
    )
    # Which provider handled the last attempt (``http``, ``outbox``); None until the task runs.
    provider: Mapped[str | None] = mapped_column(String(30))
    provider_message_id: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(ERROR_MAX_CHARS))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the notice is about, e.g. the order number: the console filters on it.
    reference: Mapped[str | None] = mapped_column(String(60), index=True)
