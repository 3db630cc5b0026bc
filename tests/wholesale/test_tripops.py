"""The warehouse side of a PRD trip through the services (rolled back per test): the pick list and
load manifest built from the trip's live orders and the lots their reservations hold (a constant
number of queries), packing with every wrong line named, case labels, and dispatch — refused
while an order is unpacked, else selling exactly the packed quantities FEFO and releasing the rest
(ledger and stock levels agree), once only.

Sunday 6 December 2026, noon in China; the route runs Tue / Thu / Sat to 广州 then 佛山."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.catalog.models import PriceListKind, Variant
from app.kit.errors import AppError
from app.kit.quantities import Unit
from app.notifications.models import NotificationMessage
from app.orders import repository as orders_repository
from app.orders import service as orders_service
from app.orders.models import FulfilmentStatus, OrderLine
from app.supply import reservations
from app.supply.models import Lot, Reservation, ReservationStatus, StockLedgerEntry, StockLevel
from app.wholesale import case_labels, ordering, packing, trip_errors, trips
from app.wholesale import packing_errors as errors
from app.wholesale.ordering import BasketLine, PlacedOrder
from app.wholesale.trip_documents import manifest_pdf, pick_list_pdf
from app.wholesale.trip_models import TripStatus
from tests.fixtures.builders import ensure_price_list, ensure_warehouse, make_product, receive, seq, set_price
from tests.fixtures.wholesale_documents import page_count
from tests.fixtures.wholesale_orders import Buyer, buyer, supply_sku
from tests.kit.test_pdf import check
from tests.orders.test_order_read_model import counting
from tests.wholesale.test_documents import barcodes, page_texts

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")

TUE = date(2026, 12, 8)


async def weighed_sku(session: AsyncSession, *, stock: str = "200", case_pack: int = 10) -> Variant:
    """A supply SKU sold by the kilogram, ``case_pack`` kg a case."""
    from app.catalog import schemas
    from app.catalog import service as catalog

    await ensure_price_list(session, "wholesale", PriceListKind.wholesale)
    await ensure_warehouse(session)
    n = seq()
    product = await make_product(session, name_zh=f"鲜笋{n}", shelf_life_days=60)
    variant = await catalog.create_variant(
        session,
        product.id,
        schemas.VariantIn.model_validate(
            {
                "sku": f"W-KG-{n}",
                "name_zh": "散装（按千克）",
                "name_en": "loose, by kg",
                "unit": Unit.kg.value,
                "net_weight_grams": 1000,
                "case_pack": case_pack,
                "is_supply_sku": True,
            }
        ),
    )
    await set_price(session, "wholesale", variant, 1200)
    await receive(session, variant, stock)
    return variant


async def two_lot_sku(session: AsyncSession) -> tuple[Variant, Lot, Lot]:
    """A piece SKU (20 a case) with 100 in an earlier lot and 300 in a later one."""
    sku = await supply_sku(session, stock="0", case_pack=20)
    early = await receive(session, sku, "100", best_before=date(2027, 1, 20))
    late = await receive(session, sku, "300", best_before=date(2027, 2, 20))
    return sku, early, late


async def place(session: AsyncSession, who: Buyer, lines: list[BasketLine]) -> PlacedOrder:
    return await ordering.place_order(session, who.principal, lines, address_id=who.address.id, requested_trip_date=TUE)


async def pack_all(session: AsyncSession, work: packing.TripWork, **typed_by_sku: str) -> None:
    for o in work.orders:
        typed = {p.line.id: typed_by_sku.get(p.line.sku, "") or f"{p.line.quantity}" for p in o.lines}
        await packing.pack_order(session, work.trip.number, o.order.number, typed, actor_user_id=None)


async def test_the_pick_list_and_manifest_come_from_the_trips_live_orders(db_session: AsyncSession) -> None:
    sku, early, late = await two_lot_sku(db_session)
    foshan = await buyer(db_session, city="佛山")
    guangzhou = await buyer(db_session, city="广州")
    small = await buyer(db_session, city="广州", credit_limit_minor=100)  # over its limit: held
    a = await place(db_session, foshan, [BasketLine(sku.sku, cases=3)])  # 60
    b = await place(db_session, guangzhou, [BasketLine(sku.sku, cases=6)])  # 120
    held = await place(db_session, small, [BasketLine(sku.sku, cases=1)])
    gone = await place(db_session, guangzhou, [BasketLine(sku.sku, cases=1)])
    await orders_service.cancel(db_session, gone.order, reason="测试", actor_user_id=None)
    number = a.trip.trip.number
    assert b.trip.trip.number == held.trip.trip.number == number

    picks = await packing.pick_list(db_session, number)
    sheet = await packing.manifest(db_session, number)

    # 广州 comes before 佛山 on the route; the held and the cancelled order are not loaded.
    assert [s.city for s in sheet.stops] == ["广州", "佛山"]
    assert [s.order_numbers for s in sheet.stops] == [(b.order.number,), (a.order.number,)]
    assert [(s.position, s.company, s.cases) for s in sheet.stops] == [
        (1, guangzhou.company.name, Decimal(6)),
        (2, foshan.company.name, Decimal(3)),
    ]
    assert sheet.stops[0].receiving_hours == "06:00–10:00" and sheet.stops[0].address == guangzhou.address.address
    rows = {r.order_number: r for r in picks.rows}
    assert set(rows) == {a.order.number, b.order.number}
    # The lots each reservation holds, FEFO: the first order took 60 of the early lot, the second
    # its other 40 and 80 of the late one.
    assert [(lot.lot_code, lot.quantity) for lot in rows[a.order.number].lots] == [(early.code, Decimal(60))]
    assert [(lot.lot_code, lot.best_before, lot.quantity) for lot in rows[b.order.number].lots] == [
        (early.code, early.best_before, Decimal(40)),
        (late.code, late.best_before, Decimal(80)),
    ]
    assert (rows[b.order.number].stop_position, rows[b.order.number].case_pack) == (1, Decimal(20))
    assert picks.trip.trip_number == number and picks.trip.cold_chain

    pick_text = "".join(page_texts(pick_list_pdf(picks)))
    manifest_text = "".join(page_texts(manifest_pdf(sheet)))
    for text in (pick_text, manifest_text):
        assert a.order.number in text and b.order.number in text
        assert held.order.number not in text and gone.order.number not in text
    assert early.code in pick_text and late.code in pick_text


async def test_reading_a_trip_costs_the_same_queries_for_2_or_8_orders(
    db_session: AsyncSession, engine: AsyncEngine
) -> None:
    sku = await supply_sku(db_session, stock="2000")
    kg = await weighed_sku(db_session, stock="500")
    buyers = [await buyer(db_session, city="广州") for _ in range(4)]
    first = await place(db_session, buyers[0], [BasketLine(sku.sku, cases=1), BasketLine(kg.sku, cases=1)])
    await place(db_session, buyers[1], [BasketLine(sku.sku, cases=2)])
    number = first.trip.trip.number
    with counting(engine) as small:
        few = await packing.pick_list(db_session, number)
    for who in buyers + buyers[:2]:
        await place(db_session, who, [BasketLine(sku.sku, cases=1), BasketLine(kg.sku, cases=1)])
    with counting(engine) as large:
        many = await packing.pick_list(db_session, number)
        await packing.manifest(db_session, number)
    assert len(few.rows) == 3 and len(many.rows) == 3 + 12
    assert small.count <= 6
    assert large.count == 2 * small.count  # pick list + manifest, each the same few statements


async def test_every_wrong_packed_quantity_is_named_and_nothing_changes(db_session: AsyncSession) -> None:
    sku = await supply_sku(db_session, stock="400")
    kg = await weighed_sku(db_session)
    who = await buyer(db_session)
    placed = await place(db_session, who, [BasketLine(sku.sku, cases=2), BasketLine(kg.sku, cases=2)])
    number = placed.trip.trip.number
    lines = {line.sku: line for line in placed.order.lines}
    piece, weighed = lines[sku.sku], lines[kg.sku]

    for typed, messages in (
        ({piece.id: "40", weighed.id: ""}, {kg.sku: "请填写称重后的数量"}),
        (
            {piece.id: "41", weighed.id: "20.001"},
            {sku.sku: "不能多于订购数量 40 个", kg.sku: "不能多于订购数量 20 千克"},
        ),
        ({piece.id: "-1", weighed.id: "abc"}, {sku.sku: "数量不能为负数", kg.sku: "数量请写成普通数字"}),
        ({piece.id: "39.5", weighed.id: "19.5"}, {sku.sku: "按个计的商品须为整数"}),
    ):
        with pytest.raises(errors.PackingInvalid) as refused:
            await packing.pack_order(db_session, number, placed.order.number, typed, actor_user_id=None)
        assert refused.value.status_code == 422
        got = {p["sku"]: p["message"] for p in refused.value.detail["lines"]}
        assert set(got) == set(messages) and all(got[k].startswith(v) for k, v in messages.items()), got

    work = await packing.trip_work(db_session, number)
    assert work.trip.status is TripStatus.planned and work.unpacked[0].order.number == placed.order.number
    assert all(p.line.packed_quantity is None for p in work.orders[0].lines)

    # A fixed-unit line left out takes the ordered count; the weighed one the scale's reading.
    packed = await packing.pack_order(
        db_session, number, placed.order.number, {weighed.id: "19.85"}, actor_user_id=None
    )
    assert {p.line.sku: p.line.packed_quantity for p in packed.lines} == {
        sku.sku: Decimal(40),
        kg.sku: Decimal("19.85"),
    }
    work = await packing.trip_work(db_session, number)
    assert work.trip.status is TripStatus.loading and not work.unpacked  # packing started the loading
    with pytest.raises(errors.TripOrderNotFound):
        await packing.pack_order(db_session, number, "W-NOPE", {}, actor_user_id=None)

    # The buyer can no longer cancel a packed order.
    order = await orders_repository.order_by_number(db_session, placed.order.number)
    assert order is not None
    with pytest.raises(AppError) as no_cancel:
        await orders_service.cancel(db_session, order, reason="不要了", actor_user_id=None)
    assert no_cancel.value.status_code == 409


async def test_case_labels_number_each_case_of_a_packed_order(db_session: AsyncSession) -> None:
    sku, early, late = await two_lot_sku(db_session)
    kg = await weighed_sku(db_session)
    who = await buyer(db_session)
    placed = await place(db_session, who, [BasketLine(sku.sku, cases=6), BasketLine(kg.sku, cases=2)])
    number = placed.trip.trip.number
    with pytest.raises(errors.OrderNotPacked):
        await packing.case_labels(db_session, number, placed.order.number)
    lines = {line.sku: line for line in placed.order.lines}
    await packing.pack_order(db_session, number, placed.order.number, {lines[kg.sku].id: "14.5"}, actor_user_id=None)

    labels = await packing.case_labels(db_session, number, placed.order.number)

    # 120 pieces = 6 cases (5 from the early lot, the rest from the late one) + 14.5 kg = 2 cases.
    assert [(label.case_number, label.case_count) for label in labels] == [(n, 8) for n in range(1, 9)]
    assert [label.lot_codes for label in labels[:6]] == [(early.code,)] * 5 + [(late.code,)]
    assert [label.quantity for label in labels[6:]] == ["10 千克", "4.5 千克"]
    assert {label.stop_position for label in labels} == {1} and labels[0].company == who.company.name
    document = case_labels.case_labels_pdf(labels)
    check(document, "wholesale-case-labels")  # the document font embedded, every glyph in it, rendered
    assert page_count(document) == 8
    first = page_texts(document)[0]
    assert placed.order.number in first and "1 / 8 箱" in first and early.code in first
    assert f"Code 128:{placed.order.number}" in barcodes(document, "wholesale-case-label")


async def _ledger_agrees(session: AsyncSession, variant_ids: list[int]) -> dict[int, tuple[Decimal, Decimal]]:
    """(on hand, reserved) by lot — after asserting each stock level equals the sum of its ledger."""
    levels = (await session.scalars(select(StockLevel).where(StockLevel.variant_id.in_(variant_ids)))).all()
    found = {}
    for level in levels:
        await session.refresh(level)
        on_hand, reserved = (
            await session.execute(
                select(func.sum(StockLedgerEntry.on_hand_delta), func.sum(StockLedgerEntry.reserved_delta)).where(
                    StockLedgerEntry.lot_id == level.lot_id, StockLedgerEntry.location_id == level.location_id
                )
            )
        ).one()
        assert (on_hand, reserved) == (level.on_hand, level.reserved), level.lot_id
        found[level.lot_id] = (level.on_hand, level.reserved)
    return found


async def test_dispatch_is_refused_until_every_order_is_packed_then_sells_exactly_what_was_packed(
    db_session: AsyncSession,
) -> None:
    sku, early, late = await two_lot_sku(db_session)
    kg = await weighed_sku(db_session, stock="200")
    one, two = await buyer(db_session), await buyer(db_session, city="佛山")
    first = await place(db_session, one, [BasketLine(sku.sku, cases=6), BasketLine(kg.sku, cases=2)])  # 120 + 20 kg
    second = await place(db_session, two, [BasketLine(sku.sku, cases=2)])  # 40
    number = first.trip.trip.number
    lines = {line.sku: line for line in first.order.lines}
    await packing.pack_order(
        db_session,
        number,
        first.order.number,
        {lines[sku.sku].id: "100", lines[kg.sku].id: "19.5"},  # 20 pieces short, 0.5 kg light
        actor_user_id=None,
    )

    with pytest.raises(errors.TripHasUnpackedOrders) as refused:
        await trips.dispatch(db_session, number, expected=TripStatus.loading, actor_user_id=None)
    assert refused.value.status_code == 409 and refused.value.detail["orders"] == [second.order.number]
    assert second.order.number in refused.value.text
    assert (await packing.trip_work(db_session, number)).trip.status is TripStatus.loading

    await packing.pack_order(db_session, number, second.order.number, {}, actor_user_id=None)  # all 40
    trip = await trips.dispatch(db_session, number, expected=TripStatus.loading, actor_user_id=None)
    assert trip.status is TripStatus.dispatched

    stock = await _ledger_agrees(db_session, [sku.id, kg.id])
    # Sold FEFO per order: the first order held 100 early + 20 late and sells 100 (all early), the
    # second held 40 late and sells them; 20 late go back. Nothing stays reserved.
    assert stock[early.id] == (Decimal(0), Decimal(0))
    assert stock[late.id] == (Decimal(300 - 40), Decimal(0))
    kg_lot = next(lot_id for lot_id in stock if lot_id not in (early.id, late.id))
    assert stock[kg_lot] == (Decimal("180.5"), Decimal(0))
    sales = (
        await db_session.execute(
            select(StockLedgerEntry.document_ref, StockLedgerEntry.lot_id, StockLedgerEntry.on_hand_delta).where(
                StockLedgerEntry.kind == "sale"
            )
        )
    ).all()
    assert sorted(sales) == sorted(
        [
            (first.order.number, early.id, Decimal(-100)),
            (first.order.number, kg_lot, Decimal("-19.5")),
            (second.order.number, late.id, Decimal(-40)),
        ]
    )
    for placed in (first, second):
        order = await orders_repository.order_by_number(db_session, placed.order.number)
        assert order is not None and order.fulfilment_status is FulfilmentStatus.dispatched
        held = await db_session.scalar(select(Reservation).where(Reservation.reference == order.reservation_reference))
        assert held is not None and held.status is ReservationStatus.converted
    sms = (
        await db_session.scalars(
            select(NotificationMessage.body).where(NotificationMessage.template == packing.DISPATCHED_TEMPLATE)
        )
    ).all()
    assert len(sms) == 2 and all(number in body for body in sms)
    assert any(first.order.number in body for body in sms)

    # A double click: the second dispatch finds the truck gone and sells nothing again.
    entries = await db_session.scalar(select(func.count()).select_from(StockLedgerEntry))
    with pytest.raises(trip_errors.TripStatusConflict) as again:
        await trips.dispatch(db_session, number, expected=TripStatus.loading, actor_user_id=None)
    assert again.value.status_code == 409
    assert await db_session.scalar(select(func.count()).select_from(StockLedgerEntry)) == entries
    with pytest.raises(errors.TripNotPackable):
        await packing.pack_order(db_session, number, first.order.number, {}, actor_user_id=None)


async def test_a_partial_sale_refuses_more_than_the_reservation_holds(db_session: AsyncSession) -> None:
    sku = await supply_sku(db_session, stock="100")
    who = await buyer(db_session)
    placed = await place(db_session, who, [BasketLine(sku.sku, cases=2)])
    held = await db_session.scalar(
        select(Reservation).where(Reservation.reference == placed.order.reservation_reference)
    )
    assert held is not None
    with pytest.raises(AppError) as refused:
        await reservations.convert_part_to_sale(
            db_session, held.id, {sku.id: Decimal(41)}, document_type="order", document_ref=placed.order.number
        )
    assert refused.value.code == "invalid_stock_quantity"
    await reservations.convert_part_to_sale(
        db_session, held.id, {}, document_type="order", document_ref=placed.order.number
    )  # nothing packed: everything released
    assert list((await _ledger_agrees(db_session, [sku.id])).values()) == [(Decimal(100), Decimal(0))]
    with pytest.raises(AppError) as twice:
        await reservations.convert_part_to_sale(
            db_session, held.id, {}, document_type="order", document_ref=placed.order.number
        )
    assert twice.value.code == "reservation_not_active"


async def test_a_packed_order_line_keeps_its_packed_quantity(db_session: AsyncSession) -> None:
    kg = await weighed_sku(db_session)
    who = await buyer(db_session)
    placed = await place(db_session, who, [BasketLine(kg.sku, cases=1)])
    line = placed.order.lines[0]
    await packing.pack_order(
        db_session, placed.trip.trip.number, placed.order.number, {line.id: "9.8"}, actor_user_id=None
    )
    assert await db_session.scalar(select(OrderLine.packed_quantity).where(OrderLine.id == line.id)) == Decimal("9.8")


async def test_a_stop_with_many_orders_still_fits_its_manifest_row(db_session: AsyncSession) -> None:
    sku = await supply_sku(db_session, stock="2000")
    who = await buyer(db_session)
    placed = [await place(db_session, who, [BasketLine(sku.sku, cases=1)]) for _ in range(30)]
    sheet = await packing.manifest(db_session, placed[0].trip.trip.number)
    assert len(sheet.stops) == 1 and len(sheet.stops[0].order_numbers) == 30
    text = "".join(page_texts(manifest_pdf(sheet)))
    assert "等 30 单" in text
