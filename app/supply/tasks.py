"""Background work of the supply domain."""

from __future__ import annotations

import logging
from functools import partial

from app.supply import reservations
from app.worker import celery_app, run_sweep

log = logging.getLogger(__name__)


@celery_app.task(name="supply.release_expired_reservations", acks_late=True)
def release_expired_reservations() -> int:
    """Periodic: release reservations past their deadline (idempotent; safe on several workers)."""
    return run_sweep(partial(reservations.release_expired, limit=1), log, "released %d expired reservations: %s")
