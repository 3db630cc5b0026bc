"""Background work of the county centre: keeping the dashboard's daily summary tables fresh."""

from __future__ import annotations

import logging

from app.county.performance import refresh_figures
from app.worker import celery_app, run_async

log = logging.getLogger(__name__)


@celery_app.task(name="county.refresh_figures", acks_late=True)
def refresh_daily_figures() -> int:
    """Periodic (every minute): recompute the summary rows of the China-time days touched since
    the last run. Idempotent and safe to retry: a day is recomputed from the raw rows, never added to."""
    days = int(run_async(lambda session: refresh_figures(session)))
    if days:
        log.info("county figures: %d day(s) recomputed", days)
    return days
