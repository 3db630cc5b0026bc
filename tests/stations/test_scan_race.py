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
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.config import AppEnv, Settings
from app.db import create_sessionmaker
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.notifications.models import NotificationMessage
from app.orders.models import Order, OrderStatus
from app.stations import parcels
from app.stations.models import Parcel, ParcelStatus
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


async def test_concurrent_scan_ins_keep_capacity_and_unique_secrets(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Secrets drawn from a handful of values, so that scans in flight do draw the same one.
    monkeypatch.setattr(parcels, "new_pickup_secret", lambda held: random.choice(FEW_SECRETS))
    sessionmaker = create_sessionmaker(committed_engine)
    tag = uuid.uuid4().hex[:6].upper()
    async with sessionmaker() as session:
        box = await sellable_box(
            session, sku=f"SCAN-{tag}", slug=f"scan-{tag.lower()}", stock="20", name_zh=f"枇杷{tag}"
        )
        station = await make_station(session, code=f"ST-S{tag}", shelf_capacity=100, shelves=1, layers_per_shelf=2)
        route = await make_route(session, station)
        operator = await make_user(session, Role.station_operator, station_id=station.id)
        headers = auth(await token_for(session, operator))
        numbers = [(await pickup_order(session, box, station)).number for _ in range(PARCELS)]
        run = await parcels.plan_run(session, route_code=route.code, run_date=date.today(), actor_user_id=None)
        await parcels.dispatch_run(session, run.number, actor_user_id=None)
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
