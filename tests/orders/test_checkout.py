"""Placing consumer orders: server pricing, station routing, stock held, idempotency, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.notifications.models import NotificationMessage
from app.orders import expiry
from app.orders.models import Order, OrderEvent, OrderLine, OrderStatus
from app.supply import repository as supply_repository
from app.supply.models import Reservation, ReservationStatus
from tests.fixtures.builders import (
    auth,
    make_user,
    token_for,
)
from tests.fixtures.shop import Shop, order_body


async def test_pay_at_pickup_order(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> None:
    response = await client.post("/api/v1/orders", json=order_body(shop))
    assert response.status_code == 201, response.text
    order = response.json()
    # 2 × 68.00 + 1.235 kg × 18.50 = 136.00 + 22.85 (22.8475 → 22.85)
    assert (order["subtotal_minor"], order["delivery_fee_minor"], order["total_minor"]) == (15885, 0, 15885)
    assert (order["status"], order["payment_status"], order["payment_method"]) == (
        "confirmed",
        "unpaid",
        "pay_at_pickup",
    )
    assert order["station"]["code"] == shop.station_code and order["station_reason"] == "顾客选择的自提点"
    assert order["contact_phone_masked"] == "138****8000"
    assert [(line["sku"], line["quantity"], line["line_total_minor"]) for line in order["lines"]] == [
        (shop.box_sku, "2", 13600),
        (shop.taro_sku, "1.235", 2285),
    ]
    held = await db_session.scalar(select(Reservation).where(Reservation.reference == f"order:{order['number']}"))
    assert held is not None and held.status is ReservationStatus.active and held.expires_at is None
    notices = (
        await db_session.scalars(select(NotificationMessage).where(NotificationMessage.reference == order["number"]))
    ).all()
    assert [(n.template, n.recipient) for n in notices] == [("order_placed", "+8613800138000")]
    assert "158.85" in notices[0].body


STATION_REFUSED: list[tuple[str, dict[str, Any], str, str]] = [
    ("missing", {"method": "station_pickup"}, "validation_error", "请选择自提村站"),
    ("empty", {"method": "station_pickup", "station_code": "  "}, "validation_error", "请选择自提村站"),
    (
        "unknown",
        {"method": "station_pickup", "station_code": "ST-NOPE", "village": "新村"},
        "unknown_station",
        "所选自提村站 ST-NOPE 不存在或未开放，请重新选择",
    ),
]


@pytest.mark.parametrize("case", STATION_REFUSED, ids=[c[0] for c in STATION_REFUSED])
async def test_a_pickup_order_without_a_known_station_is_refused(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, case: tuple[str, dict[str, Any], str, str]
) -> None:
    """No "default station": the customer names one, or gets a 422 naming the field."""
    _, delivery, error, message = case
    before = await supply_repository.stored_levels(db_session)
    response = await client.post("/api/v1/orders", json=order_body(shop, delivery=delivery))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == error
    if error == "validation_error":
        assert [(d["field"], d["message"]) for d in body["detail"]] == [("delivery.station_code", message)]
    else:
        assert body["message"] == message
        assert body["detail"] == {"field": "delivery.station_code", "station_code": "ST-NOPE"}
    assert await db_session.scalar(select(func.count()).select_from(Order)) == 0
    assert await db_session.scalar(select(func.count()).select_from(NotificationMessage)) == 0
    assert await supply_repository.stored_levels(db_session) == before


async def test_a_closed_station_is_refused_not_replaced(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    from tests.fixtures.builders import make_station

    await make_station(db_session, code="ST-SHUT", village="东湖坪村", is_open=False)
    body = order_body(shop, delivery={"method": "station_pickup", "station_code": "ST-SHUT", "village": "东湖坪村"})
    response = await client.post("/api/v1/orders", json=body)
    assert response.status_code == 422 and response.json()["error"] == "unknown_station"
    assert response.json()["detail"]["field"] == "delivery.station_code"
    assert await db_session.scalar(select(func.count()).select_from(Order)) == 0


async def test_a_full_station_is_re_routed_with_its_reason(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    """Capacity re-routing stays: the chosen station's shelves are full, so the order goes to the
    station serving the customer's village, or the nearest with room — and says so."""
    from app.stations.models import Station

    full = await db_session.scalar(select(Station).where(Station.code == shop.other_station_code))
    assert full is not None
    full.shelf_capacity = 0
    await db_session.flush()
    by_village = order_body(
        shop, delivery={"method": "station_pickup", "station_code": shop.other_station_code, "village": "新村"}
    )
    response = await client.post("/api/v1/orders", json=by_village)
    assert response.status_code == 201, response.text
    assert response.json()["station"]["code"] == shop.station_code
    assert response.json()["station_reason"] == "所选村站 ST-SHOP-2 已满，改派服务新村的村站"
    nearest = order_body(shop, delivery={"method": "station_pickup", "station_code": shop.other_station_code})
    response = await client.post("/api/v1/orders", json=nearest)
    assert response.status_code == 201, response.text
    assert response.json()["station"]["code"] == shop.station_code
    assert response.json()["station_reason"] == "所选村站 ST-SHOP-2 已满，改派离所选村站最近的可用村站"


