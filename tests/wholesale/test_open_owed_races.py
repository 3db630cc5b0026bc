"""Writers of one wholesale order's credit inputs take turns on the order's row (migration 0043),
so the figure its triggers keep (``open_owed_minor``, migration 0042) is what the rows say after
concurrent transactions too, on the committed database."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db import create_sessionmaker
from app.kit import clock
from app.wholesale import order_queries as queries
from tests.fixtures.receivables import order_of
from tests.fixtures.wholesale_orders import SUNDAY_NOON, buyer_of_own_city


@pytest.mark.parametrize("first", ["order", "credit"])
async def test_two_writers_of_one_orders_inputs_take_turns(committed_engine: AsyncEngine, first: str) -> None:
    """Two hand-written transactions at once on one order: one cancels it, the other gives its
    lapsed credit back. Each read the other's input as it was (the order still open; the credit
    still lapsed), and whichever committed last left the order's total counted against a cancelled
    order. The triggers now lock the order's row, so the second waits and reads the first's commit."""
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        async with sessionmaker() as session:
            ours, sku = await buyer_of_own_city(session)
            order = await order_of(session, ours.principal, ours.address.id, sku, 2)
            await session.execute(
                text("UPDATE wholesale_orders SET credit_state = 'lapsed' WHERE order_id = :id"), {"id": order.id}
            )
            await session.commit()
            order_id = order.id
    writes = {
        "order": ("UPDATE orders SET status = 'cancelled' WHERE id = :id", {"id": order_id}),
        "credit": ("UPDATE wholesale_orders SET credit_state = 'clear' WHERE order_id = :id", {"id": order_id}),
    }
    second = "credit" if first == "order" else "order"

    pid_of_second: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def write_second() -> None:
        async with sessionmaker() as session:
            pid_of_second.set_result(int(await session.scalar(text("SELECT pg_backend_pid()")) or 0))
            await session.execute(text(writes[second][0]), writes[second][1])
            await session.commit()

    async def waits_for_a_lock(session: AsyncSession, pid: int, writing: asyncio.Task[None]) -> bool:
        """Whether the second writer's backend is seen waiting on a lock before it finishes (10 s)."""
        for _ in range(200):
            if writing.done():
                return False
            waiting = await session.scalar(
                text("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
            )
            if waiting:
                return True
            await asyncio.sleep(0.05)
        return False

    async with sessionmaker() as session:
        await session.execute(text(writes[first][0]), writes[first][1])
        writing = asyncio.create_task(write_second())
        waited = await waits_for_a_lock(session, await pid_of_second, writing)
        await session.commit()
    await asyncio.wait_for(writing, timeout=10)

    async with sessionmaker() as session:
        assert (
            await session.scalar(
                text("SELECT open_owed_minor FROM wholesale_orders WHERE order_id = :id"), {"id": order_id}
            )
            == 0
        )
        assert [row for row in await queries.open_owed_disagreements(session) if row[0] == order_id] == []
    assert waited  # the second writer waited for the order's row
