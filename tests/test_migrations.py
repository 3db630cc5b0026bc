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
