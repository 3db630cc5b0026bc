"""A till's uploads of sales, and the console's open items, read the partial indexes in
PostgreSQL's generic plans too (``tests/fixtures/plans.py``): one open shift per till, open stock
exceptions."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.pos import console_queries, exception_queries
from app.pos.sale_models import StockExceptionStatus
from tests.fixtures.plans import partial_index_misses, plan_counts
from tests.fixtures.pos_sales import T0, line, make_shop, sale, shift_open, sign_in, upload


async def test_uploads_read_the_partial_indexes_in_generic_plans(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    before = await plan_counts(db_session)
    with clock.pinned(T0):
        shop = await make_shop(db_session, box_stock="100", jin_stock="100")
        clerk = await sign_in(client, shop)
        opened = shift_open()
        assert [r["outcome"] for r in await upload(client, clerk, opened)] == ["recorded"]
        for _ in range(7):  # past PostgreSQL's five custom plans
            ops = [sale(shop, opened["client_id"], [line(shop.box, "1", 1280)]) for _ in range(2)]
            await upload(client, clerk, *ops)
            await upload(client, clerk, sale(shop, opened["client_id"], [line(shop.jin, "0.5", 1680)]))
    misses = await partial_index_misses(db_session, since=before)
    assert misses == [], "\n\n".join(map(str, misses))


async def test_the_consoles_open_items_read_the_partial_indexes_in_generic_plans(db_session: AsyncSession) -> None:
    """The console's open stock exceptions (list and counts) and open shifts per store: with the
    status bound, the generic plan read everything the stores ever had."""
    before = await plan_counts(db_session)
    for store_ids in [None, [1, 2]] * 4:  # past PostgreSQL's five custom plans, with and without stores
        await exception_queries.list_exceptions(db_session, store_ids=store_ids, status=StockExceptionStatus.open)
        await exception_queries.open_counts_by_store(db_session, store_ids)
        await console_queries.open_shifts_by_store(db_session, store_ids)
    misses = await partial_index_misses(db_session, since=before)
    assert misses == [], "\n\n".join(map(str, misses))
