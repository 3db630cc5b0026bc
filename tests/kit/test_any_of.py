"""``any_of``: a statement built once that takes a list sends the same SQL whatever the list's
length (``= ANY($1)``, one array parameter), so asyncpg prepares it once per connection, and
SQLAlchemy does not render it again on each execution as it does an expanding ``IN``."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.catalog import repository as catalog_repository
from app.supply import repository as supply_repository
from app.wholesale import order_queries
from tests.fixtures.builders import ensure_warehouse
from tests.fixtures.wholesale_orders import supply_sku
from tests.stations.test_handover_statements import statements


async def test_a_basket_of_any_size_is_read_by_the_same_statements(
    db_session: AsyncSession, engine: AsyncEngine
) -> None:
    variants = [await supply_sku(db_session) for _ in range(3)]
    warehouse = await ensure_warehouse(db_session)
    sent_by_size: list[list[str]] = []
    for size in (1, 3):
        chosen = variants[:size]
        skus = [v.sku for v in chosen]
        with statements(engine) as sent:
            shop = await catalog_repository.active_variants_by_sku(db_session, skus)
            wholesale = await order_queries.variants_by_sku(db_session, skus)
            prices = await catalog_repository.price_items_for(
                db_session, [v.id for v in chosen], list_codes=["wholesale"], company_id=1
            )
            available = await supply_repository.available_by_variant(
                db_session,
                variant_ids=[v.id for v in chosen],
                location_ids=[warehouse.id],
                today=chosen[0].created_at.date(),
                min_remaining_fraction=Decimal("0.6"),
            )
        assert set(shop) == set(wholesale) == set(skus)
        assert set(prices) == set(available) == {v.id for v in chosen}
        assert all(available[v.id] == Decimal(400) for v in chosen)
        sent_by_size.append(sent)
    one, three = sent_by_size
    assert len(one) == 4 and one == three, "\n\n".join(one + three)
    assert all("= ANY (" in statement and " IN (" not in statement for statement in one), "\n\n".join(one)
