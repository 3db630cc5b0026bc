"""Concurrency for real: many simultaneous HTTP requests against one PostgreSQL, committed."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.models import Role
from app.config import AppEnv, Settings
from app.db import create_sessionmaker
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.supply import repository
from tests.fixtures.builders import auth, ensure_warehouse, make_product, make_user, make_variant, receive, token_for


@pytest.fixture
async def stock_client(
    committed_engine: AsyncEngine, committed_database_url: str, tmp_path
) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    settings = Settings(app_env=AppEnv.test, app_data_dir=tmp_path, database_url=committed_database_url)
    app = create_app(
        settings,
        engine=committed_engine,
        sessionmaker=create_sessionmaker(committed_engine),
        task_sender=RecordingSender(),
    )
    limits = httpx.Limits(max_connections=None)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t", limits=limits, timeout=120
    ) as client:
        yield client


async def seed(engine: AsyncEngine, *, variants: int, quantity: str) -> tuple[list[str], dict[str, str]]:
    """Committed variants with stock in the warehouse, and a warehouse user's token."""
    sessionmaker = create_sessionmaker(engine)
    tag = uuid.uuid4().hex[:6].upper()
    async with sessionmaker() as session:
        await ensure_warehouse(session)
        product = await make_product(session, slug=f"conc-{tag.lower()}", shelf_life_days=30)
        skus = []
        for i in range(variants):
            variant = await make_variant(session, product=product, sku=f"CONC-{tag}-{i}")
            await receive(session, variant, quantity)
            skus.append(variant.sku)
        token = await token_for(session, await make_user(session, Role.warehouse, username=f"keeper-{tag}"))
        await session.commit()
    return skus, auth(token)


async def ledger_agrees(engine: AsyncEngine) -> bool:
    async with create_sessionmaker(engine)() as session:
        return await repository.rebuilt_levels(session) == await repository.stored_levels(session)


async def test_200_concurrent_reservations_against_50(
    stock_client: httpx.AsyncClient, committed_engine: AsyncEngine
) -> None:
    (sku,), headers = await seed(committed_engine, variants=1, quantity="50")
    violations: list[tuple[Decimal, Decimal]] = []
    samples = 0
    done = asyncio.Event()

    async def watch() -> None:
        # Read the level row over and over while the storm runs: reserved never exceeds on hand.
        nonlocal samples
        async with committed_engine.connect() as conn:
            while not done.is_set():
                samples += 1
                rows = (
                    await conn.execute(
                        text(
                            "SELECT on_hand, reserved FROM stock_levels s JOIN variants v ON v.id = s.variant_id "
                            "WHERE v.sku = :sku"
                        ),
                        {"sku": sku},
                    )
                ).all()
                violations.extend((on_hand, reserved) for on_hand, reserved in rows if reserved > on_hand)
                await conn.commit()
                await asyncio.sleep(0.005)

    async def hold(i: int) -> httpx.Response:
        return await stock_client.post(
            "/api/v1/admin/reservations",
            headers={**headers, "Idempotency-Key": f"k{i}"},
            json={"reference": f"{sku}-R{i}", "lines": [{"sku": sku, "quantity": "1"}], "ttl_minutes": 30},
        )

    watcher = asyncio.create_task(watch())
    responses = await asyncio.gather(*(hold(i) for i in range(200)))
    done.set()
    await watcher

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 50, 409: 150}
    for refused in (r for r in responses if r.status_code == 409):
        body = refused.json()
        assert body["error"] == "insufficient_stock"
        assert [(line["sku"], line["requested"], line["available"]) for line in body["detail"]["lines"]] == [
            (sku, "1", "0")
        ]
    assert violations == [] and samples > 5
    async with committed_engine.connect() as conn:
        level = (
            await conn.execute(
                text(
                    "SELECT on_hand, reserved FROM stock_levels s JOIN variants v ON v.id = s.variant_id "
                    "WHERE v.sku = :sku"
                ),
                {"sku": sku},
            )
        ).all()
    assert [tuple(row) for row in level] == [(Decimal(50), Decimal(50))]
    assert await ledger_agrees(committed_engine)


async def test_50_concurrent_multi_line_reservations_in_random_order(
    stock_client: httpx.AsyncClient, committed_engine: AsyncEngine
) -> None:
    skus, headers = await seed(committed_engine, variants=5, quantity="30")
    rng = random.Random(20261129)

    async def hold(i: int) -> httpx.Response:
        lines = [{"sku": sku, "quantity": "1"} for sku in skus]
        rng.shuffle(lines)
        return await stock_client.post(
            "/api/v1/admin/reservations", headers=headers, json={"reference": f"{skus[0]}-M{i}", "lines": lines}
        )

    responses = await asyncio.gather(*(hold(i) for i in range(50)))
    statuses = Counter(r.status_code for r in responses)
    # No deadlock (a 500) reaches any caller: 30 complete sets, 20 refused whole.
    assert statuses == {201: 30, 409: 20}
    async with committed_engine.connect() as conn:
        totals = dict(
            (
                await conn.execute(
                    text(
                        "SELECT v.sku, sum(s.reserved) FROM stock_levels s JOIN variants v ON v.id = s.variant_id "
                        "WHERE v.sku = ANY(:skus) GROUP BY v.sku"
                    ),
                    {"skus": skus},
                )
            ).all()
        )
    assert totals == dict.fromkeys(skus, Decimal(30))
    assert await ledger_agrees(committed_engine)
