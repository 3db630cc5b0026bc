"""Pre-sale waves under real concurrency: many HTTP requests at once against the app served by
uvicorn on the committed PostgreSQL. The wave's cap is never exceeded, the per-phone pay-at-pickup
allowance holds, and a cancellation clicked twice at once cancels every order exactly once.

Rows stay in the committed database, so each test has its own wave, product and stations."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.notifications.models import NotificationMessage
from app.orders.models import Capacity, Order, OrderEvent, OrderStatus
from app.presales.models import PhoneAllowance, WaveOrder
from tests.fixtures.builders import auth, make_user, token_for
from tests.fixtures.http_server import serve_in_thread
from tests.presales.helpers import Setup, make_wave, phone


@contextmanager
def served(tmp_path: Path, url: str) -> Iterator[str]:
    """The app over real HTTP, with its own engine on the server thread's loop."""
    engine = create_engine(url, pool_size=20)
    settings = Settings(app_env=AppEnv.test, app_data_dir=tmp_path / "data", database_url=url)
    app = create_app(settings, engine=engine, task_sender=RecordingSender())
    with serve_in_thread(app, name="presale app") as base:
        yield base


def body(setup: Setup, i: int, *, quantity: str = "1", contact_phone: str | None = None) -> dict[str, object]:
    return {
        "quantity": quantity,
        "station_code": setup.stations[i % len(setup.stations)].code,
        "contact": {"name": f"顾客{i}", "phone": contact_phone or phone(i)},
        "payment_method": "pay_at_pickup",
    }


async def test_two_hundred_concurrent_orders_against_a_cap_of_fifty_take_exactly_fifty(
    tmp_path: Path, committed_database_url: str, committed_engine: AsyncEngine
) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        setup = await make_wave(session, cap=50, pay_at_pickup=True, per_phone=1)
        admin = await make_user(session, Role.admin)
        token = await token_for(session, admin)
        await session.commit()

    with served(tmp_path, committed_database_url) as base:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"/api/v1/presales/{setup.wave.code}/orders",
                        json=body(setup, i),
                        headers={"Idempotency-Key": f"ps-{setup.wave.code}-{i}"},
                    )
                    for i in range(200)
                )
            )
            codes = Counter(a.status_code for a in answers)
            assert codes == Counter({201: 50, 409: 150}), codes
            assert {a.json()["error"] for a in answers if a.status_code == 409} == {"capacity_exhausted"}
            shown = (await client.get(f"/api/v1/presales/{setup.wave.code}")).json()
            assert (shown["cap"], shown["left"]) == ("50.000", "0.000")

            # The centre cancels the wave (failed harvest), the button clicked twice at once.
            cancels = await asyncio.gather(
                *(
                    client.post(
                        f"/api/v1/admin/presales/{setup.wave.code}/cancel",
                        json={"reason": "连续降雨，枇杷减产"},
                        headers=auth(token),
                    )
                    for _ in range(2)
                )
            )
            assert sorted(c.status_code for c in cancels) == [200, 409]
            [won] = [c.json() for c in cancels if c.status_code == 200]
            assert won["orders_cancelled"] == 50
            late = await client.post(
                f"/api/v1/presales/{setup.wave.code}/orders", json=body(setup, 999), headers={"Idempotency-Key": "x"}
            )
            assert (late.status_code, late.json()["error"]) == (409, "presale_wave_not_open")

    async with sessionmaker() as session:
        placed = [a.json()["number"] for a in answers if a.status_code == 201]
        orders = list(await session.scalars(select(Order).where(Order.number.in_(placed))))
        assert len(orders) == 50 and all(o.status is OrderStatus.cancelled for o in orders)
        assert (
            await session.scalar(select(func.count()).select_from(WaveOrder).where(WaveOrder.wave_id == setup.wave.id))
            == 50
        )
        capacity = await session.get(Capacity, setup.wave.capacity_id)
        assert capacity is not None and capacity.used == Decimal(0)
        # Each order cancelled once, each customer told once.
        cancelled_events = await session.scalar(
            select(func.count())
            .select_from(OrderEvent)
            .where(OrderEvent.order_id.in_([o.id for o in orders]), OrderEvent.kind == "cancelled")
        )
        assert cancelled_events == 50
        told = await session.scalar(
            select(func.count())
            .select_from(NotificationMessage)
            .where(NotificationMessage.reference.in_(placed), NotificationMessage.template == "order_cancelled")
        )
        assert told == 50


async def test_the_pay_at_pickup_limit_per_phone_holds_under_concurrency(
    tmp_path: Path, committed_database_url: str, committed_engine: AsyncEngine
) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        setup = await make_wave(session, cap=100, pay_at_pickup=True, per_phone=3)
        await session.commit()
    same = phone(4242)
    with served(tmp_path, committed_database_url) as base:
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"/api/v1/presales/{setup.wave.code}/orders",
                        json=body(setup, i, contact_phone=same),
                        headers={"Idempotency-Key": f"pl-{setup.wave.code}-{i}"},
                    )
                    for i in range(20)
                )
            )
    codes = Counter(a.status_code for a in answers)
    assert codes == Counter({201: 3, 409: 17}), codes
    assert {a.json()["error"] for a in answers if a.status_code == 409} == {"presale_phone_limit"}
    async with sessionmaker() as session:
        boxes = await session.scalar(
            select(PhoneAllowance.boxes).where(PhoneAllowance.wave_id == setup.wave.id, PhoneAllowance.phone == same)
        )
        assert boxes == 3
        capacity = await session.get(Capacity, setup.wave.capacity_id)
        assert capacity is not None and capacity.used == Decimal(3)
