"""The webhook (twice, from two workers) and the return page race on committed PostgreSQL:
the order is paid exactly once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from decimal import Decimal

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.catalog.models import PriceListKind
from app.config import AppEnv, Settings
from app.db import create_sessionmaker
from app.kit.outbox import RecordingSender
from app.kit.quantities import Unit
from app.main import create_app
from app.orders import webhooks
from app.orders.models import Order, OrderEvent
from app.orders.stripe_provider import StripeProvider
from app.supply.models import LedgerKind, StockLedgerEntry
from tests.fixtures.builders import (
    ensure_price_list,
    ensure_warehouse,
    make_product,
    make_station,
    make_variant,
    receive,
    set_price,
)
from tests.fixtures.fake_stripe import FakeStripeServer, sign_webhook

WHSEC = "whsec_race"


async def test_webhook_and_return_page_race(
    committed_engine: AsyncEngine, committed_database_url: str, fake_stripe: FakeStripeServer, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    sessionmaker = create_sessionmaker(committed_engine)
    tag = uuid.uuid4().hex[:6].upper()
    async with sessionmaker() as session:
        await ensure_price_list(session, "retail", PriceListKind.retail)
        await ensure_warehouse(session)
        variant = await make_variant(
            session, product=await make_product(session, slug=f"race-{tag.lower()}"), unit=Unit.box, sku=f"RACE-{tag}"
        )
        await set_price(session, "retail", variant, 5000)
        await receive(session, variant, "5")
        station = await make_station(session, code=f"ST-R{tag}", latitude=Decimal("24.9"), longitude=Decimal("114.1"))
        await session.commit()
    provider = StripeProvider(fake_stripe.api_key, WHSEC, api_base=fake_stripe.base_url)
    sender = RecordingSender()
    settings = Settings(app_env=AppEnv.test, app_data_dir=tmp_path, database_url=committed_database_url)
    app = create_app(
        settings, engine=committed_engine, sessionmaker=sessionmaker, task_sender=sender, payment_provider=provider
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        placed = await client.post(
            "/api/v1/orders",
            json={
                "lines": [{"sku": variant.sku, "quantity": "2"}],
                "payment_method": "stripe",
                "delivery": {"method": "station_pickup", "station_code": station.code},
                "contact": {"name": "王", "phone": "13800138000"},
            },
        )
        number = placed.json()["number"]
        await client.post(
            f"/api/v1/orders/{number}/payments", headers={"X-Order-Phone": "13800138000"}, json={"method": "alipay"}
        )
        async with committed_engine.connect() as conn:
            pi_id = (
                await conn.execute(
                    text("SELECT p.external_id FROM payments p JOIN orders o ON o.id = p.order_id WHERE o.number = :n"),
                    {"n": number},
                )
            ).scalar_one()
        paid_intent = fake_stripe.state.complete(pi_id)
        sender.sent.clear()
        for kind in ("payment_intent.succeeded", "payment_intent.processing"):
            payload = json.dumps(fake_stripe.state.event(kind, paid_intent))
            response = await client.post(
                "/webhooks/stripe",
                content=payload.encode(),
                headers={"Stripe-Signature": sign_webhook(payload, WHSEC, int(time.time()))},
            )
            assert response.status_code == 200
        assert len(sender.sent) == 2

        async def worker(outbox_id: int, event_id: int) -> str:
            return await webhooks.process_event(
                sessionmaker, provider, outbox_id=outbox_id, webhook_event_id=event_id, sender=RecordingSender()
            )

        async def return_page() -> int:
            return (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "13800138000"})).status_code

        results = await asyncio.gather(
            *(worker(o, p["webhook_event_id"]) for o, _, p in sender.sent),
            *(return_page() for _ in range(5)),
            # the same message delivered twice to two workers
            worker(sender.sent[0][0], sender.sent[0][2]["webhook_event_id"]),
        )
    await provider.close()
    assert results[2:7] == [200] * 5
    async with sessionmaker() as session:
        order = await session.scalar(select(Order).where(Order.number == number))
        assert order is not None
        assert (order.status.value, order.paid_minor, order.payment_status.value) == ("confirmed", 10000, "paid")
        paid_events = await session.scalar(
            select(func.count())
            .select_from(OrderEvent)
            .where(OrderEvent.order_id == order.id, OrderEvent.kind == "paid")
        )
        sales = await session.scalar(
            select(func.count())
            .select_from(StockLedgerEntry)
            .where(StockLedgerEntry.kind == LedgerKind.sale, StockLedgerEntry.document_ref == number)
        )
    assert (paid_events, sales) == (1, 1)
