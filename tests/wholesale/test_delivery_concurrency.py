"""Two people record the same stop at once, for real (two sessions on one PostgreSQL, each
committing): the trip and order rows are locked first, so one proof of delivery and one invoice are
made and the other is refused with 409 ``already_delivered``.

Rows stay in the committed database, so the test has its own city, route and company."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import create_sessionmaker
from app.kit import clock
from app.kit.errors import AppError
from app.wholesale import delivery, invoice_queries
from app.wholesale.delivery import DeliveryReport
from tests.fixtures.deliveries import dispatched_order
from tests.fixtures.trips import make_prd_route, unique_city
from tests.fixtures.wholesale_orders import SUNDAY_NOON, buyer, supply_sku


async def test_a_double_submitted_delivery_issues_one_invoice(committed_engine: AsyncEngine, tmp_path: Path) -> None:
    city = unique_city()
    sessionmaker = create_sessionmaker(committed_engine)
    with clock.pinned(SUNDAY_NOON):
        async with sessionmaker() as session:
            await make_prd_route(session, cities=(city,), weekdays=(2, 4, 6))
            sku = await supply_sku(session, wholesale_minor=1000)
            ours = await buyer(session, city=city)
            order = await dispatched_order(session, ours, [(sku, 1)])
            number = order.number
            await session.commit()
        start = asyncio.Event()

        async def record(receiver: str) -> str:
            async with sessionmaker() as session:
                await start.wait()
                try:
                    done = await delivery.record_delivery(
                        session,
                        number,
                        DeliveryReport(receiver),
                        uploads_dir=tmp_path,
                        max_bytes=1_000_000,
                        actor_user_id=None,
                    )
                except AppError as exc:
                    await session.rollback()
                    return exc.code
                await session.commit()
                return done.invoice.number

        tasks = [asyncio.create_task(record(name)) for name in ("黄先生", "李小姐")]
        await asyncio.sleep(0.05)
        start.set()
        results = await asyncio.gather(*tasks)

    assert sorted(results, key=lambda r: r.startswith("JS-"))[0] == "already_delivered"
    assert sum(r.startswith("JS-") for r in results) == 1
    async with sessionmaker() as session:
        docs = await invoice_queries.documents(session, company_id=ours.company.id)
        assert [d.number for d, *_ in docs] == [r for r in results if r.startswith("JS-")]
