"""The till's upload (issue 14, items 3, 5, 7, 8, 9): ``POST /api/v1/pos/sync`` records a shift's
opening, cash in and out, sales and the close, each exactly once per client id; a refused
operation records nothing and does not stop the ones after it."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.orders.models import Order, OrderLine
from app.pos.sale_models import CashMovement, Sale, SaleLine, Shift, StockException, Tender
from app.supply.models import StockLevel
from tests.fixtures.pos_sales import (
    T0,
    book_agrees,
    cash,
    line,
    make_shop,
    sale,
    shift_close,
    shift_open,
    sign_in,
    upload,
)


async def test_a_shift_with_a_sale_is_recorded_on_the_order_pipeline(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open(20000)
        sold = sale(
            shop,
            opened["client_id"],
            [line(shop.box, "2", 1280), line(shop.jin, "1.5", 1680, source="plu_key", grams=750)],
            tenders=[{"method": "cash", "amount_minor": 10000}],
        )
        results = await upload(client, clerk, opened, sold)
    assert [r["outcome"] for r in results] == ["recorded", "recorded"], results
    assert results[1]["number"] == sold["number"]
    assert results[1]["public_url"].endswith(f"/r/{sold['client_id']}")
    row = await db_session.scalar(select(Sale).where(Sale.number == sold["number"]))
    assert row is not None
    assert (row.subtotal_minor, row.total_minor, row.tendered_minor, row.change_minor) == (5080, 5080, 10000, 4920)
    order = await db_session.get(Order, row.order_id)
    assert order is not None
    assert (order.channel, order.status, order.payment_status, order.fulfilment_status, order.payment_method) == (
        "pos",
        "completed",
        "paid",
        "handed_over",
        "pos_cash",
    )
    assert order.number == sold["number"] and order.paid_minor == 5080 and order.location_id == shop.location.id
    lines = (await db_session.scalars(select(OrderLine).where(OrderLine.order_id == order.id))).all()
    assert [(ln.sku, ln.quantity, ln.line_total_minor) for ln in lines] == [
        (shop.box.sku, Decimal("2.000"), 2560),
        (shop.jin.sku, Decimal("1.500"), 2520),
    ]
    assert await db_session.scalar(select(func.count()).select_from(SaleLine).where(SaleLine.sale_id == row.id)) == 2
    assert await db_session.scalar(select(func.count()).select_from(Tender).where(Tender.sale_id == row.id)) == 1
    on_hand = await db_session.scalar(
        select(func.sum(StockLevel.on_hand)).where(
            StockLevel.location_id == shop.location.id, StockLevel.variant_id == shop.box.id
        )
    )
    assert on_hand == Decimal("18.000")
    await book_agrees(db_session, shop.location.id)


async def test_cash_in_and_a_balanced_close_close_the_shift(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open(10000)
        sid = opened["client_id"]
        sold = sale(shop, sid, [line(shop.box, "1", 1280)], tenders=[{"method": "cash", "amount_minor": 2000}])
        # float 100.00 + 12.80 + cash in 50.00 = 162.80
        results = await upload(
            client,
            clerk,
            opened,
            sold,
            cash("in", 5000, sid),
            shift_close(sid, {10000: 1, 5000: 1, 1000: 1, 100: 2, 50: 1, 10: 3}),
        )
    assert [r["outcome"] for r in results] == ["recorded"] * 4, results
    shift = await db_session.scalar(select(Shift).where(Shift.client_id == uuid.UUID(sid)))
    assert shift is not None
    assert (shift.status, shift.expected_cash_minor, shift.counted_cash_minor, shift.variance_minor) == (
        "closed",
        16280,
        16280,
        0,
    )
    assert await db_session.scalar(select(func.count()).select_from(CashMovement)) >= 1
    assert await db_session.scalar(select(func.count()).select_from(StockException)) == 0


async def test_the_same_batch_uploaded_twice_records_each_operation_once(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open()
        sid = opened["client_id"]
        batch = [
            opened,
            sale(shop, sid, [line(shop.box, "1", 1280)]),
            cash("in", 1000, sid),
            sale(shop, sid, [line(shop.jin, "0.5", 1680)]),
            shift_close(sid, {10000: 2, 1000: 3, 100: 1, 10: 2}),
        ]
        first = await upload(client, clerk, *batch)
        again = await upload(client, clerk, *batch)
    assert [r["outcome"] for r in first] == ["recorded"] * 5, first
    assert [r["outcome"] for r in again] == ["duplicate"] * 5, again
    assert [r["number"] for r in again] == [r["number"] for r in first]
    assert [r["public_url"] for r in again] == [r["public_url"] for r in first]
    sales = await db_session.scalar(select(func.count()).select_from(Sale).where(Sale.store_id == shop.store.id))
    orders = await db_session.scalar(
        select(func.count()).select_from(Order).where(Order.number.startswith(shop.till.sale_prefix))
    )
    assert (sales, orders) == (2, 2)
    on_hand = await db_session.scalar(
        select(func.sum(StockLevel.on_hand)).where(
            StockLevel.location_id == shop.location.id, StockLevel.variant_id == shop.box.id
        )
    )
    assert on_hand == Decimal("19.000")
    await book_agrees(db_session, shop.location.id)


async def test_a_refused_operation_records_nothing_and_the_next_ones_still_land(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open()
        sid = opened["client_id"]
        wrong_total = sale(shop, sid, [line(shop.box, "2", 1280, line_total_minor=2500)])
        change_without_cash = sale(
            shop,
            sid,
            [line(shop.box, "1", 1280)],
            tenders=[{"method": "qr", "wallet": "alipay", "amount_minor": 2000}],
            change_minor=720,
        )
        qr_without_wallet = sale(
            shop, sid, [line(shop.box, "1", 1280)], tenders=[{"method": "qr", "amount_minor": 1280}]
        )
        wrong_sku = sale(shop, sid, [line(shop.box, "1", 1280, sku=shop.jin.sku)])
        half_a_box = sale(shop, sid, [line(shop.box, "0.5", 1280)])
        foreign_number = sale(shop, sid, [line(shop.box, "1", 1280)], number="XX-000001")
        good = sale(shop, sid, [line(shop.box, "1", 1280)])
        results = await upload(
            client, clerk, opened, wrong_total, change_without_cash, qr_without_wallet, wrong_sku, half_a_box,
            foreign_number, good,
        )  # fmt: skip
    assert [(r["outcome"], (r["error"] or {}).get("code")) for r in results] == [
        ("recorded", None),
        ("rejected", "sale_arithmetic_wrong"),
        ("rejected", "sale_arithmetic_wrong"),
        ("rejected", "sale_arithmetic_wrong"),
        ("rejected", "sale_line_invalid"),
        ("rejected", "sale_line_invalid"),
        ("rejected", "sale_number_invalid"),
        ("recorded", None),
    ]
    assert all(r["error"]["message"] for r in results if r["outcome"] == "rejected")
    assert await db_session.scalar(select(func.count()).select_from(Sale).where(Sale.store_id == shop.store.id)) == 1
    await book_agrees(db_session, shop.location.id)


async def test_shift_rules_one_open_per_till_denominations_and_a_closed_shift(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open(0)
        sid = opened["client_id"]
        second = shift_open(0)
        unknown = sale(shop, str(uuid.uuid4()), [line(shop.box, "1", 1280)])
        bad_coin = shift_close(sid, {2: 5})
        close = shift_close(sid, {})
        close_again = shift_close(sid, {})
        late_sale = sale(shop, sid, [line(shop.box, "1", 1280)])
        late_cash = cash("in", 100, sid)
        results = await upload(
            client, clerk, opened, second, unknown, bad_coin, close, close_again, late_sale, late_cash
        )
        reopened = shift_open(0)
        after = await upload(client, clerk, reopened)
    assert [(r["outcome"], (r["error"] or {}).get("code")) for r in results] == [
        ("recorded", None),
        ("rejected", "shift_already_open"),
        ("rejected", "shift_unknown"),
        ("rejected", "denomination_unknown"),
        ("recorded", None),
        ("duplicate", None),
        ("rejected", "shift_closed"),
        ("rejected", "shift_closed"),
    ]
    assert after[0]["outcome"] == "recorded"


async def test_a_variance_needs_a_manager_online_and_waits_for_one_offline(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    from app.pos import errors, shifts

    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open(10000)
        sid = opened["client_id"]
        short_online = shift_close(sid, {5000: 1})
        short_offline = shift_close(sid, {5000: 1}, made_offline=True)
        results = await upload(client, clerk, opened, short_online, short_offline)
    assert [(r["outcome"], (r["error"] or {}).get("code")) for r in results] == [
        ("recorded", None),
        ("rejected", "variance_needs_approval"),
        ("recorded", None),
    ]
    shift = await db_session.scalar(select(Shift).where(Shift.client_id == uuid.UUID(sid)))
    assert shift is not None
    assert (shift.variance_minor, shift.variance_status, shift.closed_offline) == (-5000, "pending", True)
    try:
        await shifts.confirm_variance(db_session, shift.id, shop.clerk.id)
    except errors.NotStoreManager:
        pass
    else:
        raise AssertionError("a clerk confirmed a variance")
    confirmed = await shifts.confirm_variance(db_session, shift.id, shop.manager.id)
    assert (confirmed.variance_status, confirmed.variance_approved_by_id) == ("approved", shop.manager.id)


async def test_a_manager_at_the_till_needs_no_pin_for_cash_out_discount_or_variance(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        manager = await sign_in(client, shop, shop.manager)
        clerk_shop_clerk = shop.clerk
        opened = shift_open(10000)
        sid = opened["client_id"]
        big_discount = sale(shop, sid, [line(shop.box, "10", 1280)], discount_minor=3000, discount_reason="临期")
        results = await upload(
            client, manager, opened, big_discount, cash("out", 2000, sid, reason="存银行"), shift_close(sid, {100: 1})
        )
    assert [r["outcome"] for r in results] == ["recorded"] * 4, results
    row = await db_session.scalar(select(Sale).where(Sale.number == big_discount["number"]))
    assert row is not None and row.discount_approved_by_id == shop.manager.id
    assert row.clerk_id != clerk_shop_clerk.id


async def test_a_sale_beyond_the_book_is_recorded_with_a_stock_exception_and_the_book_stops_at_zero(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session, box_stock="3")
        clerk = await sign_in(client, shop)
        opened = shift_open()
        sid = opened["client_id"]
        offline = sale(shop, sid, [line(shop.box, "5", 1280), line(shop.jin, "1", 1680)], made_offline=True)
        results = await upload(client, clerk, opened, offline)
    assert [r["outcome"] for r in results] == ["recorded", "recorded"], results
    row = await db_session.scalar(select(Sale).where(Sale.number == offline["number"]))
    assert row is not None and row.made_offline
    shorts = (await db_session.scalars(select(SaleLine.short_quantity).where(SaleLine.sale_id == row.id))).all()
    assert sorted(shorts) == [Decimal("0.000"), Decimal("2.000")]
    exceptions = (await db_session.scalars(select(StockException).where(StockException.sale_id == row.id))).all()
    assert [(e.variant_id, e.quantity, e.status, e.location_id) for e in exceptions] == [
        (shop.box.id, Decimal("2.000"), "open", shop.location.id)
    ]
    box_on_hand = await db_session.scalar(
        select(func.sum(StockLevel.on_hand)).where(
            StockLevel.location_id == shop.location.id, StockLevel.variant_id == shop.box.id
        )
    )
    assert box_on_hand == Decimal("0.000")
    await book_agrees(db_session, shop.location.id)


async def test_the_tills_price_stands_and_the_list_price_is_kept_when_it_differs(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open()
        sid = opened["client_id"]
        # The till still had yesterday's price of ¥12.00 when it sold offline.
        old_price = sale(shop, sid, [line(shop.box, "2", 1200)], made_offline=True)
        results = await upload(client, clerk, opened, old_price)
        assert [r["outcome"] for r in results] == ["recorded", "recorded"], results
        detail = await client.get(f"/api/v1/pos/sales/{old_price['number']}", headers=clerk)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert (body["price_differs"], body["total_minor"]) == (True, 2400)
    (only,) = body["lines"]
    assert (only["unit_price_minor"], only["line_total_minor"]) == (1200, 2400)
    assert (only["list_unit_price_minor"], only["list_line_total_minor"]) == (1280, 2560)
    assert [lot["quantity"] for lot in only["lots"]] == ["2"]
    assert only["lots"][0]["trace_url"].endswith(f"/t/{only['lots'][0]['lot_code']}")
    assert body["public_url"].endswith(f"/r/{old_price['client_id']}")
    assert (body["clerk_username"], body["till_code"], body["store_code"]) == (
        shop.clerk.username,
        shop.till.code,
        shop.store.code,
    )
    assert body["tenders"] == [{"method": "cash", "wallet": None, "amount_minor": 2400, "reference_tail": ""}]


async def test_the_session_says_where_the_tills_numbering_and_shift_stand(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        before = (await client.get("/api/v1/pos/session", headers=clerk)).json()
        assert (before["next_sale_seq"], before["open_shift"], before["discount_limit_percent"]) == (1, None, 10)
        assert before["is_manager"] is False
        opened = shift_open(5000)
        shop.seq = 41
        await upload(client, clerk, opened, sale(shop, opened["client_id"], [line(shop.box, "1", 1280)]))
        after = (await client.get("/api/v1/pos/session", headers=clerk)).json()
        manager = await client.post(
            "/api/v1/pos/session",
            headers={"X-Till-Token": shop.device},
            json={"username": shop.manager.username, "pin": "2580"},
        )
    assert after["next_sale_seq"] == 43
    assert after["open_shift"]["client_id"] == opened["client_id"]
    assert after["open_shift"]["float_minor"] == 5000
    assert manager.json()["is_manager"] is True and manager.json()["next_sale_seq"] == 43


async def test_a_number_another_sale_has_is_refused(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open()
        first = sale(shop, opened["client_id"], [line(shop.box, "1", 1280)])
        clash = sale(shop, opened["client_id"], [line(shop.box, "1", 1280)], number=first["number"])
        results = await upload(client, clerk, opened, first, clash)
    assert [(r["outcome"], (r["error"] or {}).get("code")) for r in results] == [
        ("recorded", None),
        ("recorded", None),
        ("rejected", "sale_number_taken"),
    ]


async def test_scale_labels_keep_their_weight_and_a_price_label_its_price(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open()
        weighed = line(shop.jin, "1.506", 1680, source="weight_label", code="2000101007530", grams=753)
        # ¥20.00 printed by the scale at ¥16.80 / 斤: 1.19 斤, and the line is the label's ¥20.00.
        labelled = line(shop.jin, "1.19", 1680, source="price_label", code="2500101020004", line_total_minor=2000)
        sold = sale(shop, opened["client_id"], [weighed, labelled])
        results = await upload(client, clerk, opened, sold)
        assert [r["outcome"] for r in results] == ["recorded", "recorded"], results
        detail = (await client.get(f"/api/v1/pos/sales/{sold['number']}", headers=clerk)).json()
    assert [(ln["source"], ln["quantity"], ln["grams"], ln["line_total_minor"]) for ln in detail["lines"]] == [
        ("weight_label", "1.506", 753, 2530),  # 2530.08 fen, rounded once
        ("price_label", "1.19", None, 2000),
    ]
    assert detail["price_differs"] is False and detail["total_minor"] == 4530


async def test_a_sale_is_found_by_its_client_id_for_its_public_page(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    from app.pos import sale_detail

    with clock.pinned(T0):
        shop = await make_shop(db_session)
        clerk = await sign_in(client, shop)
        opened = shift_open()
        sold = sale(shop, opened["client_id"], [line(shop.box, "1", 1280)])
        await upload(client, clerk, opened, sold)
        found = await sale_detail.sale_by_client_id(db_session, uuid.UUID(sold["client_id"]))
        missing = await sale_detail.sale_by_client_id(db_session, uuid.uuid4())
    assert found is not None and found.number == sold["number"] and missing is None
    assert [lot.lot_code for lot in found.lines[0].lots]
