"""Ops console: the notification outbox (/admin/notifications). Admin role only.

Every SMS the platform meant to send is listed here, sent or not: with no provider configured this
page *is* the delivery channel staff read from. Phone numbers are shown masked; staff find a
message by order number or the last four digits a customer reads out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts.access import AdminUser
from app.db import DbSession
from app.kit.errors import AppError
from app.kit.phones import mask_phone
from app.notifications import service
from app.notifications.models import NotificationMessage, NotificationStatus
from app.notifications.templates import TEMPLATE_LABELS, mask_secrets
from app.web import forms
from app.web.errors import FormError
from app.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGE = 50


@dataclass(frozen=True)
class MessageRow:
    id: int
    created_at: datetime
    channel_zh: str
    phone: str  # masked
    template: str
    template_zh: str
    body: str
    status: str
    status_zh: str
    attempts: int
    last_error: str | None
    last_attempt_at: datetime | None
    sent_at: datetime | None
    provider: str | None
    provider_message_id: str | None
    reference: str | None


def _row(message: NotificationMessage, *, reveal_secrets: bool) -> MessageRow:
    return MessageRow(
        id=message.id,
        created_at=message.created_at,
        channel_zh=message.channel.label_zh,
        phone=mask_phone(message.recipient),
        template=message.template,
        template_zh=TEMPLATE_LABELS.get(message.template, message.template),
        body=message.body if reveal_secrets else mask_secrets(message.body, message.params or {}),
        status=message.status.value,
        status_zh=message.status.label_zh,
        attempts=message.attempts,
        last_error=message.last_error,
        last_attempt_at=message.last_attempt_at,
        sent_at=message.sent_at,
        provider=message.provider,
        provider_message_id=message.provider_message_id,
        reference=message.reference,
    )


@router.get("/notifications")
async def notifications_page(
    request: Request,
    session: DbSession,
    _: AdminUser,
    status: Annotated[str, Query(max_length=20)] = "",
    template: Annotated[str, Query(max_length=40)] = "",
    reference: Annotated[str, Query(max_length=60)] = "",
    phone: Annotated[str, Query(max_length=20)] = "",
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Newest first, keyset-paged by id; filters: status, template, reference (order number) and the
    phone's last four digits."""
    filters = {
        "status": status.strip(),
        "template": template.strip(),
        "reference": reference.strip(),
        "phone": phone.strip(),
    }
    errors: list[str] = []
    rows: list[MessageRow] = []
    older_url = ""
    try:
        wanted_status = forms.choice(NotificationStatus, filters["status"], "状态") if filters["status"] else None
        if filters["template"] and filters["template"] not in TEMPLATE_LABELS:
            raise FormError("消息类型：取值无效")
        messages = await service.list_messages(
            session,
            status=wanted_status,
            template=filters["template"] or None,
            reference=filters["reference"] or None,
            phone_last4=filters["phone"] or None,
            before_id=before_id,
            limit=PAGE + 1,
        )
    except AppError as exc:
        errors = [exc.text]
    else:
        # In demo the codes stay readable: the outbox is how a demo user gets the SMS.
        reveal = request.app.state.settings.is_demo
        rows = [_row(m, reveal_secrets=reveal) for m in messages[:PAGE]]
        if len(messages) > PAGE:
            older_url = forms.url("/admin/notifications", **filters, before_id=rows[-1].id)
    return render(
        request,
        "admin/notifications.html",
        {
            "rows": rows,
            "filters": filters,
            "statuses": list(NotificationStatus),
            "templates": TEMPLATE_LABELS,
            "before_id": before_id,
            "older_url": older_url,
            "newest_url": forms.url("/admin/notifications", **filters),
            "provider": request.app.state.settings.sms_provider.value,
            "errors": errors,
            "notice": "",
        },
        status_code=422 if errors else 200,
    )
