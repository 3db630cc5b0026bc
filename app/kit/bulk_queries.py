"""Many rows into one table with one round trip: ``INSERT … VALUES (…), (…), …`` (SQLAlchemy's
"insertmanyvalues", pages of up to 1,000 rows), as a Core statement on the session's connection.
Without ``RETURNING`` the asyncpg driver sends one execution per row instead (``executemany``),
which costs several times more for a till's batch of sales; so the primary key is returned (and
dropped) to get the multi-row form."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase


async def insert_rows(session: AsyncSession, model: type[DeclarativeBase], rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (each with the same keys) into ``model``'s table."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    await (await session.connection()).execute(insert(table).returning(*table.primary_key.columns), list(rows))
