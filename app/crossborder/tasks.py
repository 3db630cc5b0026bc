"""Background work of the Alibaba.com domain: the sync run and the order pull.

Both are plain periodic tasks (beat: every minute / every 10 minutes) that do nothing without an
app configured. ``alibaba.sync_due`` is also the console's "sync now" nudge, sent through the
outbox; the message is claimed so the relay does not look at it again, but a lost or duplicated
nudge is harmless: a run only handles listings that are due, under an advisory lock.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import get_settings
from app.crossborder.service import open_engine
from app.kit import outbox
from app.worker import celery_app, run_with_sessionmaker

log = logging.getLogger(__name__)


@celery_app.task(name="alibaba.sync_due", acks_late=True)
def sync_due(outbox_id: int | None = None) -> int:
    """Push every due listing to Alibaba.com; returns how many listings were handled."""
    settings = get_settings()

    async def main(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        if outbox_id is not None:
            async with sessionmaker() as session, session.begin():
                if not await outbox.claim(session, outbox_id):
                    return 0  # a second copy of a nudge that already ran
        if not settings.alibaba_configured:
            return 0
        async with open_engine(settings, sessionmaker) as engine:
            report = await engine.run()
        if report.halted:
            log.error("alibaba sync halted: %s", report.halted)
        elif report.listings:
            log.info("alibaba sync: %s", ", ".join(f"{r.model_number}={r.state.value}" for r in report.listings))
        return len(report.listings)

    return run_with_sessionmaker(main)


@celery_app.task(name="alibaba.pull_orders", acks_late=True)
def pull_orders() -> int:
    """Read the newest seller orders from Alibaba.com into the console's list."""
    settings = get_settings()

    async def main(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        if not settings.alibaba_configured:
            return 0
        async with open_engine(settings, sessionmaker) as engine:
            report = await engine.pull_orders()
        if report.skipped:
            log.info("alibaba order pull skipped: %s", report.skipped)
        return report.pulled

    return run_with_sessionmaker(main)
