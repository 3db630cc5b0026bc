"""Notices to customers: written with the business change, sent after it commits, exactly once.

:func:`notify` stores the rendered message and enqueues ``notifications.send`` in the caller's
transaction, so an order that rolls back sends nothing and one that commits is never forgotten.
:func:`send_message` is the task's body: it runs in the same transaction as the task's outbox claim,
so a crash or a provider failure rolls both back and the retry sends again; a message already
``sent`` is never sent twice. The failure itself is written by :func:`record_failure` in a
transaction of its own, after the rollback (see ``app.worker.process_outbox_message``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Unpack

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.kit.phones import last_four, mask_phone, normalise_cn_phone
from app.notifications import errors, repository
from app.notifications.models import (
    ERROR_MAX_CHARS,
    NotificationChannel,
    NotificationMessage,
    NotificationStatus,
)
from app.notifications.providers import MessageProvider, ProviderError
from app.notifications.templates import SECRET_PARAMS, mask_secrets, render

log = logging.getLogger(__name__)

SEND_TASK = "notifications.send"
REFERENCE_MAX_CHARS = 60


async def notify(
    session: AsyncSession,
    *,
    template: str,
    recipient: str,
    params: Mapping[str, Any],
    reference: str | None = None,
) -> NotificationMessage:
    """Queue an SMS: normalise the phone, render the template, store the message (``queued``) and
    ask for ``notifications.send`` — one statement in the caller's transaction.

    Raises :class:`~app.notifications.errors.InvalidRecipient` (422) for a phone number that is not
    valid, and :class:`~app.notifications.templates.TemplateError` for an unknown template or
    missing / mistyped parameters (a bug in the caller).
    """
    try:
        phone = normalise_cn_phone(recipient)
    except ValueError as exc:
        raise errors.InvalidRecipient(str(exc)) from exc
    if reference is not None and len(reference) > REFERENCE_MAX_CHARS:
        raise ValueError(f"reference 最多 {REFERENCE_MAX_CHARS} 个字符")
    rendered = render(template, params)
    # Every column given: the message joins the session as the row its statement stored.
    return await repository.add_to_send(
        session,
        NotificationMessage(
            channel=NotificationChannel.sms,
            recipient=phone,
            template=template,
            params=rendered.params,
            body=rendered.body,
            status=NotificationStatus.queued,
            provider=None,
            provider_message_id=None,
            attempts=0,
            last_error=None,
            last_attempt_at=None,
            sent_at=None,
            reference=reference,
        ),
        SEND_TASK,
    )


def client_reference(message: NotificationMessage) -> str:
    """Our id for one message at the provider (its ``client_ref``): unique per message, so a
    gateway can recognise the same message sent again by a retry."""
    return f"np-msg-{message.id}"


async def send_message(session: AsyncSession, message_id: int, provider: MessageProvider) -> NotificationMessage | None:
    """Deliver one stored message through ``provider``; writes, never commits.

    A message already ``sent`` (or kept ``outbox_only``) is left alone, so a second delivery of
    the task cannot send it twice. The row is locked for the transaction: two deliveries racing
    for one message run one after the other, and the second sees the first one's result. On a
    :class:`ProviderError` nothing is recorded here and the error propagates: the caller's
    transaction (and the task's outbox claim) must roll back so the retry sends again.
    """
    message = await repository.get_for_update(session, message_id)
    if message is None:
        log.warning("notification %s not found; nothing to send", message_id)
        return None
    if message.status not in repository.OPEN_STATUSES:
        log.info("notification %s is already %s; not sent again", message_id, message.status.value)
        return message
    provider_message_id = await provider.send(message.recipient, message.body, reference=client_reference(message))
    now = clock.now()
    attempt: dict[str, Any] = {
        "attempts": message.attempts + 1,
        "last_attempt_at": now,
        "provider": provider.name,
        "last_error": None,
    }
    if provider.delivers:
        attempt.update(status=NotificationStatus.sent, sent_at=now, provider_message_id=provider_message_id)
    else:
        attempt.update(status=NotificationStatus.outbox_only, provider_message_id=provider_message_id or None)
    # The row is locked (``get_for_update``): the attempt is written as one statement, not a flush.
    await repository.record_attempt(session, message, **attempt)
    if provider.delivers:
        log.info("notification %s (%s) sent to …%s", message.id, message.template, last_four(message.recipient))
    return message


def describe_failure(exc: BaseException) -> str:
    """What the console shows for a failed attempt. A provider's own message is ours (status and
    a short code); anything else is named by its type only, since its text may carry SQL
    parameters such as the phone number."""
    text = str(exc) if isinstance(exc, ProviderError) else f"内部错误：{type(exc).__name__}"
    return text[:ERROR_MAX_CHARS]


async def record_failure(session: AsyncSession, message_id: int, exc: BaseException, *, provider: str | None) -> bool:
    """Mark a failed attempt (``failed``, attempts + 1, the error) in a transaction that commits
    even though the attempt's own rolled back. False when the message had meanwhile been sent."""
    return await repository.mark_failed(
        session, message_id, error=describe_failure(exc), provider=provider, at=clock.now()
    )


async def list_messages(
    session: AsyncSession, **filters: Unpack[repository.MessageFilters]
) -> list[NotificationMessage]:
    """Messages for the ops console, newest first; ``phone_last4`` matches the number's last four
    digits (staff ask "the one ending 8000" — the console never shows a full number)."""
    phone_last4 = filters.get("phone_last4")
    if phone_last4 is not None and not (len(phone_last4) == 4 and phone_last4.isascii() and phone_last4.isdigit()):
        raise errors.InvalidPhoneFilter()
    return await repository.list_messages(session, **filters)


ERASED_NOT_SENT = "顾客已注销账户，不再发送"


def anonymise_message(message: NotificationMessage, phones: Sequence[str]) -> None:
    """Rewrite a message for a customer who deleted their account (PIPL): the recipient masked,
    the body without their secrets (pickup code, order link, sign-in code) or any of ``phones``,
    the parameters without those secrets. What it was (template, order number, amounts, times,
    status) stays for the record. A message not yet sent is never sent now (``outbox_only``, the
    state of a message kept and not delivered), since it has no number to go to any more."""
    body = mask_secrets(message.body, message.params)
    for phone in phones:
        if phone:
            body = body.replace(phone, mask_phone(phone)).replace(phone.removeprefix("+86"), mask_phone(phone))
    message.body = body
    message.params = {k: v for k, v in message.params.items() if k not in SECRET_PARAMS}
    if " " not in message.recipient:  # masked already reads "+86 138****8000"
        message.recipient = mask_phone(message.recipient)
    if message.status in repository.OPEN_STATUSES:
        message.status = NotificationStatus.outbox_only
        message.last_error = ERASED_NOT_SENT


async def messages_about(
    session: AsyncSession, *, recipients: Sequence[str], references: Sequence[str], for_update: bool = False
) -> list[NotificationMessage]:
    """Messages to one of ``recipients`` or about one of ``references`` (order numbers)."""
    return await repository.messages_about(session, recipients=recipients, references=references, for_update=for_update)
