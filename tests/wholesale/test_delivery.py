"""Proof of delivery at a trip's stop and the invoice and credit note it issues (rolled back per
test): packed (weighed) quantities billed to the fen, a shortage and a damaged line reversed by a
credit note set against the invoice at once, refusals that change nothing, the trip delivered after
its last stop, and a company's credit exposure counting each order once."""

from __future__ import annotations

import errno
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import PaymentTerms
from app.catalog.models import Variant
from app.kit.errors import StorageFull
from app.kit.quantities import Unit
from app.orders.models import FulfilmentStatus, OrderStatus
from app.wholesale import delivery, invoice_queries, ordering
from app.wholesale.delivery import DeliveryReport, LineReport
from app.wholesale.delivery_errors import AlreadyDelivered, DeliveryInvalid, NotPacked
from app.wholesale.invoice_models import Allocation, DeliveryIssue, StopDelivery, WholesaleInvoice
from app.wholesale.trip_models import TripStatus
from app.wholesale.trip_queries import trip_by_number
from tests.fixtures.deliveries import dispatch_trip, dispatched_order, pack, placed_order
from tests.fixtures.images import phone_jpeg
from tests.fixtures.wholesale_orders import buyer, supply_sku

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")

TODAY = date(2026, 12, 6)  # the pinned Sunday


async def taro(session: AsyncSession) -> Variant:
    """Taro sold by weight: ¥18.80 a kilo, a 13 kg case (packing weighs what is really in it, never more)."""
    return await supply_sku(session, wholesale_minor=1880, case_pack=13, net_weight_grams=1000, unit=Unit.kg)


async def sausage(session: AsyncSession) -> Variant:
    """¥34.50 a piece, 20 a case."""
    return await supply_sku(session, wholesale_minor=3450)


async def deliver(session: AsyncSession, number: str, tmp_path: Path, *lines: LineReport, **kw: object):  # type: ignore[no-untyped-def]
    return await delivery.record_delivery(
        session,
        number,
        DeliveryReport(receiver_name=str(kw.get("receiver", "黄先生")), lines=lines),
        uploads_dir=tmp_path,
        max_bytes=5_000_000,
        actor_user_id=None,
    )


def line_of(order, sku: str) -> int:  # type: ignore[no-untyped-def]
    return next(line.id for line in order.lines if line.sku == sku)


