"""Scan-ins at one station at the same moment, on committed PostgreSQL: the shelf never holds more
than its capacity, no two held parcels share a secret, each parcel is shelved and announced once."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import Role
from app.config import AppEnv, Settings
from app.db import create_sessionmaker
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.notifications.models import NotificationMessage
from app.orders.models import Order, OrderStatus
from app.stations import parcel_queries, parcels
from app.stations.models import Parcel, ParcelStatus, Station
from tests.fixtures.builders import (
    auth,
    make_route,
    make_station,
    make_user,
    pickup_order,
    sellable_box,
    token_for,
)

PARCELS = 8
CAPACITY = 5
FEW_SECRETS = [f"{n:06d}" for n in range(1, CAPACITY + 2)]  # one more than the shelf holds


async def _parcels_on_the_way(
    session: AsyncSession, count: int, *, shelf_capacity: int, layers_per_shelf: int
) -> tuple[Station, list[str]]:
    """A new station with ``count`` pay-at-pickup orders whose parcels are dispatched to it, and the
    orders' numbers."""
    tag = uuid.uuid4().hex[:6].upper()
    box = await sellable_box(session, sku=f"SCAN-{tag}", slug=f"scan-{tag.lower()}", stock="20", name_zh=f"枇杷{tag}")
    station = await make_station(
        session, code=f"ST-S{tag}", shelf_capacity=shelf_capacity, shelves=1, layers_per_shelf=layers_per_shelf
    )
    route = await make_route(session, station)
    numbers = [(await pickup_order(session, box, station)).number for _ in range(count)]
    run = await parcels.plan_run(session, route_code=route.code, run_date=date.today(), actor_user_id=None)
    await parcels.dispatch_run(session, run.number, actor_user_id=None)
    return station, numbers


async def test_concurrent_scan_ins_keep_capacity_and_unique_secrets(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Secrets drawn from a handful of values, so that scans in flight do draw the same one.
    monkeypatch.setattr(parcels, "new_pickup_secret", lambda held: random.choice(FEW_SECRETS))
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        station, numbers = await _parcels_on_the_way(session, PARCELS, shelf_capacity=100, layers_per_shelf=2)
        operator = await make_user(session, Role.station_operator, station_id=station.id)
        headers = auth(await token_for(session, operator))
        trackings = list(
            (await session.scalars(select(Parcel.tracking_number).where(Parcel.station_id == station.id))).all()
        )
        station.shelf_capacity = CAPACITY  # room for every order, then a shelf too small for all
        await session.commit()
    assert len(trackings) == PARCELS
    settings = Settings(app_env=AppEnv.test, app_data_dir=tmp_path, database_url=committed_database_url)
    app = create_app(settings, engine=committed_engine, sessionmaker=sessionmaker, task_sender=RecordingSender())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:

        async def scan(tracking: str) -> httpx.Response:
            return await client.post(
                "/api/v1/pda/scan-in",
                headers={**headers, "Idempotency-Key": f"race-{tracking}"},
                json={"tracking_number": tracking},
            )

        answers = await asyncio.gather(*(scan(t) for t in trackings))
        # Retries replay the first answers and change nothing.
        again = await asyncio.gather(*(scan(t) for t in trackings))
    outcomes = Counter(a.status_code for a in answers)
    assert outcomes == {200: CAPACITY, 409: PARCELS - CAPACITY}, [a.text for a in answers]
    assert all(a.json()["error"] == "shelf_full" for a in answers if a.status_code == 409)
    assert [a.status_code for a in again] == [a.status_code for a in answers]
    async with sessionmaker() as session:
        held = (
            await session.execute(
                select(Parcel.tracking_number, Parcel.pickup_code, Parcel.shelf_slot).where(
                    Parcel.station_id == station.id, Parcel.status == ParcelStatus.at_station
                )
            )
        ).all()
        shelved = {a.json()["tracking_number"] for a in answers if a.status_code == 200}
        assert {t for t, _, _ in held} == shelved
        assert len({code for _, code, _ in held}) == CAPACITY  # every secret held once
        assert {slot for _, _, slot in held} <= {"1-1", "1-2"}
        left = await session.scalar(
            select(func.count()).where(Parcel.station_id == station.id, Parcel.status == ParcelStatus.dispatched)
        )
        assert left == PARCELS - CAPACITY
        ready = await session.scalar(
            select(func.count()).where(Order.number.in_(numbers), Order.status == OrderStatus.ready_for_pickup)
        )
        notices = await session.scalar(
            select(func.count()).where(
                NotificationMessage.reference.in_(numbers), NotificationMessage.template == "order_ready_for_pickup"
            )
        )
        assert ready == notices == CAPACITY


async def test_the_station_turn_counts_the_scan_it_waited_for(committed_engine: AsyncEngine) -> None:
    """The turn (``lock_station_and_count_shelf``) locks the station's row and counts its shelf in one
    statement. A scan that waited for the lock counts the parcel the scan holding it shelved and
    committed meanwhile: with the count as a subquery of that statement (read as of before the wait)
    it would not, and the shelf would take one parcel more than its capacity."""
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        station, _ = await _parcels_on_the_way(session, 1, shelf_capacity=10, layers_per_shelf=1)
        await session.commit()
        station_id = station.id

    async with sessionmaker() as first, sessionmaker() as second:
        # The first scan's turn: the station locked, its parcel put on the shelf, not yet committed.
        assert await parcel_queries.lock_station_and_count_shelf(first, station_id) == (10, 0)
        await first.execute(
            update(Parcel).where(Parcel.station_id == station_id).values(status=ParcelStatus.at_station)
        )
        waiting = asyncio.create_task(parcel_queries.lock_station_and_count_shelf(second, station_id))
        for _ in range(100):  # until the second scan's statement waits for the station's row
            await asyncio.sleep(0.05)
            async with committed_engine.connect() as probe:
                blocked = await probe.scalar(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE :q"),
                    {"q": "%locked_station%"},
                )
            if blocked:
                break
        assert blocked and not waiting.done()
        await first.commit()
        assert await waiting == (10, 1)
        await second.rollback()
