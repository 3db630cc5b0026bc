"""Random document numbers (lots, transfers, count sheets, parcels) that never fail on a clash.

Numbers are random within the day so they cannot be guessed from one another; the unique
constraint catches the rare repeat, and :func:`add_with_unique_number` then draws again inside a
savepoint instead of turning a receipt or a dispatch into a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit.errors import Conflict

ATTEMPTS = 5


class NumberClash(Conflict):
    code = "number_clash"
    message = "单号生成冲突，请重试"


def _clash_on(exc: IntegrityError, field: str) -> bool:
    """A unique violation that names ``field`` (constraint ``…_{field}…`` or ``Key ({field})=``)."""
    text = str(exc.orig)
    return "unique" in text.lower() and (f"({field})" in text or f"_{field}" in text)


async def add_with_unique_number(
    session: AsyncSession, row: Any, *, field: str, draw: Callable[[], str], attempts: int = ATTEMPTS
) -> None:
    """Insert ``row``; when its ``field`` clashes with an existing number, draw another and retry.
    Whatever else is pending is flushed first, outside the savepoint, so a retry never drops it."""
    await session.flush()
    for _ in range(attempts):
        try:
            async with session.begin_nested():
                session.add(row)
                await session.flush()
            return
        except IntegrityError as exc:
            if not _clash_on(exc, field):
                raise
            setattr(row, field, draw())
    raise NumberClash()
