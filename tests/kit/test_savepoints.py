"""A savepoint left to the transaction's end (``app.kit.repository.set_savepoint``): what was written
after it can be undone, it stays set for the next attempt, what the session had pending is written
before it (so not undone with it), and a name that is not a plain identifier never reaches the SQL."""

from __future__ import annotations

from typing import cast

import pytest
from sqlalchemy import Table, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import repository
from app.kit.models import OutboxMessage

_OUTBOX = cast(Table, OutboxMessage.__table__)


async def _tasks(session: AsyncSession) -> list[str]:
    names = await session.scalars(
        select(_OUTBOX.c.task_name).where(_OUTBOX.c.task_name.like("savepoint.%")).order_by(_OUTBOX.c.id)
    )
    return list(names)


async def test_writes_after_the_savepoint_are_undone_and_it_stays_set(db_session: AsyncSession) -> None:
    db_session.add(OutboxMessage(task_name="savepoint.pending", payload={}))  # not flushed yet

    await repository.set_savepoint(db_session, "attempts")
    await db_session.execute(insert(_OUTBOX).values(task_name="savepoint.first", payload={}))
    await repository.rollback_to_savepoint(db_session, "attempts")
    await db_session.execute(insert(_OUTBOX).values(task_name="savepoint.second", payload={}))
    await repository.rollback_to_savepoint(db_session, "attempts")  # still set after the first rollback
    await db_session.execute(insert(_OUTBOX).values(task_name="savepoint.kept", payload={}))

    assert await _tasks(db_session) == ["savepoint.pending", "savepoint.kept"]


@pytest.mark.parametrize("name", ["", "x; COMMIT", "Attempts", "a-b", "x" * 64])
async def test_a_name_that_is_not_a_plain_identifier_is_refused(db_session: AsyncSession, name: str) -> None:
    with pytest.raises(ValueError, match="not a savepoint name"):
        await repository.set_savepoint(db_session, name)
    with pytest.raises(ValueError, match="not a savepoint name"):
        await repository.rollback_to_savepoint(db_session, name)
