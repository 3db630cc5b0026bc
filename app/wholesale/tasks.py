"""Background work of the wholesale channel."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.kit import outbox
from app.wholesale import ordering, standing
from app.worker import CelerySender, celery_app, run_sweep, run_with_sessionmaker

log = logging.getLogger(__name__)


@celery_app.task(name="wholesale.release_lapsed_credit_holds", acks_late=True)
def release_lapsed_credit_holds() -> int:
    """Periodic: orders held over their credit limit and not approved within
    ``WHOLESALE_CREDIT_HOLD_HOURS`` expire, releasing their stock and truck room; orders that ended
    otherwise (a prepaid order expired unpaid, a cancelled one) give their truck room back. One
    order per transaction; idempotent, safe on several workers."""
    return run_sweep(ordering.sweep, log, "released %d lapsed wholesale credit holds / freed truck loads: %s")


@celery_app.task(name="wholesale.generate_standing_orders", acks_late=True)
def generate_standing_orders() -> int:
    """Periodic: place each active standing order's week whose trip closes within
    ``WHOLESALE_STANDING_LEAD_HOURS`` (or record it skipped / failed, and tell the buyer). One
    standing order per transaction; a week is recorded once (unique per trip date), so running
    twice or on two workers at once places one order."""
    done = run_with_sessionmaker(lambda sessionmaker: standing_generation(sessionmaker, CelerySender(celery_app)))
    if done:
        log.info("standing orders: %d weeks handled: %s", len(done), ", ".join(done[:20]))
    return len(done)


async def standing_generation(
    sessionmaker: async_sessionmaker[AsyncSession], sender: outbox.TaskSender | None = None
) -> list[str]:
    """One pass of the generator over every active standing order, each in its own transaction
    (one that fails is logged and tried again on the next beat); ``sender`` relays the SMS tasks
    each transaction enqueued (the outbox relay sends them anyway when it is None)."""
    async with outbox.unit_of_work(sessionmaker, sender) as session:
        ids = await standing.active_ids(session)
    done: list[str] = []
    for standing_id in ids:
        try:
            async with outbox.unit_of_work(sessionmaker, sender) as session:
                generated = await standing.generate_for(session, standing_id)
        except Exception:
            log.exception("standing order %s: generation failed; tried again on the next beat", standing_id)
            continue
        if generated is not None:
            done.append(f"#{standing_id} {generated.trip_date} {generated.status.value}")
    return done
