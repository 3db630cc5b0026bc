"""Background work of the supply domain."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from app.supply import reservations
from app.worker import celery_app, run_each

log = logging.getLogger(__name__)


@celery_app.task(name="supply.release_expired_reservations", acks_late=True)
def release_expired_reservations() -> int:
    """Periodic: release reservations past their deadline (idempotent; safe on several workers)."""

    async def step(session: AsyncSession) -> list[str]:
        return await reservations.release_expired(session, limit=1)

    released = run_each(step)
    if released:
        log.info("released %d expired reservations: %s", len(released), ", ".join(released[:20]))
    return len(released)
