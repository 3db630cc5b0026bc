"""Stripe webhooks: verified on the raw body, stored in an inbox unique on the event id, processed
once by a task that re-reads the PaymentIntent from Stripe (events arrive out of order and more
than once; the provider's current state is what counts)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.kit import outbox
from app.orders import payments, repository
from app.orders.models import Refund
from app.orders.providers import OnlinePaymentProvider, ProviderEvent, RefundResult

log = logging.getLogger(__name__)

PROCESS_TASK = "payments.process_webhook"
PAYMENT_INTENT_EVENTS = (
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "payment_intent.processing",
    "payment_intent.canceled",
    "payment_intent.requires_action",
)
REFUND_EVENTS = ("refund.created", "refund.updated", "refund.failed", "charge.refund.updated")


async def store_event(session: AsyncSession, provider: str, event: ProviderEvent) -> bool:
    """Inbox the event; False when it was already there (a redelivery: answer 200, do nothing)."""
    inserted = await repository.inbox_webhook_event(
        session, provider=provider, event_id=event.event_id, event_type=event.event_type, payload=event.payload
    )
    if inserted is None:
        return False
    await outbox.enqueue(session, PROCESS_TASK, webhook_event_id=inserted)
    return True


def _object(payload: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("data") or {}
    obj = data.get("object") if isinstance(data, dict) else None
    return obj if isinstance(obj, dict) else {}


async def process_event(
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: OnlinePaymentProvider,
    *,
    outbox_id: int | None,
    webhook_event_id: int,
    sender: outbox.TaskSender | None = None,
) -> str:
    """Handle one inboxed event. The provider is asked for the intent's current state *before* the
    transaction opens, so no row lock is ever held across a network call."""
    async with sessionmaker() as session:
        event = await repository.webhook_event(session, webhook_event_id)
        if event is None or event.processed_at is not None:
            if outbox_id is not None:  # a second delivery: mark the message done so it is not re-sent
                await outbox.claim(session, outbox_id)
                await session.commit()
            return "already processed"
        event_type, obj = event.event_type, _object(event.payload)
    intent = None
    if event_type in PAYMENT_INTENT_EVENTS and obj.get("id"):
        intent = await provider.retrieve_intent(str(obj["id"]))

    async with outbox.unit_of_work(sessionmaker, sender) as session:
        if outbox_id is not None and not await outbox.claim(session, outbox_id):
            return "already processed"
        if not await repository.claim_webhook_event(session, webhook_event_id):
            return "already processed"
        outcome = await _apply(session, event_type, obj, intent)
        await repository.set_webhook_outcome(session, webhook_event_id, outcome)
        return outcome


async def _apply(session: AsyncSession, event_type: str, obj: dict[str, Any], intent: Any) -> str:
    if intent is not None:
        payment = await repository.payment_by_external_id(session, intent.external_id)
        if payment is None:
            payment = await _adopt(session, intent)
        if payment is None:
            # Not one of ours (another integration on the account) or created by a request whose
            # response was lost: the metadata names the order; otherwise there is nothing to do.
            return f"ignored: unknown payment intent {intent.external_id}"
        before = payment.state
        await payments.apply_intent(session, payment, intent)
        return f"payment {payment.id}: {before.value} → {payment.state.value}"
    if event_type in REFUND_EVENTS and obj.get("id"):
        refund = await repository.refund_by_external_id(session, str(obj["id"]))
        if refund is None:
            refund = await _refund_from_metadata(session, obj)
        if refund is None:
            return f"ignored: unknown refund {obj['id']}"
        await payments.record_refund_result(session, refund, RefundResult(str(obj["id"]), str(obj.get("status"))))
        return f"refund {refund.id}: {refund.state.value}"
    return f"ignored: {event_type}"


async def _refund_from_metadata(session: AsyncSession, obj: dict[str, Any]) -> Refund | None:
    """A refund webhook that beat the refund task's own write: our refund id is in the metadata.
    Taken only while that row has no Stripe id yet and its payment is the refund's PaymentIntent."""
    refund_id = str((obj.get("metadata") or {}).get("refund_id") or "")
    if not refund_id.isdigit():
        return None
    return await repository.unsent_refund_of_intent(session, int(refund_id), str(obj.get("payment_intent") or ""))


async def _adopt(session: AsyncSession, intent: Any) -> Any:
    """A PaymentIntent we created but never heard back about (the create timed out after Stripe
    accepted it): find its order from the metadata and attach it to that order's open attempt."""
    number = (intent.metadata or {}).get("order_number")
    order = await repository.order_by_number(session, str(number)) if number else None
    if order is None:
        return None
    return await repository.adopt_open_stripe_attempt(
        session, order.id, external_id=intent.external_id, amount_minor=intent.amount_minor
    )
