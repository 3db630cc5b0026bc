"""The console's answers racing for real (two sessions on one PostgreSQL, committing at once): two
warehouse desks shipping one replenishment request — or one shipping while the other declines —
make one transfer or none, never two; two managers resolving one stock exception record one
resolution; two requests of one day get two numbers.

Rows stay in the committed database, so each test makes its own store, goods and people."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.access import Principal
from app.accounts.models import Role, User
from app.db import create_sessionmaker
from app.kit.errors import AppError
from app.kit.quantities import Unit
from app.pos import replenishment, stock_exceptions
from app.pos.models import Store, StoreManager
from app.pos.sale_models import ReplenishmentRequest, StockException, StockExceptionResolution
from app.supply.models import Transfer
from tests.fixtures.builders import make_user, make_variant, receive
from tests.fixtures.pos_console import Line, make_sale, store_with_location

Step = Callable[[AsyncSession], Awaitable[object]]


async def race(sessionmaker: async_sessionmaker[AsyncSession], *steps: Step) -> list[str]:
    """Each step in its own session, started together; each answers "won" or its error code."""
    start = asyncio.Event()

    async def one(step: Step) -> str:
        async with sessionmaker() as session:
            await start.wait()
            try:
                await step(session)
                await session.commit()
                return "won"
            except AppError as exc:
                await session.rollback()
                return exc.code

    tasks = [asyncio.create_task(one(step)) for step in steps]
    await asyncio.sleep(0.05)
    start.set()
    return list(await asyncio.gather(*tasks))


def as_session(user: User, scope: str) -> Principal:
    """The user signed in on a page (the principal a cookie session resolves to)."""
    return Principal(
        user_id=user.id, username=user.username, role=Role(user.role), scopes=frozenset({scope}), via="session"
    )


async def people(session: AsyncSession, store: Store) -> tuple[Principal, Principal, Principal]:
    """A manager of the store and two warehouse desks."""
    manager = await make_user(session, Role.store_manager)
    session.add(StoreManager(store_id=store.id, user_id=manager.id))
    desks = [await make_user(session, Role.warehouse) for _ in range(2)]
    await session.flush()
    return as_session(manager, "pos"), as_session(desks[0], "stock"), as_session(desks[1], "stock")


async def test_one_request_is_shipped_once_or_declined_never_both(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        store, _ = await store_with_location(session)
        variant = await make_variant(session, unit=Unit.box)
        await receive(session, variant, "100")
        manager, desk_a, desk_b = await people(session, store)
        body = replenishment.ReplenishmentIn(
            lines=[replenishment.ReplenishmentLineIn(sku=variant.sku, quantity=Decimal(4))]
        )
        numbers = [(await replenishment.request(session, manager, store, body)).request.number for _ in range(2)]
        await session.commit()

    shipped, declined = numbers
    two_ships = await race(
        sessionmaker,
        lambda s: replenishment.ship(s, desk_a, shipped),
        lambda s: replenishment.ship(s, desk_b, shipped),
    )
    assert sorted(two_ships) == ["replenishment_decided", "won"]
    ship_or_decline = await race(
        sessionmaker,
        lambda s: replenishment.ship(s, desk_a, declined),
        lambda s: replenishment.decline(s, desk_b, declined, "仓库盘点中"),
    )
    assert sorted(ship_or_decline) == ["replenishment_decided", "won"]

    async with sessionmaker() as session:
        for number in numbers:
            made = await session.scalar(select(Transfer.id).where(Transfer.note == f"补货申请 {number}").limit(2))
            transfers = await session.scalar(select(func.count()).where(Transfer.note == f"补货申请 {number}"))
            row = await session.scalar(select(ReplenishmentRequest).where(ReplenishmentRequest.number == number))
            assert row is not None
            if row.status == "shipped":
                assert transfers == 1 and row.transfer_id == made
            else:
                assert row.status == "declined" and transfers == 0


async def test_one_exception_is_resolved_once(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        store, location = await store_with_location(session)
        variant = await make_variant(session)
        made = await make_sale(session, store, location, [Line(variant, "2", 1000, short="2")])
        managers = []
        for _ in range(2):
            user = await make_user(session, Role.store_manager)
            session.add(StoreManager(store_id=store.id, user_id=user.id))
            managers.append(as_session(user, "pos"))
        await session.commit()
        exception_id = made.exceptions[0].id

    answers = await race(
        sessionmaker,
        *(
            lambda s, m=m, n=n: stock_exceptions.resolve(
                s, m, exception_id, stock_exceptions.Resolution(StockExceptionResolution.written_off, note=f"核销 {n}")
            )
            for n, m in enumerate(managers)
        ),
    )
    assert sorted(answers) == ["stock_exception_resolved", "won"]
    async with sessionmaker() as session:
        row = await session.get(StockException, exception_id)
        assert row is not None and row.status == "resolved"
        winner = managers[answers.index("won")]
        assert row.resolved_by_id == winner.user_id and row.note == f"核销 {answers.index('won')}"


async def test_requests_of_one_day_never_share_a_number(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        store, _ = await store_with_location(session)
        variant = await make_variant(session)
        manager, _, _ = await people(session, store)
        await session.commit()
    body = replenishment.ReplenishmentIn(
        lines=[replenishment.ReplenishmentLineIn(sku=variant.sku, quantity=Decimal(1))]
    )
    answers = await race(sessionmaker, *(lambda s: replenishment.request(s, manager, store, body) for _ in range(4)))
    assert answers == ["won"] * 4
    async with sessionmaker() as session:
        numbers = (
            await session.scalars(select(ReplenishmentRequest.number).where(ReplenishmentRequest.store_id == store.id))
        ).all()
    assert len(set(numbers)) == 4 and all(n.startswith("BH-") for n in numbers)
