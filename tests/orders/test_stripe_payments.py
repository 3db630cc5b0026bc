"""Stripe through the real stripe-python client, over HTTP, against the local fake Stripe API:
cards, wallets, declines, refunds, retries with the same key, signed webhooks, late payments."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import Role
from app.config import Settings
from app.kit.outbox import RecordingSender
from app.main import create_app
from app.notifications.models import NotificationMessage
from app.orders import expiry, tasks, webhooks
from app.orders.models import OrderEvent, Payment, Refund, RefundState, WebhookEvent
from app.orders.stripe_provider import StripeProvider
from app.supply.models import LedgerKind, StockLedgerEntry
from tests.fixtures.builders import auth, make_user, token_for
from tests.fixtures.fake_stripe import FakeStripeServer, sign_webhook, signed_webhook
from tests.fixtures.shop import Shop, order_body

WHSEC = "whsec_test_secret"


@pytest.fixture
async def provider(fake_stripe: FakeStripeServer) -> AsyncIterator[StripeProvider]:
    stripe_provider = StripeProvider(fake_stripe.api_key, WHSEC + "\n", api_base=fake_stripe.base_url)
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


async def online_order(client: httpx.AsyncClient, shop: Shop, quantity: str = "2") -> str:
    body = order_body(shop, lines=[{"sku": shop.box_sku, "quantity": quantity}], payment_method="stripe")
    response = await client.post("/api/v1/orders", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending_payment"
    return str(response.json()["number"])


async def pay(client: httpx.AsyncClient, number: str, **body: Any) -> httpx.Response:
    return await client.post(f"/api/v1/orders/{number}/payments", headers={"X-Order-Phone": "13800138000"}, json=body)


async def sales(session: AsyncSession, number: str) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(StockLedgerEntry)
            .where(StockLedgerEntry.kind == LedgerKind.sale, StockLedgerEntry.document_ref == number)
        )
        or 0
    )


async def process_inbox(
    sessionmaker: async_sessionmaker[AsyncSession], provider: StripeProvider, sender: RecordingSender
) -> list[str]:
    """Run what the worker would: every recorded webhook-processing and refund task."""
    outcomes = []
    while sender.sent:
        outbox_id, name, payload = sender.sent.pop(0)
        if name == webhooks.PROCESS_TASK:
            outcomes.append(
                await webhooks.process_event(
                    sessionmaker,
                    provider,
                    outbox_id=outbox_id,
                    webhook_event_id=payload["webhook_event_id"],
                    sender=sender,
                )
            )
        elif name == "payments.execute_refund":
            outcomes.append(
                await tasks.execute_refund(
                    sessionmaker, provider, outbox_id=outbox_id, refund_id=payload["refund_id"], sender=sender
                )
            )
    return outcomes


async def test_card_payment_succeeds(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, fake_stripe: FakeStripeServer
) -> None:
    number = await online_order(client, shop)
    response = await pay(client, number, method="card", payment_method_id="pm_card_visa")
    assert response.status_code == 200, response.text
    order = response.json()
    assert (order["status"], order["payment_status"], order["paid_minor"]) == ("confirmed", "paid", 13600)
    assert order["payments"][0]["state"] == "succeeded"
    assert await sales(db_session, number) == 1
    creates = [r for r in fake_stripe.state.requests if r.method == "POST" and r.path == "/v1/payment_intents"]
    assert len(creates) == 1
    assert creates[0].idempotency_key == f"order:{number}:pi:1"
    assert creates[0].params["amount"] == "13600" and creates[0].params["currency"] == "cny"
    assert creates[0].params["metadata"] == {"order_number": number}
    told = (
        await db_session.scalars(select(NotificationMessage.template).where(NotificationMessage.reference == number))
    ).all()
    assert list(told) == ["order_paid"]  # an online order is announced once it is paid


async def test_card_decline_then_another_card(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> None:
    number = await online_order(client, shop)
    declined = await pay(client, number, method="card", payment_method_id="pm_card_chargeDeclined")
    assert declined.status_code == 402 and declined.json()["error"] == "payment_declined"
    order = declined.json()["detail"]["order"]
    assert (order["status"], order["payments"][0]["state"]) == ("pending_payment", "failed")
    assert await sales(db_session, number) == 0
    second = await pay(client, number, method="card", payment_method_id="pm_card_visa")
    assert second.status_code == 200 and second.json()["status"] == "confirmed"
    keys = (await db_session.scalars(select(Payment.idempotency_key).order_by(Payment.id))).all()
    assert list(keys) == [f"order:{number}:pi:1", f"order:{number}:pi:2"]


async def test_wallets_need_a_redirect_or_a_qr_code(client: httpx.AsyncClient, shop: Shop) -> None:
    alipay = await pay(
        client, await online_order(client, shop, "1"), method="alipay", return_url="http://127.0.0.1:8000/orders/back"
    )
    action = alipay.json()["payments"][0]["next_action"]
    assert alipay.json()["status"] == "pending_payment" and action["type"] == "redirect"
    assert action["url"].startswith("http")
    wechat = await pay(client, await online_order(client, shop, "1"), method="wechat_pay")
    qr = wechat.json()["payments"][0]["next_action"]
    assert qr["type"] == "qr" and qr["data"] and qr["image_data_url"].startswith("data:image/png;base64,")


OFF_SITE_RETURN_URLS = [
    "https://evil.example/phish",
    "//evil.example/phish",
    "https://127.0.0.1:8000@evil.example/phish",
    "http://127.0.0.1:8000@evil.example/phish",
    "http://127.0.0.1:8000.evil.example/phish",
    "/\\evil.example/phish",
    "/\t/evil.example/phish",
    "javascript:alert(document.cookie)",
    "JavaScript://127.0.0.1:8000/%0aalert(1)",
    "HTTPS://evil.example/phish",
    "http://127.0.0.1:8000\n@evil.example/",
    "https://127.0.0.1:8000/orders/back",  # our host, other scheme
    "orders/back",
]


@pytest.mark.parametrize("return_url", OFF_SITE_RETURN_URLS)
async def test_payment_refuses_a_return_url_off_this_site(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    shop: Shop,
    fake_stripe: FakeStripeServer,
    return_url: str,
) -> None:
    """Stripe sends the payer to return_url with the payment's client secret in the query: an
    address off PUBLIC_BASE_URL would hand both to someone else."""
    number = await online_order(client, shop, "1")
    stripe_calls = len(fake_stripe.state.requests)
    refused = await pay(client, number, method="alipay", return_url=return_url)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"] == "return_url_not_allowed"
    assert refused.json()["message"] == "支付完成后的返回地址必须是本站地址"
    assert await db_session.scalar(select(func.count()).select_from(Payment)) == 0
    assert len(fake_stripe.state.requests) == stripe_calls
    order = (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "13800138000"})).json()
    assert (order["status"], order["payments"]) == ("pending_payment", [])


async def test_a_same_site_return_url_reaches_stripe(
    client: httpx.AsyncClient, shop: Shop, fake_stripe: FakeStripeServer
) -> None:
    def sent_return_urls() -> list[str]:
        return [
            r.params["return_url"]
            for r in fake_stripe.state.requests
            if r.method == "POST" and r.path == "/v1/payment_intents"
        ]

    absolute = "http://127.0.0.1:8000/orders/back?from=app"
    first = await pay(client, await online_order(client, shop, "1"), method="alipay", return_url=absolute)
    assert first.status_code == 200, first.text
    assert first.json()["payments"][0]["next_action"]["type"] == "redirect"
    relative = await pay(client, await online_order(client, shop, "1"), method="alipay", return_url="/account/orders")
    assert relative.status_code == 200, relative.text
    number = await online_order(client, shop, "1")
    default = await pay(client, number, method="alipay")
    assert default.status_code == 200, default.text
    assert sent_return_urls() == [
        absolute,
        "http://127.0.0.1:8000/account/orders",
        f"http://127.0.0.1:8000/orders/{number}",
    ]


async def test_network_retry_reuses_the_idempotency_key(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, fake_stripe: FakeStripeServer
) -> None:
    number = await online_order(client, shop)
    fake_stripe.state.fail_next(1, status=500)
    ok = await pay(client, number, method="card", payment_method_id="pm_card_visa")
    assert ok.status_code == 200 and ok.json()["status"] == "confirmed"
    creates = [r for r in fake_stripe.state.requests if r.path == "/v1/payment_intents" and r.method == "POST"]
    assert [r.idempotency_key for r in creates] == [f"order:{number}:pi:1"] * 2
    assert len(fake_stripe.state.payment_intents) == 1
    # The gateway accepted a create but the answer was lost: the retry gets the same intent.
    other = await online_order(client, shop, "1")
    fake_stripe.state.drop_response_next(1)
    again = await pay(client, other, method="alipay")
    assert again.status_code == 200
    assert len(fake_stripe.state.payment_intents) == 2


async def test_staff_refunds_full_and_partial(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    shop: Shop,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: StripeProvider,
    task_sender: RecordingSender,
) -> None:
    number = await online_order(client, shop)
    await pay(client, number, method="card", payment_method_id="pm_card_visa")
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    too_much = await client.post(
        f"/api/v1/admin/orders/{number}/refunds", headers=admin, json={"amount_minor": 13601, "reason": "多退"}
    )
    assert too_much.status_code == 422 and too_much.json()["error"] == "refund_too_large"
    part = await client.post(
        f"/api/v1/admin/orders/{number}/refunds", headers=admin, json={"amount_minor": 3000, "reason": "一箱压坏"}
    )
    assert part.status_code == 201
    refund_id = await db_session.scalar(select(Refund.id))
    assert await process_inbox(sessionmaker, provider, task_sender) == [f"refund {refund_id}: succeeded"]
    order = (await client.get(f"/api/v1/orders/{number}", headers=admin)).json()
    assert (order["refunded_minor"], order["payment_status"]) == (3000, "partially_refunded")
    rest = await client.post(
        f"/api/v1/admin/orders/{number}/refunds", headers=admin, json={"amount_minor": 10600, "reason": "取消剩余"}
    )
    assert rest.status_code == 201
    await process_inbox(sessionmaker, provider, task_sender)
    order = (await client.get(f"/api/v1/orders/{number}", headers=admin)).json()
    assert (order["refunded_minor"], order["payment_status"]) == (13600, "refunded")
    assert (
        await db_session.scalar(select(func.count()).select_from(Refund).where(Refund.state == RefundState.succeeded))
        == 2
    )


async def test_a_refund_webhook_that_beats_the_refund_task_still_finds_its_refund(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    shop: Shop,
    fake_stripe: FakeStripeServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: StripeProvider,
    task_sender: RecordingSender,
) -> None:
    number = await online_order(client, shop)
    await pay(client, number, method="alipay")
    pi_id = str(await db_session.scalar(select(Payment.external_id)))
    await _webhook(
        client, fake_stripe, fake_stripe.state.event("payment_intent.succeeded", fake_stripe.state.complete(pi_id))
    )
    await process_inbox(sessionmaker, provider, task_sender)
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    made = await client.post(
        f"/api/v1/admin/orders/{number}/refunds", headers=admin, json={"amount_minor": 13600, "reason": "缺货"}
    )
    assert made.status_code == 201
    refund_id = int(str(await db_session.scalar(select(Refund.id))))
    task_sender.sent.clear()  # the refund task is slow: Stripe answers and its webhooks come first
    sent = await provider.refund(
        external_id=pi_id, amount_minor=13600, idempotency_key=f"refund:{refund_id}", refund_id=refund_id
    )
    assert fake_stripe.state.refund(sent.external_id)["metadata"] == {"refund_id": str(refund_id)}
    await _webhook(
        client, fake_stripe, fake_stripe.state.event("refund.created", fake_stripe.state.refund(sent.external_id))
    )
    await _webhook(
        client,
        fake_stripe,
        fake_stripe.state.event("refund.updated", fake_stripe.state.settle_refund(sent.external_id)),
    )
    assert await process_inbox(sessionmaker, provider, task_sender) == [
        f"refund {refund_id}: submitted",
        f"refund {refund_id}: succeeded",
    ]
    # The task runs at last: nothing left to do, and Stripe was asked once.
    assert await tasks.execute_refund(sessionmaker, provider, outbox_id=None, refund_id=refund_id) == "nothing to do"
    order = (await client.get(f"/api/v1/orders/{number}", headers=admin)).json()
    assert (order["refunded_minor"], order["payment_status"]) == (13600, "refunded")
    assert len(fake_stripe.state.refunds) == 1


async def test_a_refund_first_sent_without_metadata_is_replayed_not_failed(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    shop: Shop,
    fake_stripe: FakeStripeServer,
    sessionmaker: async_sessionmaker[AsyncSession],
    provider: StripeProvider,
    task_sender: RecordingSender,
) -> None:
    """A refund attempted before refunds carried metadata and retried after: same key, other params."""
    number = await online_order(client, shop)
    await pay(client, number, method="card", payment_method_id="pm_card_visa")
    pi_id = str(await db_session.scalar(select(Payment.external_id)))
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    made = await client.post(
        f"/api/v1/admin/orders/{number}/refunds", headers=admin, json={"amount_minor": 5000, "reason": "少发"}
    )
    assert made.status_code == 201
    refund_id = int(str(await db_session.scalar(select(Refund.id))))
    task_sender.sent.clear()
    old_style = await provider.refund(external_id=pi_id, amount_minor=5000, idempotency_key=f"refund:{refund_id}")
    assert await tasks.execute_refund(sessionmaker, provider, outbox_id=None, refund_id=refund_id) == (
        f"refund {refund_id}: succeeded"
    )
    stored = await db_session.scalar(
        select(Refund).where(Refund.id == refund_id).execution_options(populate_existing=True)
    )
    assert stored is not None and stored.external_id == old_style.external_id
    assert len(fake_stripe.state.refunds) == 1


async def _webhook(
    client: httpx.AsyncClient,
    fake_stripe: FakeStripeServer,
    event: dict[str, Any],
    *,
    secret: str = WHSEC,
    timestamp: int | None = None,
    body: str | None = None,
) -> httpx.Response:
    payload = body if body is not None else json.dumps(event, separators=(",", ":"))
    header = sign_webhook(payload, secret, timestamp or int(time.time()))
    return await client.post(
        "/webhooks/stripe",
        content=payload.encode(),
        headers={"Stripe-Signature": header, "content-type": "application/json"},
    )


async def test_wallet_paid_by_webhook_once(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    shop: Shop,
    fake_stripe: FakeStripeServer,
    provider: StripeProvider,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
) -> None:
    number = await online_order(client, shop)
    started = await pay(client, number, method="alipay")
    pi_id = await db_session.scalar(select(Payment.external_id))
    assert pi_id and started.json()["status"] == "pending_payment"
    task_sender.sent.clear()
    succeeded = fake_stripe.state.event("payment_intent.succeeded", fake_stripe.state.complete(pi_id))
    first = await _webhook(client, fake_stripe, succeeded)
    duplicate = await _webhook(client, fake_stripe, succeeded)
    assert first.json() == {"received": True, "duplicate": False}
    assert duplicate.json() == {"received": True, "duplicate": True}
    assert len(task_sender.sent) == 1
    payment_id = await _payment_id(db_session)
    assert await process_inbox(sessionmaker, provider, task_sender) == [
        f"payment {payment_id}: requires_action → succeeded"
    ]
    order = (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "13800138000"})).json()
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    assert await sales(db_session, number) == 1


async def _payment_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(Payment.id)) or 0)


async def test_bad_webhooks_are_refused_and_stored_nowhere(
    client: httpx.AsyncClient, db_session: AsyncSession, fake_stripe: FakeStripeServer
) -> None:
    event = fake_stripe.state.event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    compact = json.dumps(event, separators=(",", ":"))
    bad_secret = await _webhook(client, fake_stripe, event, secret="whsec_wrong")
    stale = await _webhook(client, fake_stripe, event, timestamp=int(time.time()) - 600)
    # Signed over the compact body, sent re-serialised with spaces: not the bytes Stripe signed.
    header = sign_webhook(compact, WHSEC, int(time.time()))
    reserialised = await client.post(
        "/webhooks/stripe",
        content=json.dumps(json.loads(compact)).encode(),
        headers={"Stripe-Signature": header, "content-type": "application/json"},
    )
    unsigned = await client.post("/webhooks/stripe", content=compact.encode())
    for response in (bad_secret, stale, reserialised, unsigned):
        assert response.status_code == 400 and response.json()["error"] == "invalid_signature"
    assert await db_session.scalar(select(func.count()).select_from(WebhookEvent)) == 0
    body, headers = signed_webhook(event, WHSEC)
    assert (await client.post("/webhooks/stripe", content=body, headers=headers)).status_code == 200


async def test_events_out_of_order_follow_stripe(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    shop: Shop,
    fake_stripe: FakeStripeServer,
    provider: StripeProvider,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
) -> None:
    number = await online_order(client, shop)
    await pay(client, number, method="wechat_pay")
    pi_id = str(await db_session.scalar(select(Payment.external_id)))
    requires_action = fake_stripe.state.event("payment_intent.requires_action", fake_stripe.state.payment_intent(pi_id))
    succeeded = fake_stripe.state.event("payment_intent.succeeded", fake_stripe.state.complete(pi_id))
    task_sender.sent.clear()
    # The success arrives first, the stale "requires action" after it: the order stays paid.
    await _webhook(client, fake_stripe, succeeded)
    await _webhook(client, fake_stripe, requires_action)
    await process_inbox(sessionmaker, provider, task_sender)
    order = (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "13800138000"})).json()
    assert (order["status"], order["payment_status"], order["payments"][0]["state"]) == (
        "confirmed",
        "paid",
        "succeeded",
    )
    paid_events = await db_session.scalar(select(func.count()).select_from(OrderEvent).where(OrderEvent.kind == "paid"))
    assert paid_events == 1 and await sales(db_session, number) == 1


async def test_late_payment_rereserves_when_stock_remains(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    shop: Shop,
    fake_stripe: FakeStripeServer,
    provider: StripeProvider,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
) -> None:
    number = await online_order(client, shop, "3")
    await pay(client, number, method="alipay")
    assert await expiry.expire_unpaid(db_session, now=datetime.now(UTC) + timedelta(minutes=16)) == [number]
    pi_id = str(await db_session.scalar(select(Payment.external_id)))
    task_sender.sent.clear()
    await _webhook(
        client, fake_stripe, fake_stripe.state.event("payment_intent.succeeded", fake_stripe.state.complete(pi_id))
    )
    await process_inbox(sessionmaker, provider, task_sender)
    order = (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "13800138000"})).json()
    assert (order["status"], order["payment_status"], order["refunded_minor"]) == ("confirmed", "paid", 0)
    kinds = [e["kind"] for e in order["events"]]
    assert kinds.count("late_payment_rereserved") == 1 and kinds.index("expired") < kinds.index(
        "late_payment_rereserved"
    )
    assert await sales(db_session, number) == 1


async def test_late_payment_refunded_when_stock_is_gone(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    shop: Shop,
    fake_stripe: FakeStripeServer,
    provider: StripeProvider,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
) -> None:
    number = await online_order(client, shop, "8")
    await pay(client, number, method="alipay")
    await expiry.expire_unpaid(db_session, now=datetime.now(UTC) + timedelta(minutes=16))
    # Meanwhile someone else buys what is left (10 in stock).
    other = await client.post("/api/v1/orders", json=order_body(shop, lines=[{"sku": shop.box_sku, "quantity": "9"}]))
    assert other.status_code == 201
    pi_id = str(await db_session.scalar(select(Payment.external_id)))
    task_sender.sent.clear()
    await _webhook(
        client, fake_stripe, fake_stripe.state.event("payment_intent.succeeded", fake_stripe.state.complete(pi_id))
    )
    await process_inbox(sessionmaker, provider, task_sender)  # processes the event, then the refund task
    submitted = (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "13800138000"})).json()
    assert (submitted["refunded_minor"], submitted["payment_status"]) == (0, "paid")  # wallet refunds settle later
    (re_id,) = fake_stripe.state.refunds
    await _webhook(
        client, fake_stripe, fake_stripe.state.event("refund.updated", fake_stripe.state.settle_refund(re_id))
    )
    await process_inbox(sessionmaker, provider, task_sender)
    order = (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "13800138000"})).json()
    assert order["status"] == "expired"
    assert (order["paid_minor"], order["refunded_minor"], order["payment_status"]) == (54400, 54400, "refunded")
    assert "late_payment_refunded" in [e["kind"] for e in order["events"]]
    assert await sales(db_session, number) == 0
    refunds = [r for r in fake_stripe.state.requests if r.path == "/v1/refunds"]
    assert len(refunds) == 1 and refunds[0].params["payment_intent"] == pi_id


async def test_payment_after_a_lapsed_hold_takes_stock_again(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    from app.supply import reservations
    from app.supply.models import Reservation

    number = await online_order(client, shop, "2")
    held = await db_session.scalar(select(Reservation).where(Reservation.reference == f"order:{number}"))
    assert held is not None
    # The hold lapses while the order still waits for its payment.
    await reservations.release(db_session, held.id, reason="超时", expired=True)
    paid = await pay(client, number, method="card", payment_method_id="pm_card_visa")
    assert paid.status_code == 200 and paid.json()["status"] == "confirmed"
    assert "late_payment_rereserved" in [e["kind"] for e in paid.json()["events"]]
    assert await sales(db_session, number) == 1  # the stock was taken again and sold: no oversell


async def test_supply_sweep_leaves_order_holds_to_the_orders(
    db_session: AsyncSession, client: httpx.AsyncClient, shop: Shop
) -> None:
    from app.supply import reservations

    number = await online_order(client, shop, "1")
    assert await reservations.release_expired(db_session, now=datetime.now(UTC) + timedelta(hours=1)) == []
    assert await expiry.expire_unpaid(db_session, now=datetime.now(UTC) + timedelta(hours=1)) == [number]


async def test_a_lost_create_answer_is_adopted_from_the_webhook(
    client: httpx.AsyncClient,
    db_session: AsyncSession,
    shop: Shop,
    fake_stripe: FakeStripeServer,
    provider: StripeProvider,
    sessionmaker: async_sessionmaker[AsyncSession],
    task_sender: RecordingSender,
) -> None:
    number = await online_order(client, shop)
    # Stripe accepts the create but every answer is lost (retries included): we see an error.
    fake_stripe.state.drop_response_next(3)
    lost = await pay(client, number, method="alipay")
    assert lost.status_code == 502 and lost.json()["error"] == "payment_provider_error"
    (pi_id,) = fake_stripe.state.payment_intents
    assert await db_session.scalar(select(Payment.external_id)) is None
    task_sender.sent.clear()
    await _webhook(
        client, fake_stripe, fake_stripe.state.event("payment_intent.succeeded", fake_stripe.state.complete(pi_id))
    )
    await process_inbox(sessionmaker, provider, task_sender)
    order = (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "13800138000"})).json()
    assert (order["status"], order["payment_status"]) == ("confirmed", "paid")
    assert await db_session.scalar(select(Payment.external_id)) == pi_id


async def test_staff_cannot_cancel_through_the_customer_route(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    number = (await client.post("/api/v1/orders", json=order_body(shop))).json()["number"]
    for role in (Role.clerk, Role.warehouse, Role.station_operator):
        headers = auth(await token_for(db_session, await make_user(db_session, role)))
        refused = await client.post(
            f"/api/v1/orders/{number}/cancel", headers={**headers, "X-Order-Phone": "13800138000"}, json={"reason": "x"}
        )
        assert refused.status_code == 403, role
    operator = auth(await token_for(db_session, await make_user(db_session, Role.station_operator)))
    assert (await client.get("/api/v1/admin/orders", headers=operator)).status_code == 403
    # A till's clerk does not read every customer's orders (names, phones, addresses) either.
    clerk = auth(await token_for(db_session, await make_user(db_session, Role.clerk)))
    assert (await client.get("/api/v1/admin/orders", headers=clerk)).status_code == 403
    keeper = auth(await token_for(db_session, await make_user(db_session, Role.warehouse)))
    assert (await client.get("/api/v1/admin/orders", headers=keeper)).status_code == 200