async def test_the_invoice_bills_the_packed_weighed_quantities_to_the_fen(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    kg, pieces = await taro(db_session), await sausage(db_session)
    ours = await buyer(db_session, terms=PaymentTerms.net_30)
    order = await dispatched_order(db_session, ours, [(kg, 1), (pieces, 2)], packed={kg.sku: "12.345"})
    ours.company.fapiao_title, ours.company.fapiao_tax_number = "广州芳村鲜果行有限公司", "91440103MA5CXXXX0K"
    await db_session.flush()
    assert order.total_minor == 13 * 1880 + 40 * 3450  # as ordered: 13 kg

    done = await deliver(db_session, order.number, tmp_path)

    invoice = done.invoice
    # 12.345 kg × ¥18.80 = 232.086 → ¥232.09; 40 × ¥34.50 = ¥1,380.00; total ¥1,612.09.
    lines = await invoice_queries.lines_of(db_session, invoice.id)
    assert [(x.sku, x.quantity, x.unit_price_minor, x.amount_minor) for x in lines] == [
        (kg.sku, Decimal("12.345"), 1880, 23209),
        (pieces.sku, Decimal(40), 3450, 138000),
    ]
    assert invoice.total_minor == 161209
    # 9 % inside: 161209 × 9 / 109 = 13310.8… → ¥133.11.
    assert (invoice.tax_minor, invoice.tax_rate_percent) == (13311, 9)
    assert invoice.number == "JS-20261206-0001" and invoice.kind == "invoice"
    assert (invoice.issue_date, invoice.due_date) == (TODAY, date(2027, 1, 5))  # net 30
    assert (invoice.buyer["name"], invoice.buyer["tax_id"]) == ("广州芳村鲜果行有限公司", "91440103MA5CXXXX0K")
    assert (invoice.settled_minor, invoice.outstanding_minor) == (0, 161209)
    assert done.credit_note is None and done.issues == ()
    assert done.order.status is OrderStatus.completed
    assert done.order.fulfilment_status is FulfilmentStatus.delivered
    # The trip's only stop: the trip is delivered.
    assert done.trip.status is TripStatus.delivered


async def test_a_shortage_and_a_damaged_line_make_a_credit_note_set_against_the_invoice(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    kg, pieces = await taro(db_session), await sausage(db_session)
    ours = await buyer(db_session, terms=PaymentTerms.net_15)
    order = await dispatched_order(db_session, ours, [(kg, 1), (pieces, 2)], packed={kg.sku: "12.345"})

    done = await deliver(
        db_session,
        order.number,
        tmp_path,
        LineReport(line_of(order, pieces.sku), shortage=Decimal(3), note="少 3 袋"),
        LineReport(line_of(order, kg.sku), damage=Decimal("0.505"), note="压烂", photo=phone_jpeg()),
    )

    invoice, note = done.invoice, done.credit_note
    assert note is not None
    assert note.number == "HZ-20261206-0001" and note.kind == "credit_note" and note.against_invoice_id == invoice.id
    assert note.due_date is None and invoice.due_date == date(2026, 12, 21)  # net 15
    credit_lines = await invoice_queries.lines_of(db_session, note.id)
    # −3 × ¥34.50 = −¥103.50; −0.505 kg × ¥18.80 = −9.494 → −¥9.49 — the invoice's own prices.
    assert [(x.sku, x.quantity, x.unit_price_minor, x.amount_minor, x.note) for x in credit_lines] == [
        (pieces.sku, Decimal(-3), 3450, -10350, "短缺"),
        (kg.sku, Decimal("-0.505"), 1880, -949, "破损"),
    ]
    assert note.total_minor == -11299
    assert note.tax_minor == -933  # −11299 × 9 / 109 = −932.9… → −¥9.33
    # Set against the invoice at once: its outstanding drops by exactly the credit.
    assert invoice.total_minor == 161209
    assert (invoice.settled_minor, invoice.outstanding_minor) == (11299, 161209 - 11299)
    assert (note.settled_minor, note.outstanding_minor) == (11299, 0)
    allocation = await db_session.scalar(select(Allocation).where(Allocation.invoice_id == invoice.id))
    assert allocation is not None
    assert (allocation.credit_note_id, allocation.payment_id, allocation.amount_minor) == (note.id, None, 11299)
    # The issues, the damage with its re-encoded photo kept under the uploads.
    issues = (await db_session.scalars(select(DeliveryIssue).where(DeliveryIssue.order_id == order.id))).all()
    assert sorted((i.kind, i.quantity) for i in issues) == [("damage", Decimal("0.505")), ("shortage", Decimal(3))]
    (damage,) = [i for i in issues if i.kind == "damage"]
    assert damage.photo_path and damage.photo_path.startswith(f"deliveries/{order.id}/")
    assert (tmp_path / damage.photo_path).read_bytes()[:2] == b"\xff\xd8"
    # Exposure: the invoice's outstanding, not the order's total as placed.
    assert await ordering.owed_minor(db_session, ours.company.id) == 161209 - 11299


def files_in(path: Path) -> list[Path]:
    return list(path.rglob("*"))


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_damage_without_a_photo_or_more_than_was_packed_is_refused_and_changes_nothing(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    pieces = await sausage(db_session)
    ours = await buyer(db_session)
    order = await dispatched_order(db_session, ours, [(pieces, 1)], packed={pieces.sku: "18"})
    line = line_of(order, pieces.sku)

    with pytest.raises(DeliveryInvalid) as no_photo:
        await deliver(db_session, order.number, tmp_path, LineReport(line, damage=Decimal(1)))
    assert no_photo.value.status_code == 422
    assert [p["field"] for p in no_photo.value.detail["lines"]] == ["photo"]

    with pytest.raises(DeliveryInvalid) as too_many:
        await deliver(
            db_session,
            order.number,
            tmp_path,
            LineReport(line, shortage=Decimal(10), damage=Decimal(9), photo=phone_jpeg()),
        )
    assert "超过实发 18" in too_many.value.detail["lines"][0]["message"]

    with pytest.raises(DeliveryInvalid):
        await deliver(db_session, order.number, tmp_path, LineReport(line, shortage=Decimal(0)))
    with pytest.raises(DeliveryInvalid):
        await deliver(db_session, order.number, tmp_path, receiver="  ")

    assert await count(db_session, StopDelivery) == 0 and await count(db_session, WholesaleInvoice) == 0
    assert files_in(tmp_path) == []  # no photo kept


async def test_a_disk_that_fills_up_at_the_second_photo_keeps_neither_and_records_nothing(
    db_session: AsyncSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kg, pieces = await taro(db_session), await sausage(db_session)
    order = await dispatched_order(db_session, await buyer(db_session), [(kg, 1), (pieces, 2)], packed={kg.sku: "12"})
    real_write = os.write
    files_written: set[str] = set()

    def write(fd: int, data: bytes | memoryview) -> int:
        path = os.readlink(f"/proc/self/fd/{fd}")
        if path.startswith(str(tmp_path)):
            files_written.add(path)
            if len(files_written) > 1:  # the first photo went down whole; the disk is full now
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    with pytest.raises(StorageFull) as full:
        await deliver(
            db_session,
            order.number,
            tmp_path,
            LineReport(line_of(order, kg.sku), damage=Decimal("0.5"), note="压烂", photo=phone_jpeg()),
            LineReport(line_of(order, pieces.sku), damage=Decimal(1), note="破袋", photo=phone_jpeg()),
        )

    assert (full.value.status_code, full.value.code) == (507, "storage_full")
    assert len(files_written) == 2
    assert [p for p in files_in(tmp_path) if p.is_file()] == []  # the first photo removed with the second
    assert await count(db_session, StopDelivery) == 0 and await count(db_session, DeliveryIssue) == 0
    assert await count(db_session, WholesaleInvoice) == 0


async def test_recording_a_stop_twice_is_a_conflict_and_issues_nothing_more(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    pieces = await sausage(db_session)
    ours = await buyer(db_session)
    order = await dispatched_order(db_session, ours, [(pieces, 1)])
    await deliver(db_session, order.number, tmp_path)

    with pytest.raises(AlreadyDelivered) as again:
        await deliver(db_session, order.number, tmp_path, LineReport(line_of(order, pieces.sku), shortage=Decimal(1)))

    assert again.value.status_code == 409
    assert await count(db_session, WholesaleInvoice) == 1 and await count(db_session, DeliveryIssue) == 0


async def test_an_order_never_packed_is_not_invoiced(db_session: AsyncSession, tmp_path: Path) -> None:
    pieces = await sausage(db_session)
    ours = await buyer(db_session)
    placed = await placed_order(db_session, ours, [(pieces, 1)])
    await pack(db_session, placed.order)
    placed.order.lines[0].packed_quantity = None
    await db_session.flush()
    await dispatch_trip(db_session, placed.trip.trip.number)

    with pytest.raises(NotPacked):
        await deliver(db_session, placed.order.number, tmp_path)


async def test_the_trip_is_delivered_after_its_last_stop_and_numbers_count_per_day(
    db_session: AsyncSession, tmp_path: Path
) -> None:
    pieces = await sausage(db_session)
    first, second = await buyer(db_session), await buyer(db_session)
    a = await placed_order(db_session, first, [(pieces, 1)])
    b = await placed_order(db_session, second, [(pieces, 2)])
    # Held over its credit limit, never approved: it does not travel, so it is no stop.
    held = await placed_order(db_session, await buyer(db_session, credit_limit_minor=100), [(pieces, 1)])
    assert held.wholesale.credit_state == "held"
    assert a.trip.trip.number == b.trip.trip.number == held.trip.trip.number
    await pack(db_session, a.order)
    await pack(db_session, b.order)
    await dispatch_trip(db_session, a.trip.trip.number)

    one = await deliver(db_session, a.order.number, tmp_path)
    assert one.trip.status is TripStatus.dispatched
    two = await deliver(db_session, b.order.number, tmp_path)

    assert two.trip.status is TripStatus.delivered
    trip = await trip_by_number(db_session, a.trip.trip.number)
    assert trip is not None and trip.status is TripStatus.delivered
    assert (one.invoice.number, two.invoice.number) == ("JS-20261206-0001", "JS-20261206-0002")


def test_document_numbers() -> None:
    assert delivery.document_number("JS", TODAY, None) == "JS-20261206-0001"
    assert delivery.document_number("HZ", TODAY, "HZ-20261206-0041") == "HZ-20261206-0042"
    assert delivery.due_date(PaymentTerms.prepay, TODAY) == TODAY
    assert delivery.due_date(PaymentTerms.net_30, TODAY) == date(2027, 1, 5)


async def test_credit_exposure_counts_an_invoiced_order_once(db_session: AsyncSession, tmp_path: Path) -> None:
    pieces = await sausage(db_session)
    ours = await buyer(db_session)
    delivered = await dispatched_order(db_session, ours, [(pieces, 2)], packed={pieces.sku: "38"})
    open_order = await placed_order(db_session, ours, [(pieces, 1)])  # the next trip, not invoiced
    assert await ordering.owed_minor(db_session, ours.company.id) == 40 * 3450 + 20 * 3450

    await deliver(db_session, delivered.number, tmp_path)

    # The invoice bills the 38 packed (¥1,311.00), no longer the order's ¥1,380.00; the open order
    # still counts its own total.
    assert await ordering.owed_minor(db_session, ours.company.id) == 38 * 3450 + open_order.order.total_minor
