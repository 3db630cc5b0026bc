"""Background work of orders and payments: webhook processing, refunds, expiry of unpaid orders.

The payment tasks call Stripe *before* opening their transaction (reading what they need in a short
read-only session first), so no row lock is ever held across a network call; the outbox claim in
the transaction that applies the result keeps them exactly-once under retries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import get_settings
from app.db import create_engine, create_sessionmaker, resolve_database_url
from app.kit import outbox
from app.orders import expiry, payments, webhooks
from app.orders.models import Payment, Refund, RefundState
from app.orders.providers import OnlinePaymentProvider, ProviderUnavailable, provider_from_settings
from app.worker import CelerySender, celery_app, run_each

log = logging.getLogger(__name__)


async def execute_refund(
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: OnlinePaymentProvider,
    *,
    outbox_id: int | None,
    refund_id: int,
    sender: outbox.TaskSender | None = None,
) -> str:
    """Send one refund to Stripe (idempotency key ``refund:{id}``) and record the answer."""
    async with sessionmaker() as session:
        refund = await session.get(Refund, refund_id)
        if refund is None or refund.state is not RefundState.pending:
            if outbox_id is not None:  # settled meanwhile (webhook): the message is done with
                await outbox.claim(session, outbox_id)
                await session.commit()
            return "nothing to do"
        payment = await session.get(Payment, refund.payment_id)
        assert payment is not None and payment.external_id is not None
        external_id, amount = payment.external_id, refund.amount_minor
    result = await provider.refund(
        external_id=external_id, amount_minor=amount, idempotency_key=f"refund:{refund_id}", refund_id=refund_id
    )
    async with outbox.unit_of_work(sessionmaker, sender) as session:
        if outbox_id is not None and not await outbox.claim(session, outbox_id):
            return "already processed"
        refund = await session.get(Refund, refund_id)
        assert refund is not None
        await payments.record_refund_result(session, refund, result)
        return f"refund {refund_id}: {result.status}"


def _run_with_provider(work: Any) -> Any:
    async def main() -> Any:
        settings = get_settings()
        provider = provider_from_settings(settings)
        if provider is None:
            raise RuntimeError("Stripe is not configured (STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET)")
        engine = create_engine(resolve_database_url(settings), null_pool=True)
        try:
            return await work(create_sessionmaker(engine), provider)
        finally:
            await provider.close()
            await engine.dispose()

    return asyncio.run(main())


@celery_app.task(name=webhooks.PROCESS_TASK, bind=True, acks_late=True, max_retries=10, default_retry_delay=10)
def process_webhook(self: Any, outbox_id: int, webhook_event_id: int) -> str:
    try:
        return str(
            _run_with_provider(
                lambda sm, provider: webhooks.process_event(
                    sm,
                    provider,
                    outbox_id=outbox_id,
                    webhook_event_id=webhook_event_id,
                    sender=CelerySender(celery_app),
                )
            )
        )
    except ProviderUnavailable as exc:
        raise self.retry(exc=exc) from exc


@celery_app.task(name=payments.EXECUTE_REFUND_TASK, bind=True, acks_late=True, max_retries=10, default_retry_delay=30)
def execute_refund_task(self: Any, outbox_id: int, refund_id: int) -> str:
    try:
        return str(
            _run_with_provider(
                lambda sm, provider: execute_refund(
                    sm, provider, outbox_id=outbox_id, refund_id=refund_id, sender=CelerySender(celery_app)
                )
            )
        )
    except ProviderUnavailable as exc:
        raise self.retry(exc=exc) from exc


@celery_app.task(name="orders.expire_unpaid", acks_late=True)
def expire_unpaid() -> int:
    """Periodic: remind customers whose unpaid order is about to lapse, then expire unpaid online
    orders past their deadline — one order per transaction (idempotent)."""

    async def remind(session: AsyncSession) -> list[str]:
        return await expiry.remind_expiring(session, limit=1)

    async def expire(session: AsyncSession) -> list[str]:
        return await expiry.expire_unpaid(session, limit=1)

    run_each(remind)
    expired = run_each(expire)
    if expired:
        log.info("expired %d unpaid orders: %s", len(expired), ", ".join(expired[:20]))
    return len(expired)
