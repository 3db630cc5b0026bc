"""Returns at the till (issue 14, item 6): against a receipt of the till's own store, some lines, never
more than was sold (also across two returns and two at once), refunded from the open shift's drawer
with the basket discount shared out, allowed by a store manager; the goods go back into the lots the
sale took, the ledger and the levels agreeing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.db import create_sessionmaker
from app.kit import clock
from app.kit.errors import AppError
from app.orders.models import Order, OrderEvent, OrderLine, PaymentStatus
from app.pos import approvals, returns, shift_report
from app.pos.approvals import ApprovalAction
from app.pos.return_schemas import ReturnIn
from app.pos.sale_models import Sale, SaleLine, SaleReturn
from app.supply import repository as supply_repository
from app.supply.models import LedgerKind, StockLedgerEntry, StockLevel
from tests.fixtures import pos_sales as till
from tests.fixtures.builders import receive
from tests.fixtures.pos_counter import (
    LineSpec,
    SaleSpec,
    at_till_principal,
    lot_of,
    make_sale,
    open_shift,
)
from tests.fixtures.pos_sales import make_shop, sign_in


def test_the_discount_is_shared_out_by_largest_remainder() -> None:
    # ¥10 off ¥100.01 + ¥50.00 + ¥0.99 (¥151.00): exact shares 662.3, 331.1, 6.56 fen → the one
    # fen the floors leave goes to the largest remainder: 662, 331, 7.
    assert returns.net_line_amounts([10001, 5000, 99], 1000) == [10001 - 662, 5000 - 331, 99 - 7]
    assert sum(returns.net_line_amounts([333, 333, 334], 100)) == 900
    assert returns.net_line_amounts([1000, 2000], 0) == [1000, 2000]


def test_a_line_returned_in_goes_refunds_what_it_would_at_once() -> None:
    net, sold = 1001, Decimal(3)
    parts = [returns.line_refund(net, sold, Decimal(k), Decimal(1)) for k in range(3)]
    assert parts == [334, 333, 334]
    assert sum(parts) == net == returns.line_refund(net, sold, Decimal(0), Decimal(3))


def return_body(sale: Sale, line_id: int | None, quantity: str, reason: str = "坏果") -> dict[str, object]:
    """A return of one line of ``sale``, with a new client id."""
    return return_body_of(sale.number, line_id, quantity, reason)


def return_body_of(number: str, line_id: int | None, quantity: str, reason: str = "坏果") -> dict[str, object]:
    return {
        "client_id": str(uuid.uuid4()),
        "sale_number": number,
        "lines": [{"order_line_id": line_id, "quantity": quantity}],
        "reason": reason,
    }


async def _levels(session: AsyncSession, lot_id: int) -> Decimal:
    level = await session.scalar(
        select(StockLevel).where(StockLevel.lot_id == lot_id).execution_options(populate_existing=True)
    )
    assert level is not None
    return Decimal(level.on_hand)


async def test_a_manager_takes_back_part_of_a_sale_and_the_books_agree(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    shop = await make_shop(db_session, box_stock="10", jin_stock="20")
    box_lot, jin_lot = await lot_of(db_session, shop, shop.box), await lot_of(db_session, shop, shop.jin)
    manager = shop.manager
    shift = await open_shift(db_session, shop)
    # 3 boxes at ¥68 and 2.5 斤 at ¥16.80 (¥42.00): ¥246.00, ¥6.00 off → ¥240.00.
    sale = await make_sale(
        db_session,
        shop,
        shift,
        SaleSpec(
            lines=[LineSpec(shop.box, "3", 6800), LineSpec(shop.jin, "2.5", 1680, source="plu_key")],
            discount_minor=600,
            discount_reason="老顾客",
        ),
    )
    lines = (
        await db_session.scalars(select(OrderLine).where(OrderLine.order_id == sale.order_id).order_by(OrderLine.id))
    ).all()
    assert await _levels(db_session, box_lot.id) == Decimal(7)
    headers = await sign_in(client, shop, manager)
    body = {
        "client_id": str(uuid.uuid4()),
        "sale_number": sale.number,
        "lines": [{"order_line_id": lines[0].id, "quantity": "1"}, {"order_line_id": lines[1].id, "quantity": "0.5"}],
        "reason": "包装破损",
    }
    answer = await client.post("/api/v1/pos/returns", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    out = answer.json()
    # The ¥6.00 shared 497.56 : 102.44 → 498 + 102 fen (the spare fen to the larger remainder).
    assert returns.net_line_amounts([20400, 4200], 600) == [19902, 4098]
    # 1 of 3 boxes: 19902 / 3 = 6634; 0.5 of 2.5 斤: 4098 / 5 = 819.6 → 820.
    assert [line["refund_minor"] for line in out["lines"]] == [6634, 820]
    assert out["refund_minor"] == 7454
    assert out["number"] == f"{shop.till.sale_prefix}-R0001"
    assert out["approved_by"] == (manager.display_name or manager.username)

    await db_session.refresh(sale)
    assert sale.refunded_minor == 7454
    order = await db_session.get(Order, sale.order_id, populate_existing=True)
    assert order is not None
    assert order.refunded_minor == 7454
    assert order.payment_status is PaymentStatus.partially_refunded
    events = (await db_session.scalars(select(OrderEvent).where(OrderEvent.order_id == order.id))).all()
    assert [e.kind for e in events] == ["pos_return"]
    returned = (
        await db_session.scalars(
            select(SaleLine.returned_quantity).where(SaleLine.sale_id == sale.id).order_by(SaleLine.order_line_id)
        )
    ).all()
    assert returned == [Decimal(1), Decimal("0.5")]
    record = await db_session.scalar(select(SaleReturn).where(SaleReturn.sale_id == sale.id))
    assert record is not None and record.shift_id == shift.id and record.approved_by_id == manager.id

    # The goods are back in the lots they left from, as return rows of the return's number.
    assert await _levels(db_session, box_lot.id) == Decimal(8)
    assert await _levels(db_session, jin_lot.id) == Decimal(18)
    back = (
        await db_session.execute(
            select(StockLedgerEntry.lot_id, StockLedgerEntry.on_hand_delta).where(
                StockLedgerEntry.kind == LedgerKind.return_, StockLedgerEntry.document_ref == out["number"]
            )
        )
    ).all()
    assert sorted(back) == sorted([(box_lot.id, Decimal(1)), (jin_lot.id, Decimal("0.5"))])
    assert await supply_repository.rebuilt_levels(db_session) == await supply_repository.stored_levels(db_session)

    # The shift's X report counts the refund, and the drawer is expected to hold that much less.
    figures = await shift_report.shift_figures(db_session, shift.id)
    assert (figures.refunds_count, figures.refunds_minor) == (1, 7454)
    assert figures.expected_cash_minor == shift.float_minor + sale.total_minor - 7454

    # The same request again: the same return, nothing counted twice.
    again = await client.post("/api/v1/pos/returns", headers=headers, json=body)
    assert again.status_code == 200, again.text
    assert again.json()["number"] == out["number"]
    assert await _levels(db_session, box_lot.id) == Decimal(8)
    await db_session.refresh(sale)
    assert sale.refunded_minor == 7454


async def test_a_return_cannot_exceed_what_was_sold_also_across_two_returns(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    shop = await make_shop(db_session, box_stock="10", jin_stock="20")
    box_lot = await lot_of(db_session, shop, shop.box)
    manager = shop.manager
    shift = await open_shift(db_session, shop)
    sale = await make_sale(db_session, shop, shift, SaleSpec(lines=[LineSpec(shop.box, "3", 6800)]))
    line_id = await db_session.scalar(select(OrderLine.id).where(OrderLine.order_id == sale.order_id))
    headers = await sign_in(client, shop, manager)

    async def give_back(quantity: str) -> httpx.Response:
        return await client.post("/api/v1/pos/returns", headers=headers, json=return_body(sale, line_id, quantity))

    too_many = await give_back("4")
    assert too_many.status_code == 422
    assert too_many.json()["error"] == "return_exceeds_sold"
    assert (await give_back("0")).json()["error"] == "return_quantity_invalid"
    assert (await give_back("0.5")).json()["error"] == "return_quantity_invalid"  # boxes come back whole
    assert (await give_back("2")).status_code == 201
    second = await give_back("2")
    assert second.status_code == 422
    assert second.json()["error"] == "return_exceeds_sold"
    assert "最多可退 1" in second.json()["message"]
    last = await give_back("1")
    assert last.status_code == 201, last.text
    assert last.json()["number"].endswith("-R0002")
    assert (await give_back("1")).json()["error"] == "return_exceeds_sold"
    await db_session.refresh(sale)
    assert sale.refunded_minor == sale.total_minor == 20400
    assert await _levels(db_session, box_lot.id) == Decimal(10)


async def test_another_stores_receipt_is_not_found(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    shop = await make_shop(db_session, box_stock="10", jin_stock="20")
    shift = await open_shift(db_session, shop)
    sale = await make_sale(db_session, shop, shift, SaleSpec(lines=[LineSpec(shop.box, "1", 6800)]))
    line_id = await db_session.scalar(select(OrderLine.id).where(OrderLine.order_id == sale.order_id))
    elsewhere = await make_shop(db_session)
    await open_shift(db_session, elsewhere)
    headers = await sign_in(client, elsewhere, elsewhere.manager)
    answer = await client.post("/api/v1/pos/returns", headers=headers, json=return_body(sale, line_id, "1"))
    assert answer.status_code == 404
    assert answer.json()["error"] == "sale_not_found"


async def test_a_clerk_alone_needs_a_managers_approval_and_nothing_changes(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    shop = await make_shop(db_session, box_stock="10", jin_stock="20")
    box_lot = await lot_of(db_session, shop, shop.box)
    shift = await open_shift(db_session, shop)
    sale = await make_sale(db_session, shop, shift, SaleSpec(lines=[LineSpec(shop.box, "2", 6800)]))
    line_id = await db_session.scalar(select(OrderLine.id).where(OrderLine.order_id == sale.order_id))
    headers = await sign_in(client, shop)
    body = return_body(sale, line_id, "1")
    answer = await client.post("/api/v1/pos/returns", headers=headers, json=body)
    assert answer.status_code == 403
    assert answer.json()["error"] == "approval_required"
    assert await db_session.scalar(select(SaleReturn.id).where(SaleReturn.sale_id == sale.id)) is None
    assert await _levels(db_session, box_lot.id) == Decimal(8)
    bad = await client.post("/api/v1/pos/returns", headers=headers, json=body | {"approval_token": "forged"})
    assert bad.status_code == 403
    assert bad.json()["error"] == "approval_invalid"

    # A manager's approval (their PIN on the clerk's till) for this return and its refund, ¥68.00.
    def token(amount_minor: int, op: uuid.UUID) -> str:
        return approvals.sign(
            till_id=shop.till.id,
            manager_id=shop.manager.id,
            action=ApprovalAction.return_,
            op_client_id=op,
            amount_minor=amount_minor,
        )

    op = uuid.UUID(str(body["client_id"]))
    short = await client.post("/api/v1/pos/returns", headers=headers, json=body | {"approval_token": token(6799, op)})
    assert short.json()["error"] == "approval_invalid"
    other = await client.post(
        "/api/v1/pos/returns", headers=headers, json=body | {"approval_token": token(6800, uuid.uuid4())}
    )
    assert other.json()["error"] == "approval_invalid"
    ok = await client.post("/api/v1/pos/returns", headers=headers, json=body | {"approval_token": token(6800, op)})
    assert ok.status_code == 201, ok.text
    assert ok.json()["refund_minor"] == 6800
    assert ok.json()["approved_by"] == "王店长"


async def test_a_return_needs_an_open_shift(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    shop = await make_shop(db_session, box_stock="10", jin_stock="20")
    manager = shop.manager
    shift = await open_shift(db_session, shop)
    sale = await make_sale(db_session, shop, shift, SaleSpec(lines=[LineSpec(shop.box, "1", 6800)]))
    line_id = await db_session.scalar(select(OrderLine.id).where(OrderLine.order_id == sale.order_id))
    shift.status = "closed"
    shift.closed_at = shift.opened_at
    await db_session.flush()
    headers = await sign_in(client, shop, manager)
    answer = await client.post("/api/v1/pos/returns", headers=headers, json=return_body(sale, line_id, "1"))
    assert answer.status_code == 409
    assert answer.json()["error"] == "no_open_shift"


async def test_two_returns_of_the_last_unit_at_once_one_wins(committed_engine: AsyncEngine) -> None:
    sessionmaker = create_sessionmaker(committed_engine)
    async with sessionmaker() as session:
        shop = await make_shop(session, box_stock="10", jin_stock="20")
        box_lot = await lot_of(session, shop, shop.box)
        manager = shop.manager
        shift = await open_shift(session, shop)
        sale = await make_sale(session, shop, shift, SaleSpec(lines=[LineSpec(shop.box, "2", 6800)]))
        line_id = await session.scalar(select(OrderLine.id).where(OrderLine.order_id == sale.order_id))
        await session.commit()
    assert line_id is not None
    principal = at_till_principal(manager, shop)
    start = asyncio.Event()

    async def one() -> str:
        body = ReturnIn.model_validate(return_body(sale, line_id, "2", "同时退"))
        async with sessionmaker() as session:
            await start.wait()
            try:
                await returns.take_return(session, principal, body)
                await session.commit()
                return "won"
            except AppError as exc:
                await session.rollback()
                return exc.code

    tasks = [asyncio.create_task(one()) for _ in range(3)]
    await asyncio.sleep(0.05)
    start.set()
    outcomes = sorted(await asyncio.gather(*tasks))
    assert outcomes == ["return_exceeds_sold", "return_exceeds_sold", "won"]
    async with sessionmaker() as session:
        fresh = await session.get(Sale, sale.id)
        assert fresh is not None and fresh.refunded_minor == 13600
        level = await session.scalar(select(StockLevel.on_hand).where(StockLevel.lot_id == box_lot.id))
        assert level == Decimal(10)


async def test_a_sale_uploaded_by_the_till_is_returned_printed_and_traced(
    client: httpx.AsyncClient, db_session: AsyncSession
) -> None:
    """The whole path on the sync's own recording: a sale uploaded by the till (FEFO over two lots),
    its receipt and public page, then half of it back into the lots it came from."""
    shop = await make_shop(db_session, box_stock="0", jin_stock="0")
    older = await receive(
        db_session, shop.jin, "1.5", location=shop.location, best_before=clock.today() + timedelta(days=5)
    )
    newer = await receive(
        db_session, shop.jin, "10", location=shop.location, best_before=clock.today() + timedelta(days=15)
    )
    headers = await sign_in(client, shop, shop.manager)
    opened = till.shift_open()
    sold = till.sale(shop, opened["client_id"], [till.line(shop.jin, "3", 1680, source="plu_key")])
    results = await till.upload(client, headers, opened, sold)
    assert [r["outcome"] for r in results] == ["recorded", "recorded"], results

    public = await client.get(f"/r/{sold['client_id']}")
    assert f'href="/t/{older.code}"' in public.text and f'href="/t/{newer.code}"' in public.text
    receipt = await client.get(f"/api/v1/pos/sales/{sold['number']}/receipt.pdf", headers=headers)
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")

    line_id = await db_session.scalar(
        select(OrderLine.id).join(Order, Order.id == OrderLine.order_id).where(Order.number == sold["number"])
    )
    answer = await client.post(
        "/api/v1/pos/returns", headers=headers, json=return_body_of(sold["number"], line_id, "2")
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["refund_minor"] == 3360
    # 1.5 斤 came from the older lot and 1.5 from the newer: 2 go back, the older one filled first.
    assert await _levels(db_session, older.id) == Decimal("1.5")
    assert await _levels(db_session, newer.id) == Decimal("9")
    await till.book_agrees(db_session, shop.location.id)
