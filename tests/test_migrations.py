"""The models and the migrations agree: autogenerate against a migrated database finds nothing."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from app.migrate import include_object
from app.models import Base


def _diff(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": include_object})
    return list(compare_metadata(context, Base.metadata))


async def test_models_match_migrations(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_diff_detects_a_drift(engine: AsyncEngine) -> None:
    """The comparison itself can fail: a table the migrations never made is reported."""
    from sqlalchemy import Column, Integer, MetaData, Table

    extra = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(extra)
    Table("not_migrated", extra, Column("id", Integer, primary_key=True))

    def diff(connection: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), extra))

    async with engine.connect() as conn:
        found = await conn.run_sync(diff)
    assert [d[0] for d in found] == ["add_table"]


def test_downgrade_and_upgrade_again(tmp_path: Any) -> None:
    """The first revision can be undone and redone on a scratch database."""
    from alembic import command

    from app.migrate import alembic_config
    from tests.fixtures.database import create_database, drop_database

    url = create_database("np_mig")
    try:
        command.downgrade(alembic_config(url), "base")
        command.upgrade(alembic_config(url), "head")
    finally:
        drop_database(url)



async def _lots_before_growers(url: str) -> dict[str, int]:
    """Rows as a database had them before revision 0013 (written at head; 0013's parts are then
    dropped by the downgrade). Returns the ids the test looks at."""
    from datetime import date

    from app.accounts.models import Role
    from app.db import create_engine, create_sessionmaker
    from app.supply.models import Lot, LotOrigin, SupplierKind
    from tests.fixtures.builders import ensure_warehouse, make_product, make_supplier, make_user, make_variant

    engine = create_engine(url, null_pool=True)
    try:
        async with create_sessionmaker(engine)() as session:
            warehouse = await ensure_warehouse(session)
            keeper = await make_user(session, Role.warehouse)
            beekeeper = await make_supplier(session, code="SUP-M-HONEY")
            bamboo = await make_supplier(session, code="SUP-M-BSH")
            household = await make_supplier(session, code="HH-M-1", kind=SupplierKind.household)
            honey = await make_variant(
                session, sku="M-HONEY", product=await make_product(session, supplier_code="SUP-M-HONEY")
            )
            taro = await make_variant(session, sku="M-TARO", product=await make_product(session))  # no usual supplier
            ids: dict[str, int] = {"keeper": keeper.id}
            for code, variant, supplier, origin in (
                ("LT-M-1", honey, beekeeper, LotOrigin.receipt),
                ("LT-M-2", honey, bamboo, LotOrigin.receipt),
                ("LT-M-3", taro, household, LotOrigin.upstream),
                ("LT-M-4", taro, bamboo, LotOrigin.receipt),
            ):
                lot = Lot(
                    code=code,
                    variant_id=variant.id,
                    supplier_id=supplier.id,
                    harvest_date=date(2026, 11, 1),
                    best_before=date(2027, 11, 1),
                    quantity_received=10,
                    origin=origin,
                    received_location_id=warehouse.id,
                    received_by_id=keeper.id,
                )
                session.add(lot)
                await session.flush()
                ids[code] = lot.id
            await session.commit()
            return ids
    finally:
        await engine.dispose()


async def _after_growers(url: str) -> tuple[dict[int, tuple[str | None, int | None]], set[tuple[str, str]]]:
    from sqlalchemy import text

    from app.db import create_engine

    engine = create_engine(url, null_pool=True)
    try:
        async with engine.connect() as conn:
            lots = await conn.execute(text("SELECT id, grower_exception_reason, grower_exception_by_id FROM lots"))
            growers = await conn.execute(
                text(
                    "SELECT s.code, v.sku FROM supplier_products sp JOIN suppliers s ON s.id = sp.supplier_id "
                    "JOIN variants v ON v.product_id = sp.product_id"
                )
            )
            return {row[0]: (row[1], row[2]) for row in lots}, {(row[0], row[1]) for row in growers}
    finally:
        await engine.dispose()


def test_growers_are_backfilled_and_earlier_lots_from_others_become_exceptions() -> None:
    """Revision 0013 registers each product's usual supplier and each household that brought it
    to a station; a lot received earlier from anyone else is marked as an exception, so its trace
    page stops calling that supplier the producer (the honey from the bamboo-shoot co-operative)."""
    import asyncio

    from alembic import command

    from app.migrate import alembic_config
    from tests.fixtures.database import create_database, drop_database

    url = create_database("np_mig13")
    try:
        ids = asyncio.run(_lots_before_growers(url))
        command.downgrade(alembic_config(url), "0012")
        command.upgrade(alembic_config(url), "head")
        lots, growers = asyncio.run(_after_growers(url))
    finally:
        drop_database(url)

    legacy = ("升级前收货：供应商未登记为该商品的生产者", ids["keeper"])
    assert lots == {
        ids["LT-M-1"]: (None, None),  # honey from its usual supplier
        ids["LT-M-2"]: legacy,  # honey from the bamboo-shoot co-operative
        ids["LT-M-3"]: (None, None),  # taro a household brought to its station
        ids["LT-M-4"]: legacy,  # taro (no usual supplier) from the co-operative
    }
    assert growers == {("SUP-M-HONEY", "M-HONEY"), ("HH-M-1", "M-TARO")}
