"""Background work of the stations domain."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from app.stations import parcels
from app.worker import celery_app, run_each

log = logging.getLogger(__name__)


@celery_app.task(name="stations.return_overdue_parcels", acks_late=True)
def return_overdue_parcels() -> int:
    """Periodic: parcels past their station's retention days go back; their orders are cancelled."""

    async def step(session: AsyncSession) -> list[str]:
        return await parcels.return_overdue(session, limit=1)

    returned = run_each(step)
    if returned:
        log.info("returning %d overdue parcels: %s", len(returned), ", ".join(returned[:20]))
    return len(returned)
