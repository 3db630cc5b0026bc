"""Background work of the wholesale channel."""

from __future__ import annotations

import logging

from app.wholesale import ordering
from app.worker import celery_app, run_sweep

log = logging.getLogger(__name__)


@celery_app.task(name="wholesale.release_lapsed_credit_holds", acks_late=True)
def release_lapsed_credit_holds() -> int:
    """Periodic: orders held over their credit limit and not approved within
    ``WHOLESALE_CREDIT_HOLD_HOURS`` expire, releasing their stock and truck room; orders that ended
    otherwise (a prepaid order expired unpaid, a cancelled one) give their truck room back. One
    order per transaction; idempotent, safe on several workers."""
    return run_sweep(ordering.sweep, log, "released %d lapsed wholesale credit holds / freed truck loads: %s")
