"""Lots, the ledger, FEFO reservations, expiry, transfers, counts and adjustments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.channels import SalesChannel
from app.kit.quantities import Unit
from app.supply import counts, errors, repository, reservations, service, transfers
from app.supply.models import LedgerKind, Lot, ReservationStatus, StockLedgerEntry, StockLevel
from app.supply.reservations import ReserveLine
from tests.fixtures.builders import (
    auth,
    ensure_warehouse,
    make_location,
    make_product,
    make_supplier,
    make_user,
    make_variant,
    receive,
    receive_expired,
    token_for,
)
from tests.fixtures.days import TODAY, pinned_noon  # noqa: F401 - the fixture, used by pytestmark

pytestmark = pytest.mark.usefixtures("pinned_noon")


async def level(session: AsyncSession, lot: Lot, location_id: int) -> tuple[Decimal, Decimal]:
    row = await session.scalar(
        select(StockLevel).where(StockLevel.lot_id == lot.id, StockLevel.location_id == location_id)
    )
    await session.refresh(row) if row else None
    return (row.on_hand, row.reserved) if row else (Decimal(0), Decimal(0))


async def assert_ledger_matches_levels(session: AsyncSession) -> None:
    assert await repository.rebuilt_levels(session) == await repository.stored_levels(session)


async def test_receive_weighed_lot_to_the_gram(db_session: AsyncSession) -> None:
    product = await make_product(db_session, shelf_life_days=12)
    taro = await make_variant(db_session, product=product, unit=Unit.kg)
    warehouse = await ensure_warehouse(db_session)
    lot = await receive(db_session, taro, "125.355", harvest_days_ago=2)
    assert lot.best_before == TODAY - timedelta(days=2) + timedelta(days=12)  # defaulted from the shelf life
    assert lot.code.startswith(f"LT{TODAY:%y%m%d}-") and len(lot.code) == 15
    assert await level(db_session, lot, warehouse.id) == (Decimal("125.355"), Decimal(0))
    entries = (await db_session.scalars(select(StockLedgerEntry).where(StockLedgerEntry.lot_id == lot.id))).all()
    assert [(e.kind, e.on_hand_delta, e.document_ref) for e in entries] == [
        (LedgerKind.receipt, Decimal("125.355"), lot.code)
    ]


async def test_whole_units_for_boxes(db_session: AsyncSession) -> None:
    box = await make_variant(db_session, unit=Unit.box)
    with pytest.raises(errors.InvalidStockQuantity):
        await receive(db_session, box, "2.5")
    with pytest.raises(errors.InvalidStockQuantity):
        await receive(db_session, box, "0")


async def test_fefo_picks_earliest_best_before_and_skips_expired(db_session: AsyncSession) -> None:
    product = await make_product(db_session, shelf_life_days=20)
    variant = await make_variant(db_session, product=product)
    warehouse = await ensure_warehouse(db_session)
    expired = await receive_expired(db_session, variant, "10")
    late = await receive(db_session, variant, "10", best_before=TODAY + timedelta(days=15))
    early = await receive(db_session, variant, "4", best_before=TODAY + timedelta(days=3))
    held = await reservations.reserve(
        db_session,
        reference="R-FEFO",
        channel=SalesChannel.shop,
        location_id=warehouse.id,
        expires_at=None,
        lines=[ReserveLine(variant.id, Decimal(6), service.min_best_before(SalesChannel.shop, 20))],
    )
    found = await reservations.by_reference(db_session, held.reference)
    assert found is not None
    assert [(line.lot_id, line.quantity) for line in found.lines] == [(early.id, Decimal(4)), (late.id, Decimal(2))]
    assert await level(db_session, expired, warehouse.id) == (Decimal(10), Decimal(0))
    # 10 expired + 14 good on hand, 6 held: only 8 more can be sold; the expired 10 never can.
    with pytest.raises(errors.InsufficientStock) as short:
        await reservations.reserve(
            db_session,
            reference="R-FEFO-2",
            channel=SalesChannel.shop,
            location_id=warehouse.id,
            expires_at=None,
            lines=[ReserveLine(variant.id, Decimal(9), service.min_best_before(SalesChannel.shop, 20))],
        )
    assert short.value.detail["lines"][0]["available"] == "8"


async def test_a_reservation_of_many_lines_holds_each_fefo_in_one_go(db_session: AsyncSession) -> None:
    warehouse = await ensure_warehouse(db_session)
    product = await make_product(db_session, shelf_life_days=20)
    a, b, c = [await make_variant(db_session, product=product) for _ in range(3)]
    a_late = await receive(db_session, a, "10", best_before=TODAY + timedelta(days=15))
    a_early = await receive(db_session, a, "3", best_before=TODAY + timedelta(days=2))
    b_soon = await receive(db_session, b, "5", best_before=TODAY + timedelta(days=4))
    b_fresh = await receive(db_session, b, "5", best_before=TODAY + timedelta(days=12))
    c_only = await receive(db_session, c, "2", best_before=TODAY + timedelta(days=9))
    floor = TODAY + timedelta(days=10)  # b's line takes nothing that goes off before then
    lines = [
        ReserveLine(b.id, Decimal(4), floor),
        ReserveLine(a.id, Decimal(2), TODAY),
        ReserveLine(a.id, Decimal(3), TODAY),  # the same variant twice: held as one line of 5
        ReserveLine(c.id, Decimal(2), TODAY),
    ]
    held = await reservations.reserve(
        db_session,
        reference="R-MANY",
        channel=SalesChannel.shop,
        location_id=warehouse.id,
        expires_at=None,
        lines=lines,
    )
    assert [(line.variant_id, line.lot_id, line.quantity) for line in held.lines] == [
        (a.id, a_early.id, Decimal(3)),
        (a.id, a_late.id, Decimal(2)),
        (b.id, b_fresh.id, Decimal(4)),
        (c.id, c_only.id, Decimal(2)),
    ]
    assert await level(db_session, b_soon, warehouse.id) == (Decimal(5), Decimal(0))
    await assert_ledger_matches_levels(db_session)

    # One line short (c has nothing left): every line is refused, naming the short one only.
    with pytest.raises(errors.InsufficientStock) as short:
        await reservations.reserve(
            db_session,
            reference="R-MANY-2",
            channel=SalesChannel.shop,
            location_id=warehouse.id,
            expires_at=None,
            lines=[ReserveLine(a.id, Decimal(1), TODAY), ReserveLine(c.id, Decimal(1), TODAY)],
        )
    assert [(line["variant_id"], line["available"]) for line in short.value.detail["lines"]] == [(c.id, "0")]


async def test_a_taken_reference_holds_nothing(db_session: AsyncSession) -> None:
    """The reservation is opened in the statement that holds its stock: a second hold under the
    same reference, of one line or of many, is refused and leaves every stock row as it was."""
    warehouse = await ensure_warehouse(db_session)
    product = await make_product(db_session, shelf_life_days=20)
    a, b = [await make_variant(db_session, product=product) for _ in range(2)]
    a_lot = await receive(db_session, a, "10", best_before=TODAY + timedelta(days=15))
    b_lot = await receive(db_session, b, "10", best_before=TODAY + timedelta(days=15))

    async def hold(*lines: ReserveLine) -> reservations.Held:
        return await reservations.reserve(
            db_session,
            reference="R-TAKEN",
            channel=SalesChannel.shop,
            location_id=warehouse.id,
            expires_at=None,
            lines=list(lines),
        )

    await hold(ReserveLine(a.id, Decimal(2), TODAY))
    for again in (
        [ReserveLine(a.id, Decimal(1), TODAY)],
        [ReserveLine(a.id, Decimal(1), TODAY), ReserveLine(b.id, Decimal(1), TODAY)],
    ):
        with pytest.raises(errors.ReservationExists):
            await hold(*again)
    assert await level(db_session, a_lot, warehouse.id) == (Decimal(10), Decimal(2))
    assert await level(db_session, b_lot, warehouse.id) == (Decimal(10), Decimal(0))
    found = await reservations.by_reference(db_session, "R-TAKEN")
    assert found is not None and [(line.lot_id, line.quantity) for line in found.lines] == [(a_lot.id, Decimal(2))]
    await assert_ledger_matches_levels(db_session)


async def test_today_is_still_sellable(db_session: AsyncSession) -> None:
    product = await make_product(db_session, shelf_life_days=5)
    variant = await make_variant(db_session, product=product)
    warehouse = await ensure_warehouse(db_session)
    await receive(db_session, variant, "1", best_before=TODAY)
    available = await service.available_to_sell(
        db_session, [variant.id], channel=SalesChannel.shop, location_ids=[warehouse.id]
    )
    assert available == {variant.id: Decimal(1)}


async def test_wholesale_needs_sixty_percent_shelf_life(db_session: AsyncSession) -> None:
    product = await make_product(db_session, shelf_life_days=30)
    variant = await make_variant(db_session, product=product)
    warehouse = await ensure_warehouse(db_session)
    await receive(db_session, variant, "5", best_before=TODAY + timedelta(days=10))  # 33 % left
    fresh = await receive(db_session, variant, "7", best_before=TODAY + timedelta(days=18))  # 60 % left
    assert service.min_best_before(SalesChannel.wholesale, 30) == TODAY + timedelta(days=18)
    wholesale = await service.available_to_sell(
        db_session, [variant.id], channel=SalesChannel.wholesale, location_ids=[warehouse.id]
    )
    shop = await service.available_to_sell(
        db_session, [variant.id], channel=SalesChannel.shop, location_ids=[warehouse.id]
    )
    assert (wholesale, shop) == ({variant.id: Decimal(7)}, {variant.id: Decimal(12)})
    held = await reservations.reserve(
        db_session,
        reference="R-WH",
        channel=SalesChannel.wholesale,
        location_id=warehouse.id,
        expires_at=None,
        lines=[ReserveLine(variant.id, Decimal(7), service.min_best_before(SalesChannel.wholesale, 30))],
    )
    found = await reservations.by_reference(db_session, held.reference)
    assert found is not None and {line.lot_id for line in found.lines} == {fresh.id}


async def test_a_returned_sale_goes_back_to_the_lots_it_came_from(db_session: AsyncSession) -> None:
    variant = await make_variant(db_session)
    warehouse = await ensure_warehouse(db_session)
    older = await receive(db_session, variant, "4", best_before=TODAY + timedelta(days=5))
    newer = await receive(db_session, variant, "10", best_before=TODAY + timedelta(days=10))
    for reference, quantity in (("NP-RET", 6), ("NP-KEPT", 1)):
        held = await reservations.reserve(
            db_session,
            reference=f"order:{reference}",
            channel=SalesChannel.shop,
            location_id=warehouse.id,
            expires_at=None,
            lines=[ReserveLine(variant.id, Decimal(quantity), TODAY)],
        )
        await reservations.convert_to_sale(db_session, held.id, document_type="order", document_ref=reference)
    assert await level(db_session, older, warehouse.id) == (Decimal(0), Decimal(0))
    assert await level(db_session, newer, warehouse.id) == (Decimal(7), Decimal(0))

    await service.return_sale(
        db_session,
        sale_ref="NP-RET",
        location_id=warehouse.id,
        document_type="parcel",
        document_ref="NPP2612060000001",
        actor_user_id=None,
        reason="订单 NP-RET 超期退回",
    )

    # Only what NP-RET took comes back, lot by lot; NP-KEPT's unit stays sold.
    assert await level(db_session, older, warehouse.id) == (Decimal(4), Decimal(0))
    assert await level(db_session, newer, warehouse.id) == (Decimal(9), Decimal(0))
    returns = (
        await db_session.execute(
            select(
                StockLedgerEntry.lot_id,
                StockLedgerEntry.on_hand_delta,
                StockLedgerEntry.document_type,
                StockLedgerEntry.document_ref,
            )
            .where(StockLedgerEntry.kind == LedgerKind.return_)
            .order_by(StockLedgerEntry.lot_id)
        )
    ).all()
    assert [tuple(row) for row in returns] == [
        (older.id, Decimal(4), "parcel", "NPP2612060000001"),
        (newer.id, Decimal(2), "parcel", "NPP2612060000001"),
    ]
    await assert_ledger_matches_levels(db_session)


async def test_every_short_line_is_named(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    a = await make_variant(db_session, sku="SHORT-A")
    b = await make_variant(db_session, sku="SHORT-B")
    c = await make_variant(db_session, sku="SHORT-C")
    await receive(db_session, a, "5")
    await receive(db_session, b, "1")
    await receive(db_session, c, "9")
    headers = auth(await token_for(db_session, await make_user(db_session, Role.warehouse)))
    before = await repository.stored_levels(db_session)
    response = await client.post(
        "/api/v1/admin/reservations",
        headers=headers,
        json={
            "reference": "HOLD-1",
            "lines": [
                {"sku": "SHORT-A", "quantity": "6"},
                {"sku": "SHORT-B", "quantity": "1"},
                {"sku": "SHORT-C", "quantity": "10"},
            ],
        },
    )
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "insufficient_stock"
    assert [(line["sku"], line["requested"], line["available"]) for line in body["detail"]["lines"]] == [
        ("SHORT-A", "6", "5"),
        ("SHORT-C", "10", "9"),
    ]
    assert await repository.stored_levels(db_session) == before


async def test_release_and_sale_write_the_ledger(db_session: AsyncSession) -> None:
    variant = await make_variant(db_session)
    warehouse = await ensure_warehouse(db_session)
    lot = await receive(db_session, variant, "10")
    first = await reservations.reserve(
        db_session,
        reference="R-1",
        channel=SalesChannel.shop,
        location_id=warehouse.id,
        expires_at=None,
        lines=[ReserveLine(variant.id, Decimal(3), TODAY)],
    )
    second = await reservations.reserve(
        db_session,
        reference="R-2",
        channel="pos",
        location_id=warehouse.id,
        expires_at=None,
        lines=[ReserveLine(variant.id, Decimal(4), TODAY)],
    )
    assert await level(db_session, lot, warehouse.id) == (Decimal(10), Decimal(7))
    await reservations.release(db_session, first.id, reason="顾客取消")
    sold = await reservations.convert_to_sale(db_session, second.id, document_type="order", document_ref="NP-9")
    assert sold.status is ReservationStatus.converted
    assert await level(db_session, lot, warehouse.id) == (Decimal(6), Decimal(0))
    with pytest.raises(errors.ReservationNotActive):
        await reservations.release(db_session, second.id, reason="again")
    kinds = (
        await db_session.execute(
            select(
                StockLedgerEntry.kind,
                StockLedgerEntry.on_hand_delta,
                StockLedgerEntry.reserved_delta,
                StockLedgerEntry.document_ref,
                StockLedgerEntry.channel,
            )
            .where(StockLedgerEntry.lot_id == lot.id)
            .order_by(StockLedgerEntry.id)
        )
    ).all()
    assert kinds == [
        (LedgerKind.receipt, Decimal(10), Decimal(0), lot.code, None),
        (LedgerKind.reservation, Decimal(0), Decimal(3), "R-1", "shop"),
        (LedgerKind.reservation, Decimal(0), Decimal(4), "R-2", "pos"),
        (LedgerKind.release, Decimal(0), Decimal(-3), "R-1", "shop"),
        (LedgerKind.sale, Decimal(-4), Decimal(-4), "NP-9", "pos"),
    ]
    await assert_ledger_matches_levels(db_session)


async def test_expiry_releases_exactly_the_expired_once(db_session: AsyncSession) -> None:
    variant = await make_variant(db_session)
    warehouse = await ensure_warehouse(db_session)
    lot = await receive(db_session, variant, "10")
    now = datetime.now(UTC)
    for ref, minutes in (("EXP-OLD-1", -5), ("EXP-OLD-2", -1), ("EXP-LIVE", 10)):
        await reservations.reserve(
            db_session,
            reference=ref,
            channel=SalesChannel.shop,
            location_id=warehouse.id,
            expires_at=now + timedelta(minutes=minutes),
            lines=[ReserveLine(variant.id, Decimal(2), TODAY)],
        )
    assert sorted(await reservations.release_expired(db_session, now=now)) == ["EXP-OLD-1", "EXP-OLD-2"]
    assert await reservations.release_expired(db_session, now=now) == []
    assert await level(db_session, lot, warehouse.id) == (Decimal(10), Decimal(2))
    releases = await db_session.scalar(
        select(func.count())
        .select_from(StockLedgerEntry)
        .where(StockLedgerEntry.kind == LedgerKind.release, StockLedgerEntry.lot_id == lot.id)
    )
    assert releases == 2
    statuses = {
        r.reference: r.status
        for r in [await reservations.by_reference(db_session, x) for x in ("EXP-OLD-1", "EXP-OLD-2", "EXP-LIVE")]
        if r
    }
    assert statuses == {
        "EXP-OLD-1": ReservationStatus.expired,
        "EXP-OLD-2": ReservationStatus.expired,
        "EXP-LIVE": ReservationStatus.active,
    }
    await assert_ledger_matches_levels(db_session)


async def test_transfer_ship_and_receive_with_a_shortfall(db_session: AsyncSession) -> None:
    variant = await make_variant(db_session)
    warehouse = await ensure_warehouse(db_session)
    store = await make_location(db_session, "store")
    lot = await receive(db_session, variant, "20")
    transit = await service.in_transit(db_session)
    transfer = await transfers.ship(
        db_session,
        from_code=warehouse.code,
        to_code=store.code,
        note="补货",
        lines=[transfers.ShipLine(lot.code, Decimal(8))],
        actor_user_id=None,
    )  # type: ignore[arg-type]
    assert await level(db_session, lot, warehouse.id) == (Decimal(12), Decimal(0))
    assert await level(db_session, lot, transit.id) == (Decimal(8), Decimal(0))
    number, lot_code = transfer.number, lot.code
    with pytest.raises(Exception, match="差异原因"):
        async with db_session.begin_nested():
            await transfers.receive(
                db_session,
                number,
                actor_user_id=None,  # type: ignore[arg-type]
                received=[transfers.ReceivedLine(lot_code, Decimal(7))],
            )
    done = await transfers.receive(
        db_session,
        number,
        actor_user_id=None,  # type: ignore[arg-type]
        received=[transfers.ReceivedLine(lot_code, Decimal(7), "压坏一箱")],
    )
    assert done.lines[0].quantity_received == Decimal(7)
    assert await level(db_session, lot, transit.id) == (Decimal(0), Decimal(0))
    assert await level(db_session, lot, store.id) == (Decimal(7), Decimal(0))
    with pytest.raises(errors.TransferNotInTransit):
        await transfers.receive(db_session, number, actor_user_id=None, received=[])  # type: ignore[arg-type]
    spoiled = await db_session.scalar(
        select(StockLedgerEntry).where(StockLedgerEntry.kind == LedgerKind.spoilage, StockLedgerEntry.lot_id == lot.id)
    )
    assert spoiled is not None and spoiled.on_hand_delta == Decimal(-1) and "压坏一箱" in spoiled.reason
    await assert_ledger_matches_levels(db_session)


async def test_reserved_stock_cannot_be_shipped(db_session: AsyncSession) -> None:
    variant = await make_variant(db_session)
    warehouse = await ensure_warehouse(db_session)
    store = await make_location(db_session, "store")
    lot = await receive(db_session, variant, "5")
    await reservations.reserve(
        db_session,
        reference="R-SHIP",
        channel=SalesChannel.shop,
        location_id=warehouse.id,
        expires_at=None,
        lines=[ReserveLine(variant.id, Decimal(4), TODAY)],
    )
    with pytest.raises(errors.InsufficientStock):
        await transfers.ship(
            db_session,
            from_code=warehouse.code,
            to_code=store.code,
            note="",
            lines=[transfers.ShipLine(lot.code, Decimal(2))],
            actor_user_id=None,
        )  # type: ignore[arg-type]


async def test_count_posts_differences(db_session: AsyncSession) -> None:
    variant = await make_variant(db_session)
    other = await make_variant(db_session)
    warehouse = await ensure_warehouse(db_session)
    counted_lot = await receive(db_session, variant, "10")
    surplus_lot = await receive(db_session, other, "3")
    user = await make_user(db_session, Role.warehouse)
    sheet = await counts.open_count(db_session, location_code=warehouse.code, actor_user_id=user.id)
    assert {line.lot_id: line.expected for line in sheet.lines} == {
        counted_lot.id: Decimal(10),
        surplus_lot.id: Decimal(3),
    }
    number, user_id = sheet.number, user.id
    codes = {counted_lot.code: Decimal(8), surplus_lot.code: Decimal(4)}
    with pytest.raises(Exception, match="未录入"):
        async with db_session.begin_nested():
            await counts.post_count(db_session, number, actor_user_id=user_id)
    await counts.record_counts(db_session, number, codes)
    posted = await counts.post_count(db_session, number, actor_user_id=user_id)
    assert posted.status.value == "posted"
    assert await level(db_session, counted_lot, warehouse.id) == (Decimal(8), Decimal(0))
    assert await level(db_session, surplus_lot, warehouse.id) == (Decimal(4), Decimal(0))
    with pytest.raises(errors.CountNotOpen):
        await counts.post_count(db_session, number, actor_user_id=user_id)
    await assert_ledger_matches_levels(db_session)


async def test_adjustments_need_a_reason_and_the_role(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    variant = await make_variant(db_session)
    warehouse = await ensure_warehouse(db_session)
    lot = await receive(db_session, variant, "10")
    body = {
        "location_code": warehouse.code,
        "lot_code": lot.code,
        "kind": "spoilage",
        "quantity": "2",
        "reason": "冻伤",
    }
    clerk = auth(await token_for(db_session, await make_user(db_session, Role.clerk)))
    assert (await client.post("/api/v1/admin/stock/adjustments", headers=clerk, json=body)).status_code == 403
    keeper = auth(await token_for(db_session, await make_user(db_session, Role.warehouse)))
    no_reason = await client.post("/api/v1/admin/stock/adjustments", headers=keeper, json={**body, "reason": " "})
    assert no_reason.status_code == 422
    assert await level(db_session, lot, warehouse.id) == (Decimal(10), Decimal(0))
    ok = await client.post("/api/v1/admin/stock/adjustments", headers=keeper, json=body)
    assert ok.status_code == 201, ok.text
    assert await level(db_session, lot, warehouse.id) == (Decimal(8), Decimal(0))
    too_much = await client.post(
        "/api/v1/admin/stock/adjustments",
        headers=keeper,
        json={**body, "kind": "adjustment", "quantity": "-9", "reason": "盘亏"},
    )
    assert too_much.status_code == 409 and too_much.json()["error"] == "insufficient_stock"
    await assert_ledger_matches_levels(db_session)


async def test_idempotent_receipt_and_transfer(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    variant = await make_variant(db_session, sku="IDEM-1")
    await make_supplier(db_session, code="SUP-IDEM", grows=[variant])
    warehouse = await ensure_warehouse(db_session)
    store = await make_location(db_session, "store", code="STORE-IDEM")
    keeper = auth(await token_for(db_session, await make_user(db_session, Role.warehouse)))
    body = {
        "sku": "IDEM-1",
        "supplier_code": "SUP-IDEM",
        "quantity": "12",
        "harvest_date": TODAY.isoformat(),
        "certificate_no": "HG-1",
    }
    first = await client.post("/api/v1/admin/lots", headers={**keeper, "Idempotency-Key": "rcv-1"}, json=body)
    again = await client.post("/api/v1/admin/lots", headers={**keeper, "Idempotency-Key": "rcv-1"}, json=body)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    receipts = await db_session.scalar(
        select(func.count())
        .select_from(StockLedgerEntry)
        .where(StockLedgerEntry.kind == LedgerKind.receipt, StockLedgerEntry.variant_id == variant.id)
    )
    assert receipts == 1
    reused = await client.post(
        "/api/v1/admin/lots", headers={**keeper, "Idempotency-Key": "rcv-1"}, json={**body, "quantity": "13"}
    )
    assert reused.status_code == 422 and reused.json()["error"] == "idempotency_key_reused"

    lot_code = first.json()["code"]
    ship = {
        "from_location": warehouse.code,
        "to_location": store.code,
        "lines": [{"lot_code": lot_code, "quantity": "5"}],
    }
    one = await client.post("/api/v1/admin/transfers", headers={**keeper, "Idempotency-Key": "tr-1"}, json=ship)
    two = await client.post("/api/v1/admin/transfers", headers={**keeper, "Idempotency-Key": "tr-1"}, json=ship)
    assert one.status_code == two.status_code == 201 and one.json()["number"] == two.json()["number"]
    outs = await db_session.scalar(
        select(func.count())
        .select_from(StockLedgerEntry)
        .where(StockLedgerEntry.kind == LedgerKind.transfer_out, StockLedgerEntry.variant_id == variant.id)
    )
    assert outs == 1
    stock = (await client.get("/api/v1/admin/stock?sku=IDEM-1", headers=keeper)).json()
    assert stock["totals"][warehouse.code]["IDEM-1"]["on_hand"] == "7"
    assert stock["totals"]["IN-TRANSIT"]["IDEM-1"]["on_hand"] == "5"
    await assert_ledger_matches_levels(db_session)


async def test_stock_api_access(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    for role, expected in (
        (None, 401),
        (Role.customer, 403),
        (Role.buyer, 403),
        (Role.clerk, 403),  # a till and a station PDA see their own figures only
        (Role.station_operator, 403),
        (Role.warehouse, 200),
        (Role.admin, 200),
    ):
        headers = auth(await token_for(db_session, await make_user(db_session, role))) if role else {}
        assert (await client.get("/api/v1/admin/stock", headers=headers)).status_code == expected, role
    for role, expected in ((Role.clerk, 403), (Role.station_operator, 403), (Role.warehouse, 422)):
        headers = auth(await token_for(db_session, await make_user(db_session, role)))
        response = await client.post("/api/v1/admin/lots", headers=headers, json={})
        assert response.status_code == expected, role


async def test_admin_registers_a_supplier(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    admin = auth(await token_for(db_session, await make_user(db_session, Role.admin)))
    body = {
        "code": "SUP-NEW",
        "name": "罗坝镇燎原村香芋专业合作社",
        "kind": "cooperative",
        "township": "罗坝镇",
        "village": "燎原村",
        "contact_name": "邓社长",
        "contact_phone": "13800138001",
        "certifications": [{"type": "green_food", "name": "绿色食品", "number": "LB-1"}],
    }
    created = await client.post("/api/v1/admin/suppliers", headers=admin, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["contact_phone"] == "+8613800138001"
    assert created.json()["certifications"] == [{"type": "green_food", "name": "绿色食品", "number": "LB-1"}]
    again = await client.post("/api/v1/admin/suppliers", headers=admin, json=body)
    assert again.status_code == 409
    bad_phone = await client.post(
        "/api/v1/admin/suppliers", headers=admin, json={**body, "code": "SUP-X", "contact_phone": "12"}
    )
    assert bad_phone.status_code == 422
    keeper = auth(await token_for(db_session, await make_user(db_session, Role.warehouse)))
    assert (
        await client.post("/api/v1/admin/suppliers", headers=keeper, json={**body, "code": "SUP-Y"})
    ).status_code == 403


async def test_count_keeps_sales_made_while_the_sheet_was_open(db_session: AsyncSession) -> None:
    variant = await make_variant(db_session)
    warehouse = await ensure_warehouse(db_session)
    lot = await receive(db_session, variant, "10")
    user = await make_user(db_session, Role.warehouse)
    sheet = await counts.open_count(db_session, location_code=warehouse.code, actor_user_id=user.id)
    number, user_id, lot_code = sheet.number, user.id, lot.code
    # Counted 9 on the shelf (one box went missing) ...
    await counts.record_counts(db_session, number, {lot_code: Decimal(9)})
    # ... then 3 are sold before the sheet is posted.
    held = await reservations.reserve(
        db_session,
        reference="R-COUNT",
        channel="pos",
        location_id=warehouse.id,
        expires_at=None,
        lines=[ReserveLine(variant.id, Decimal(3), TODAY)],
    )
    await reservations.convert_to_sale(db_session, held.id, document_type="pos_sale", document_ref="S-1")
    await counts.post_count(db_session, number, actor_user_id=user_id)
    # 9 counted − 3 sold since = 6 on the shelf: the missing box is written off once, the sale kept.
    assert await level(db_session, lot, warehouse.id) == (Decimal(6), Decimal(0))
    await assert_ledger_matches_levels(db_session)


async def test_an_expired_lot_cannot_be_received(db_session: AsyncSession) -> None:
    variant = await make_variant(db_session)
    with pytest.raises(Exception, match="已过保质期"):
        await receive(db_session, variant, "5", harvest_days_ago=20, best_before=TODAY - timedelta(days=1))


async def test_one_open_count_per_location(db_session: AsyncSession) -> None:
    warehouse = await ensure_warehouse(db_session)
    user = await make_user(db_session, Role.warehouse)
    first = await counts.open_count(db_session, location_code=warehouse.code, actor_user_id=user.id)
    number, code, user_id = first.number, warehouse.code, user.id
    with pytest.raises(Exception, match=number):
        async with db_session.begin_nested():
            await counts.open_count(db_session, location_code=code, actor_user_id=user_id)
