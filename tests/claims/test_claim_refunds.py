"""A claim on an order paid online is refunded by Stripe (the fake speaks the wire protocol), for
exactly the approved amount, once; many reviewers approving at once on committed PostgreSQL still
refund once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.catalog.models import PriceListKind, Variant
from app.claims import errors, service
from app.claims.models import Claim, ClaimStatus
from app.config import Settings
from app.db import create_sessionmaker
from app.kit.outbox import RecordingSender
from app.kit.quantities import Unit
from app.main import create_app
from app.orders import tasks
from app.orders.models import Order, Refund, RefundState
from app.orders.stripe_provider import StripeProvider
from app.stations.models import StationCashRefund
from tests.claims.helpers import (
    PHONE,
    cash_order,
    count,
    file_claim,
    hand_over_all,
    jpeg,
    lines_json,
    route_and_operator,
)
from tests.fixtures.builders import (
    auth,
    ensure_price_list,
    ensure_warehouse,
    make_product,
    make_station,
    make_user,
    make_variant,
    receive,
    set_price,
    token_for,
)
from tests.fixtures.fake_stripe import FakeStripeServer
from tests.fixtures.shop import Shop, order_body

WHSEC = "whsec_claims"


@pytest.fixture
async def provider(fake_stripe: FakeStripeServer) -> AsyncIterator[StripeProvider]:
    stripe_provider = StripeProvider(fake_stripe.api_key, WHSEC, api_base=fake_stripe.base_url)
    yield stripe_provider
    await stripe_provider.close()


@pytest.fixture
def app(
    settings: Settings,
    engine: AsyncEngine,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
    provider: StripeProvider,
) -> FastAPI:
    return create_app(
        settings, engine=engine, sessionmaker=sessionmaker, task_sender=task_sender, payment_provider=provider
    )


async def run_refund_tasks(
    sessionmaker: async_sessionmaker[AsyncSession], provider: StripeProvider, sender: RecordingSender
) -> list[str]:
    """What the worker would do with the refund tasks recorded so far."""
    outcomes = []
    for outbox_id, name, payload in list(sender.sent):
        if name == "payments.execute_refund":
            outcomes.append(
                await tasks.execute_refund(
                    sessionmaker, provider, outbox_id=outbox_id, refund_id=payload["refund_id"], sender=sender
                )
            )
    sender.sent.clear()
    return outcomes


async def test_partial_approval_is_refunded_by_stripe_exactly_and_once(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    shop: Shop,
    fake_stripe: FakeStripeServer,
    provider: StripeProvider,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
) -> None:
    operator = await route_and_operator(db_session, shop)
    await db_session.commit()
    body = order_body(shop, lines=[{"sku": shop.box_sku, "quantity": "3"}], payment_method="stripe")
    placed = await client.post("/api/v1/orders", json=body)
    number = placed.json()["number"]
    paid = await client.post(
        f"/api/v1/orders/{number}/payments",
        headers={"X-Order-Phone": PHONE},
        json={"method": "card", "payment_method_id": "pm_card_visa"},
    )
    assert paid.status_code == 200 and paid.json()["paid_minor"] == 20400, paid.text
    assert await hand_over_all(db_session, operator) == [number]

    filed = await file_claim(
        client, number, lines=lines_json((shop.box_sku, "2")), photos=[("a.jpg", jpeg(), "image/jpeg")]
    )
    assert filed.status_code == 201, filed.text
    claim = filed.json()
    staff = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    await db_session.commit()
    review = {"lines": [{"line_id": claim["lines"][0]["id"], "approved_quantity": "1"}], "note": "一箱坏果"}
    task_sender.sent.clear()
    first = await client.post(f"/api/v1/admin/claims/{claim['id']}/review", json=review, headers=staff)
    assert first.status_code == 200 and first.json()["approved_minor"] == 6800, first.text
    refund = await db_session.scalar(select(Refund))
    assert refund is not None and (refund.amount_minor, refund.state) == (6800, RefundState.pending)

    assert await run_refund_tasks(sessionmaker, provider, task_sender) == [f"refund {refund.id}: succeeded"]
    sent = [r for r in fake_stripe.state.requests if r.method == "POST" and r.path == "/v1/refunds"]
    assert [(r.params["amount"], r.idempotency_key) for r in sent] == [("6800", f"refund:{refund.id}")]
    order = await db_session.get(Order, refund.order_id, populate_existing=True)
    assert order is not None and order.refunded_minor == 6800
    assert await count(db_session, StationCashRefund) == 0  # online money goes back online

    second = await client.post(f"/api/v1/admin/claims/{claim['id']}/review", json=review, headers=staff)
    assert second.status_code == 409 and second.json()["error"] == "claim_already_reviewed"
    assert await run_refund_tasks(sessionmaker, provider, task_sender) == []
    assert len([r for r in fake_stripe.state.requests if r.path == "/v1/refunds"]) == 1
    assert await count(db_session, Refund) == 1


async def committed_pickup(session: AsyncSession) -> tuple[Order, Variant]:
    """On the committed database (own SKU, station and route): a cash order of 2 boxes handed over."""
    tag = uuid.uuid4().hex[:6].upper()
    await ensure_price_list(session, "retail", PriceListKind.retail)
    await ensure_warehouse(session)
    variant = await make_variant(
        session, product=await make_product(session, slug=f"clm-{tag.lower()}"), unit=Unit.box, sku=f"CLM-{tag}"
    )
    await set_price(session, "retail", variant, 6800)
    await receive(session, variant, "5")
    station = await make_station(session, code=f"ST-C{tag}", latitude=Decimal("24.9"), longitude=Decimal("114.1"))
    shop = Shop(variant.sku, variant.sku, station.code, station.code)
    operator = await route_and_operator(session, shop, route_code=f"RT-{tag}")
    order = await cash_order(session, shop, quantity="2")
    await hand_over_all(session, operator, route_code=f"RT-{tag}")
    return order, variant


async def test_many_reviewers_at_once_refund_once(committed_engine: AsyncEngine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Eight staff approve the same claim at the same moment on committed PostgreSQL: one wins, the
    others get ``claim_already_reviewed``; one refund, one cash row."""
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        order, variant = await committed_pickup(session)
        settings_dir = tmp_path / "uploads"
        claim = await service.file_claim(
            session,
            order,
            lines=[service.ClaimedLine(variant.sku, Decimal("2"))],
            reason="整箱发霉",
            photos=[jpeg()],
            uploads_dir=settings_dir,
            max_bytes=5_000_000,
            actor_user_id=None,
        )
        reviewers = [await make_user(session, Role.admin) for _ in range(8)]
        await session.commit()
        line_id = claim.lines[0].id

    async def approve(user_id: int) -> str:
        async with sessionmaker() as session:
            try:
                await service.review_claim(
                    session, claim.id, approved={line_id: Decimal("2")}, note="", actor_user_id=user_id
                )
            except errors.ClaimAlreadyReviewed:
                await session.rollback()
                return "lost"
            await session.commit()
            return "won"

    outcomes = await asyncio.gather(*(approve(user.id) for user in reviewers))
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]
    async with sessionmaker() as session:
        found = await session.get(Claim, claim.id)
        assert found is not None and found.status is ClaimStatus.approved and found.approved_minor == 13600
        assert await count(session, Refund, Refund.order_id == order.id) == 1
        assert await count(session, StationCashRefund, StationCashRefund.claim_id == claim.id) == 1
        fresh = await session.get(Order, order.id)
        assert fresh is not None and fresh.refunded_minor == 13600


async def test_claims_filed_at_once_never_take_more_than_the_line(committed_engine: AsyncEngine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Six claims for the whole line at the same moment: the order row is the lock, so exactly one
    is filed and the others are told nothing is left."""
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        order, variant = await committed_pickup(session)

    async def claim_all() -> str:
        async with sessionmaker() as session:
            fresh = await session.get(Order, order.id)
            assert fresh is not None
            try:
                await service.file_claim(
                    session,
                    fresh,
                    lines=[service.ClaimedLine(variant.sku, Decimal("2"))],
                    reason="整箱发霉",
                    photos=[jpeg()],
                    uploads_dir=tmp_path / "uploads",
                    max_bytes=5_000_000,
                    actor_user_id=None,
                )
            except errors.ClaimQuantityTooLarge:
                await session.rollback()
                return "refused"
            await session.commit()
            return "filed"

    outcomes = await asyncio.gather(*(claim_all() for _ in range(6)))
    assert sorted(outcomes) == ["filed"] + ["refused"] * 5
    async with sessionmaker() as session:
        assert await count(session, Claim, Claim.order_id == order.id) == 1