PHONES_REFUSED = [
    ("landline", "0751-1234567", "固定电话收不到短信"),
    ("hong kong", "+852 6123 4567", "暂不支持中国大陆以外的号码（+852）"),
    ("united states", "+1 650 253 0000", "暂不支持中国大陆以外的号码（+1）"),
    ("too short", "1380013800", "手机号码无效"),
]


@pytest.mark.parametrize("case", PHONES_REFUSED, ids=[c[0] for c in PHONES_REFUSED])
@pytest.mark.parametrize("method", ["station_pickup", "home_delivery"])
async def test_the_contact_must_be_a_mainland_mobile(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, case: tuple[str, str, str], method: str
) -> None:
    """The pickup code and every notice go by SMS only: a number that cannot receive one is refused
    with the field named, for pickup and (decided) home delivery alike."""
    _, phone, message = case
    delivery: dict[str, Any] = {"method": "station_pickup", "station_code": shop.station_code}
    if method == "home_delivery":
        delivery = {"method": "home_delivery", "address": {"township": "太平镇", "detail": "东湖坪村 8 号"}}
    body = order_body(shop, contact={"name": "李阿姨", "phone": phone}, delivery=delivery)
    response = await client.post("/api/v1/orders", json=body)
    assert response.status_code == 422, response.text
    (detail,) = response.json()["detail"]
    assert detail["field"] == "contact.phone" and detail["message"].startswith(message)
    if message != "手机号码无效":
        assert detail["message"].endswith("请填写中国大陆手机号（11 位，1 开头）：取货码和订单通知只通过短信发送")
    assert await db_session.scalar(select(func.count()).select_from(Order)) == 0


async def test_a_mainland_mobile_in_any_common_form_is_accepted(client: httpx.AsyncClient, shop: Shop) -> None:
    for phone in ("13800138000", "+86 138 0013 8000", "138-0013-8000", "008613800138000"):
        response = await client.post("/api/v1/orders", json=order_body(shop, contact={"name": "李", "phone": phone}))
        assert response.status_code == 201, (phone, response.text)
        assert response.json()["contact_phone_masked"] == "138****8000"


async def test_online_payment_needs_stripe(client: httpx.AsyncClient, shop: Shop) -> None:
    small = {
        "lines": [{"sku": shop.taro_sku, "quantity": "0.5"}],
        "payment_method": "stripe",
        "delivery": {"method": "home_delivery", "address": {"township": "马市镇", "detail": "红梨村 12 号"}},
    }
    # Stripe is not configured in this app: online payment is refused, nothing is created.
    refused = await client.post("/api/v1/orders", json=order_body(shop, **small))
    assert refused.status_code == 422 and refused.json()["error"] == "payment_provider_unavailable"
    cash_home = order_body(shop, **{**small, "payment_method": "pay_at_pickup"})
    assert (await client.post("/api/v1/orders", json=cash_home)).json()["error"] == "payment_not_allowed"


