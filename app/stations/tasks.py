"""Background work of the stations domain."""

from __future__ import annotations

import logging
from functools import partial

from app.stations import parcels
from app.worker import celery_app, run_sweep

log = logging.getLogger(__name__)


@celery_app.task(name="stations.return_overdue_parcels", acks_late=True)
def return_overdue_parcels() -> int:
    """Periodic: parcels past their station's retention days go back; their orders are cancelled."""
    return run_sweep(partial(parcels.return_overdue, limit=1), log, "returning %d overdue parcels: %s")
