"""Tickets over HTTP. Capacity under concurrency: many real concurrent HTTP orders (uvicorn on a
socket, committed PostgreSQL) for one slot — exactly as many succeed as there are places. Then the
PDA routes: a QR checked in twice is refused the second time (409), an offline batch from a second
device is flagged duplicate, a refund asked past the deadline is refused (409), and who may scan."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import Role
from app.config import AppEnv, Settings
from app.db import create_engine, create_sessionmaker
from app.events import repository
from app.events.checkin import qr_content
from app.events.models import Ticket
from app.kit import clock
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.orders.models import Capacity, Order
from tests.events.builders import ADULT, buy, make_event, pay, stripe_provider
from tests.fixtures.builders import auth, make_station, make_user, token_for
from tests.fixtures.fake_stripe import FakeStripeServer
from tests.fixtures.http_server import serve_in_thread

BUYERS = 40
PLACES = 12


async def test_concurrent_http_orders_take_exactly_the_places_of_a_slot(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path: Path, fake_stripe: FakeStripeServer
) -> None:
    async with create_sessionmaker(committed_engine)() as session:
        setup = await make_event(session, places=PLACES)
        await session.commit()
        slot_id, capacity_id, event_id = setup.slot.id, setup.slot.capacity_id, setup.event.id

    server_engine = create_engine(committed_database_url, pool_size=20)
    provider = stripe_provider(fake_stripe)
    settings = Settings(
        app_env=AppEnv.test,
        app_data_dir=tmp_path / "data",
        database_url=committed_database_url,
        rate_limit_storage_url="memory://",
    )
    app = create_app(settings, engine=server_engine, task_sender=RecordingSender(), payment_provider=provider)
    try:
        with serve_in_thread(app, name="events under load") as base:
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:

                async def order(n: int) -> httpx.Response:
                    body: dict[str, Any] = {
                        "slot_id": slot_id,
                        "adults": 1,
                        "contact": {"name": f"游客{n}", "phone": "13800138000"},
                        "unit_price_minor": 1,  # a client's price: ignored
                    }
                    return await client.post(
                        "/api/v1/events/tickets", json=body, headers={"Idempotency-Key": uuid.uuid4().hex}
                    )

                responses = await asyncio.gather(*(order(n) for n in range(BUYERS)))
                assert Counter(r.status_code for r in responses) == {201: PLACES, 409: BUYERS - PLACES}
                assert {r.json()["error"] for r in responses if r.status_code == 409} == {"capacity_exhausted"}
                assert {r.json()["total_minor"] for r in responses if r.status_code == 201} == {ADULT}
                # The public list says the slot is full.
                listed = (await client.get(f"/api/v1/events/{event_id}")).json()
                assert [(s["places"], s["left"]) for s in listed["slots"]] == [(PLACES, 0)]
    finally:
        await provider.close()
        await server_engine.dispose()

    async with create_sessionmaker(committed_engine)() as session:
        capacity = await session.get(Capacity, capacity_id)
        assert capacity is not None and capacity.used == Decimal(PLACES)
        tickets = await session.scalar(select(func.count()).select_from(Ticket).where(Ticket.slot_id == slot_id))
        assert tickets == PLACES
        numbers = {r.json()["number"] for r in responses if r.status_code == 201}
        orders = list(await session.scalars(select(Order).where(Order.number.in_(numbers))))
        assert len(orders) == PLACES and all(o.delivery_method.value == "none" for o in orders)


async def test_buying_needs_online_payment_and_a_customer(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    setup = await make_event(db_session)
    body = {"slot_id": setup.slot.id, "adults": 1, "contact": {"name": "陈", "phone": "13800138000"}}
    answer = await client.post("/api/v1/events/tickets", json=body)
    assert answer.status_code == 422 and answer.json()["error"] == "payment_provider_unavailable"
    operator = await make_user(db_session, Role.station_operator)
    answer = await client.post("/api/v1/events/tickets", json=body, headers=auth(await token_for(db_session, operator)))
    assert answer.status_code == 403
    assert await db_session.scalar(select(func.count()).select_from(Ticket).where(Ticket.slot_id == setup.slot.id)) == 0


async def test_pda_check_in_once_offline_duplicates_and_refund_deadline(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    setup = await make_event(db_session, starts_in=timedelta(hours=30), cancel_hours=24)
    order = await buy(db_session, setup, adults=2)
    await pay(db_session, order)
    first, second = await repository.tickets_of_order(db_session, order.id)
    operator = await make_user(db_session, Role.station_operator, station_id=setup.station.id)
    elsewhere = await make_user(db_session, Role.station_operator, station_id=(await make_station(db_session)).id)
    customer = await make_user(db_session, Role.customer)
    headers = auth(await token_for(db_session, operator))

    url = "/api/v1/pda/tickets/check-in"
    refused = await client.post(
        url, json={"code": qr_content(first.token)}, headers=auth(await token_for(db_session, elsewhere))
    )
    assert refused.status_code == 403 and refused.json()["error"] == "ticket_wrong_station"
    assert (
        await client.post(
            url, json={"code": qr_content(first.token)}, headers=auth(await token_for(db_session, customer))
        )
    ).status_code == 403
    assert (await client.post(url, json={"code": qr_content(first.token)})).status_code == 401

    # 30 hours before the slot: the ticket is not for now (check-in opens 2 hours before).
    early = await client.post(url, json={"code": qr_content(first.token)}, headers=headers)
    assert early.status_code == 409 and early.json()["error"] == "ticket_not_for_now"
    assert "开始前 2 小时" in early.json()["message"]

    with clock.pinned(setup.slot.starts_at - timedelta(hours=1)):
        ok = await client.post(url, json={"code": qr_content(first.token)}, headers=headers)
        assert ok.status_code == 200, ok.text
        assert ok.json()["order_number"] == order.number and ok.json()["ticket_kind"] == "adult"
        again = await client.post(url, json={"code": qr_content(first.token)}, headers=headers)
        assert again.status_code == 409 and again.json()["error"] == "ticket_already_checked_in"
        used_at = datetime.fromisoformat(again.json()["detail"]["checked_in_at"])
        assert used_at == datetime.fromisoformat(ok.json()["checked_in_at"])

        # Two PDAs offline both let the second ticket in; the later upload is flagged, counted once.
        sync = "/api/v1/pda/tickets/offline-check-ins"
        scanned = (clock.now() - timedelta(minutes=5)).isoformat()
        a = {
            "device_id": "PDA-A",
            "scans": [{"client_id": "1", "code": qr_content(second.token), "scanned_at": scanned}],
        }
        b = {
            "device_id": "PDA-B",
            "scans": [{"client_id": "1", "code": qr_content(second.token), "scanned_at": scanned}],
        }
        assert [r["outcome"] for r in (await client.post(sync, json=a, headers=headers)).json()] == ["counted"]
        assert [r["outcome"] for r in (await client.post(sync, json=b, headers=headers)).json()] == ["duplicate"]
        assert [r["outcome"] for r in (await client.post(sync, json=a, headers=headers)).json()] == ["counted"]
        assert [d.device_id for d in await repository.duplicates(db_session, setup.event.id)] == [
            f"{setup.station.id}/PDA-B"
        ]

    # The customer asks for a refund a day before the start: past the 24-hour rule.
    shopper = auth(await token_for(db_session, customer))
    order.customer_user_id = customer.id
    await db_session.flush()
    tickets = await client.get(f"/api/v1/events/orders/{order.number}/tickets", headers=shopper)
    assert tickets.status_code == 200
    assert [t["checked_in_at"] is not None for t in tickets.json()["tickets"]] == [True, True]
    assert all(t["qr"].startswith("NPT-") for t in tickets.json()["tickets"])
    with clock.pinned(clock.now() + timedelta(hours=7)):
        late = await client.post(f"/api/v1/events/orders/{order.number}/cancel", headers=shopper)
    assert late.status_code == 409 and late.json()["error"] == "ticket_cancellation_too_late"
    await db_session.refresh(order)
    assert order.status.value == "confirmed" and order.refunded_minor == 0
