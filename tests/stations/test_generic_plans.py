"""A PDA's scan-in, handover and shelf list, and the shop orders before them, read the shelf's
partial indexes in PostgreSQL's generic plans too (the plans a busy connection's prepared statements
settle on): with the parcel status bound as a parameter they read every parcel the station ever held
(``app.kit.models.in_statement``; ``tests/fixtures/plans.py``)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.fixtures.plans import partial_index_misses, plan_counts
from tests.fixtures.shop import Shop
from tests.stations.test_parcels import Desk, desk, dispatched, hand, scanned_code

__all__ = ["desk"]  # the fixture, used by name


async def test_the_pda_paths_read_the_shelfs_partial_indexes_in_generic_plans(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, desk: Desk
) -> None:
    before = await plan_counts(db_session)
    boxes = await dispatched(client, desk, 6, shop)  # six shop orders: past PostgreSQL's five custom plans
    codes = [await scanned_code(client, desk, box, f"scan-{i}") for i, box in enumerate(boxes)]
    for _ in range(6):
        assert (await client.get("/api/v1/pda/shelf", headers=desk.headers)).status_code == 200
    for i, (box, code) in enumerate(zip(boxes, codes, strict=True)):
        done = await hand(
            client,
            desk.headers,
            f"hand-{i}",
            tracking_number=box["tracking_number"],
            pickup_code=code,
            collect_method="cash",
        )
        assert done.status_code == 200, done.text

    # A dispatch run's parcels are one truck's load: few, whatever their status.
    misses = await partial_index_misses(db_session, since=before, bounded=("parcels.run_id",))
    assert misses == [], "\n\n".join(map(str, misses))
