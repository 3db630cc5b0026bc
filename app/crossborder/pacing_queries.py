"""SQL of the shared pacing schedule (``pacing.DatabaseSchedule``)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.crossborder.models import GatewayPacing


async def reserve_start(session: AsyncSession, name: str, interval_seconds: float) -> float:
    """Take the next start of ``name``'s calls and move it one interval on, in one statement: the
    seconds to wait until the start taken (0 when it is already due)."""
    now = func.statement_timestamp()
    step = timedelta(seconds=interval_seconds)
    stmt = (
        insert(GatewayPacing)
        .values(name=name, next_start=now + step)
        .on_conflict_do_update(
            index_elements=[GatewayPacing.name],
            set_={"next_start": func.greatest(GatewayPacing.next_start, now) + step},
        )
        .returning(func.extract("epoch", GatewayPacing.next_start - now))
    )
    ahead = float(await session.scalar(stmt) or 0)
    return max(0.0, ahead - interval_seconds)


async def hold_back(session: AsyncSession, name: str, seconds: float) -> None:
    """No start of ``name``'s calls before ``seconds`` from now (the gateway banned us)."""
    until = func.statement_timestamp() + timedelta(seconds=seconds)
    await session.execute(
        insert(GatewayPacing)
        .values(name=name, next_start=until)
        .on_conflict_do_update(
            index_elements=[GatewayPacing.name], set_={"next_start": func.greatest(GatewayPacing.next_start, until)}
        )
    )