async def test_same_key_one_order_different_body_422(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    headers = {"Idempotency-Key": "checkout-abc"}
    first = await client.post("/api/v1/orders", json=order_body(shop), headers=headers)
    again = await client.post("/api/v1/orders", json=order_body(shop), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["number"] == again.json()["number"]
    assert await db_session.scalar(select(func.count()).select_from(Order)) == 1
    changed = await client.post("/api/v1/orders", json=order_body(shop, note="多一点"), headers=headers)
    assert changed.status_code == 422 and changed.json()["error"] == "idempotency_key_reused"
    assert await db_session.scalar(select(func.count()).select_from(Order)) == 1


BAD_LINES: list[tuple[str, list[dict[str, Any]], str]] = [
    ("zero", [{"sku": "SHOP-BOX", "quantity": "0"}], "quantity_not_positive"),
    ("negative", [{"sku": "SHOP-BOX", "quantity": "-1"}], "quantity_not_positive"),
    ("non-step", [{"sku": "SHOP-BOX", "quantity": "1.5"}], "quantity_not_in_increment"),
    ("below minimum", [{"sku": "SHOP-TARO", "quantity": "0.2"}], "below_minimum_order"),
    ("too precise", [{"sku": "SHOP-TARO", "quantity": "1.2345"}], "invalid_quantity"),
    ("unknown sku", [{"sku": "NOPE", "quantity": "1"}], "unknown_sku"),
    ("float", [{"sku": "SHOP-BOX", "quantity": 1.5}], "validation_error"),
    ("exponent", [{"sku": "SHOP-BOX", "quantity": "1e3"}], "invalid_quantity"),
    ("infinity", [{"sku": "SHOP-BOX", "quantity": "Infinity"}], "invalid_quantity"),
    ("99,999,999 boxes", [{"sku": "SHOP-BOX", "quantity": "99999999"}], "quantity_above_line_maximum"),
    ("100,000 kg", [{"sku": "SHOP-TARO", "quantity": "100000"}], "quantity_above_line_maximum"),
    ("51 boxes as an integer", [{"sku": "SHOP-BOX", "quantity": 51}], "quantity_above_line_maximum"),
]


@pytest.mark.parametrize("case", BAD_LINES, ids=[c[0] for c in BAD_LINES])
async def test_bad_lines_change_nothing(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, case: tuple[str, list[dict[str, Any]], str]
) -> None:
    _, lines, error = case
    before = await supply_repository.stored_levels(db_session)
    response = await client.post("/api/v1/orders", json=order_body(shop, lines=lines))
    assert 400 <= response.status_code < 500 and response.json()["error"] == error, response.text
    assert await db_session.scalar(select(func.count()).select_from(Order)) == 0
    assert await supply_repository.stored_levels(db_session) == before


async def test_client_prices_are_ignored(client: httpx.AsyncClient, shop: Shop) -> None:
    body = order_body(
        shop,
        lines=[{"sku": shop.box_sku, "quantity": "1", "unit_price_minor": 1, "price": "0.01"}],
        total_minor=1,
        subtotal_minor=1,
    )
    response = await client.post("/api/v1/orders", json=body)
    assert response.status_code == 201 and response.json()["total_minor"] == 6800


async def test_malformed_orders(client: httpx.AsyncClient, shop: Shop) -> None:
    cases = [
        order_body(shop, contact={"name": "李", "phone": "12345"}),
        order_body(shop, payment_method="cash"),
        order_body(shop, lines=[]),
        order_body(shop, delivery={"method": "teleport"}),
        order_body(shop, delivery={"method": "home_delivery"}),
        order_body(shop, lines=[{"sku": shop.box_sku, "quantity": "1"}] * 51),
    ]
    for body in cases:
        response = await client.post("/api/v1/orders", json=body)
        assert response.status_code == 422 and response.json()["error"] == "validation_error", body
    huge = await client.post(
        "/api/v1/orders",
        content=b'{"lines": [' + b'{"sku":"X","quantity":"1"},' * 80000 + b"]}",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413 and huge.json()["error"] == "payload_too_large"


async def test_out_of_stock_names_the_short_lines(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop
) -> None:
    body = order_body(shop, lines=[{"sku": shop.box_sku, "quantity": "11"}, {"sku": shop.taro_sku, "quantity": "60"}])
    response = await client.post("/api/v1/orders", json=body)
    assert response.status_code == 409 and response.json()["error"] == "insufficient_stock"
    assert [(line["sku"], line["available"]) for line in response.json()["detail"]["lines"]] == [
        (shop.box_sku, "10"),
        (shop.taro_sku, "50"),
    ]
    assert await db_session.scalar(select(func.count()).select_from(Order)) == 0


async def test_who_may_read_an_order(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> None:
    alice = await make_user(db_session, Role.customer)
    bob = await make_user(db_session, Role.customer)
    alice_h, bob_h = auth(await token_for(db_session, alice)), auth(await token_for(db_session, bob))
    placed = await client.post("/api/v1/orders", json=order_body(shop), headers=alice_h)
    number = placed.json()["number"]
    assert (await client.get(f"/api/v1/orders/{number}", headers=alice_h)).status_code == 200
    assert (await client.get(f"/api/v1/orders/{number}", headers=bob_h)).status_code == 404
    assert (await client.get(f"/api/v1/orders/{number}")).status_code == 404
    assert (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "13900000000"})).status_code == 404
    guest = await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "138 0013 8000"})
    assert guest.status_code == 200 and guest.json()["number"] == number
    staff = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    assert (await client.get(f"/api/v1/orders/{number}", headers=staff)).status_code == 200
    mine = await client.get("/api/v1/me/orders", headers=alice_h)
    assert [o["number"] for o in mine.json()] == [number]
    assert (await client.get("/api/v1/me/orders", headers=bob_h)).json() == []


