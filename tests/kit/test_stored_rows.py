"""Rows written by a Core statement stay in step with the session, as the ORM's own execution of the
same statement would keep them: a loaded instance takes the stored values with nothing pending, and
an inserted row joins the session as stored."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import stored_rows
from app.kit.models import OutboxMessage

_OUTBOX = cast(Table, OutboxMessage.__table__)


async def test_a_loaded_instance_takes_the_values_with_nothing_pending(db_session: AsyncSession) -> None:
    message = OutboxMessage(task_name="demo.task", payload={"n": 1})
    db_session.add(message)
    await db_session.flush()
    await db_session.execute(update(_OUTBOX).where(_OUTBOX.c.id == message.id).values(send_attempts=3))

    refreshed = stored_rows.refresh_loaded(db_session, OutboxMessage, message.id, {"send_attempts": 3})

    assert refreshed is message and message.send_attempts == 3
    assert message not in db_session.dirty  # stored, not a change the next flush would write again
    assert stored_rows.refresh_loaded(db_session, OutboxMessage, message.id + 1000, {"send_attempts": 1}) is None


async def test_an_inserted_row_joins_the_session_as_stored(db_session: AsyncSession) -> None:
    row = (
        await db_session.execute(insert(_OUTBOX).values(task_name="demo.task", payload={"n": 2}).returning(*_OUTBOX.c))
    ).one()
    values = {column.key: value for column, value in zip(_OUTBOX.c, row, strict=True)}

    message = stored_rows.as_stored(db_session, OutboxMessage, values, values["id"])

    assert message in db_session and message not in db_session.new and message not in db_session.dirty
    # The session's identity map answers for the row: reading it again gives the same object.
    assert await db_session.scalar(select(OutboxMessage).where(OutboxMessage.id == message.id)) is message
    # A second call for the same row brings the loaded one up to date rather than adding another.
    assert stored_rows.as_stored(db_session, OutboxMessage, {**values, "send_attempts": 2}, values["id"]) is message
    assert message.send_attempts == 2