async def test_guest_lookups_are_limited(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> None:
    number = (await client.post("/api/v1/orders", json=order_body(shop))).json()["number"]
    statuses = [
        (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": f"1390000000{i}"})).status_code
        for i in range(10)
    ]
    assert statuses == [404] * 10
    assert (await client.get(f"/api/v1/orders/{number}", headers={"X-Order-Phone": "13800138000"})).status_code == 429


async def test_cancel_releases_the_stock(client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop) -> None:
    number = (await client.post("/api/v1/orders", json=order_body(shop))).json()["number"]
    cancelled = await client.post(
        f"/api/v1/orders/{number}/cancel", headers={"X-Order-Phone": "13800138000"}, json={"reason": "买错了"}
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    held = await db_session.scalar(select(Reservation).where(Reservation.reference == f"order:{number}"))
    assert held is not None and held.status is ReservationStatus.released
    again = await client.post(
        f"/api/v1/orders/{number}/cancel", headers={"X-Order-Phone": "13800138000"}, json={"reason": "再取消"}
    )
    assert again.status_code == 409
    assert await supply_repository.rebuilt_levels(db_session) == await supply_repository.stored_levels(db_session)


async def test_unpaid_online_orders_expire(db_session: AsyncSession, shop: Shop) -> None:
    from app.catalog.pricing import LineRequest
    from app.orders.models import DeliveryMethod, PaymentMethod
    from app.shop import checkout

    order = await checkout.place_order(
        db_session,
        checkout.PlaceOrder(
            lines=[LineRequest(shop.box_sku, "3")],
            delivery_method=DeliveryMethod.station_pickup,
            contact_name="张",
            contact_phone="+8613800138001",
            payment_method=PaymentMethod.stripe,
            station_code=shop.station_code,
        ),
        stripe_enabled=True,
    )
    assert order.status is OrderStatus.pending_payment and order.payment_due_at is not None
    assert await expiry.expire_unpaid(db_session, now=datetime.now(UTC)) == []
    assert await expiry.remind_expiring(db_session, now=datetime.now(UTC)) == []
    soon = datetime.now(UTC) + timedelta(minutes=12)
    assert await expiry.remind_expiring(db_session, now=soon) == [order.number]
    assert await expiry.remind_expiring(db_session, now=soon) == []
    later = datetime.now(UTC) + timedelta(minutes=16)
    assert await expiry.expire_unpaid(db_session, now=later) == [order.number]
    assert await expiry.expire_unpaid(db_session, now=later) == []
    await db_session.refresh(order)
    assert order.status is OrderStatus.expired
    held = await db_session.scalar(select(Reservation).where(Reservation.reference == f"order:{order.number}"))
    assert held is not None and held.status is ReservationStatus.released
    kinds = (
        await db_session.scalars(select(OrderEvent.kind).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id))
    ).all()
    assert list(kinds) == ["placed", "expiry_reminder", "expired"]
    told = (
        await db_session.scalars(
            select(NotificationMessage.template)
            .where(NotificationMessage.reference == order.number)
            .order_by(NotificationMessage.id)
        )
    ).all()
    assert list(told) == ["order_expiring", "order_expired"]


async def test_an_order_number_clash_is_drawn_again(
    client: httpx.AsyncClient, db_session: AsyncSession, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.orders import service

    first = (await client.post("/api/v1/orders", json=order_body(shop))).json()["number"]
    draws = iter([first, "NP991231000001"])
    monkeypatch.setattr(service, "new_order_number", lambda _today: next(draws))
    second = await client.post("/api/v1/orders", json=order_body(shop))
    assert second.status_code == 201, second.text
    assert second.json()["number"] == "NP991231000001"
    held = await db_session.scalar(select(Reservation).where(Reservation.reference == "order:NP991231000001"))
    assert held is not None and held.status is ReservationStatus.active
    # The attempt on the taken number wrote no line and no event (the order, its lines and its
    # events are one statement): each order has its own two lines and its one event.
    for number in (first, "NP991231000001"):
        lines = await db_session.scalar(
            select(func.count()).select_from(OrderLine).join(Order).where(Order.number == number)
        )
        events = await db_session.scalar(
            select(func.count()).select_from(OrderEvent).join(Order).where(Order.number == number)
        )
        assert (lines, events) == (2, 1)
