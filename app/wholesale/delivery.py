"""Proof of delivery at a trip's stop, and the invoice and credit note it produces.

Recording a stop (:func:`record_delivery`) is one transaction:

- the trip row is locked, then the order's: one stop of a trip is recorded at a time (so the last
  one sees every other), and a second recording of the same order — a double submit, at once or
  later — waits and is then refused with 409 ``already_delivered``, changing nothing;
- who received the goods and when (a :class:`StopDelivery`), and per line any shortage or damage
  (:class:`DeliveryIssue`; each quantity > 0, shortage + damage ≤ the packed quantity, damage with
  a photo, re-encoded by ``app.catalog.images.clean_upload`` and kept under
  ``uploads/deliveries/{order_id}/`` — not public);
- the order becomes delivered (``fulfilment_status``) and completed (``status``);
- an **invoice** (结算单, ``JS-YYYYMMDD-NNNN``) bills each line's packed (weighed) quantity at the
  order line's unit price, the money rules of ``app.wholesale.invoicing``; due on issue + the
  company's net days (a prepay company's on issue); the company's 发票 details copied onto it;
- with shortages or damage, a **credit note** (红字结算单, ``HZ-YYYYMMDD-NNNN``) of negative lines
  at the invoice's prices, set against the invoice at once (an ``Allocation``);
- when no confirmed order of the trip is left without a proof of delivery, the trip is delivered
  (cancelled, expired, unpaid or held orders do not travel, so they are no stops).

Document numbers count per prefix and China-time day from 0001, under an advisory lock held to
the end of the transaction, so two deliveries never take one number.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import PaymentTerms
from app.catalog.images import CleanImage, clean_upload
from app.channels import SalesChannel
from app.kit import clock
from app.kit.errors import AppError
from app.kit.files import save_upload
from app.kit.quantities import Unit, format_quantity
from app.orders import repository as orders_repository
from app.orders import states
from app.orders.models import FulfilmentStatus, Order, OrderStatus
from app.wholesale import delivery_queries as queries
from app.wholesale import invoice_queries, invoicing, order_queries, receivables, repository, service, trips
from app.wholesale.delivery_errors import AlreadyDelivered, DeliveryInvalid, NotDispatched, NotPacked, StopNotFound
from app.wholesale.document_data import InvoiceLine
from app.wholesale.invoice_models import (
    Allocation,
    DeliveryIssue,
    DeliveryIssueKind,
    DocumentKind,
    StopDelivery,
    WholesaleInvoice,
    WholesaleInvoiceLine,
)
from app.wholesale.models import WholesaleOrder
from app.wholesale.trip_models import TripStatus, WholesaleTrip

INVOICE_PREFIX = "JS"  # 结算单
CREDIT_NOTE_PREFIX = "HZ"  # 红字
MAX_RECEIVER = 50
MAX_NOTE = 300
MAX_ISSUE_NOTE = 200


@dataclass(frozen=True)
class LineReport:
    """What the driver found of one order line: quantities short and damaged (None: none)."""

    order_line_id: int
    shortage: Decimal | None = None
    damage: Decimal | None = None
    note: str = ""
    photo: bytes | None = None  # required with damage


@dataclass(frozen=True)
class DeliveryReport:
    receiver_name: str
    received_at: datetime | None = None  # default: now
    note: str = ""
    lines: Sequence[LineReport] = ()


@dataclass(frozen=True)
class Delivered:
    order: Order
    stop: StopDelivery
    issues: tuple[DeliveryIssue, ...]
    invoice: WholesaleInvoice
    credit_note: WholesaleInvoice | None
    trip: WholesaleTrip


def document_number(prefix: str, day: date, last: str | None) -> str:
    """``{prefix}-YYYYMMDD-NNNN``: the day's next after ``last`` (the day's highest so far)."""
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{prefix}-{day:%Y%m%d}-{n:04d}"


async def next_number(session: AsyncSession, prefix: str, day: date) -> str:
    """The next document number of ``prefix`` on the China-time ``day``, held until commit."""
    stem = f"{prefix}-{day:%Y%m%d}-"
    await queries.lock_numbering(session, stem)
    return document_number(prefix, day, await queries.last_number(session, WholesaleInvoice, stem))


def due_date(terms: PaymentTerms, issued: date) -> date:
    """Net 15 / 30: that many days after issue; prepay: on issue."""
    return issued + timedelta(days=terms.days)


@dataclass(frozen=True)
class _Stop:
    order: Order
    wholesale: WholesaleOrder
    trip: WholesaleTrip


async def _locked_stop(session: AsyncSession, order_number: str) -> _Stop:
    order = await orders_repository.order_by_number(session, order_number)
    wholesale = await order_queries.of_order(session, order.id) if order else None
    if order is None or wholesale is None or order.channel is not SalesChannel.wholesale:
        raise StopNotFound(detail={"order": order_number})
    trip = await queries.lock_trip(session, wholesale.trip_id)
    locked = await orders_repository.order_by_number(session, order_number, for_update=True)
    assert trip is not None and locked is not None  # neither trips nor orders are deleted
    return _Stop(locked, wholesale, trip)


def _checked_lines(
    order: Order, report: DeliveryReport
) -> list[tuple[int, DeliveryIssueKind, Decimal, str, bytes | None]]:
    """The report's issues as (order line id, kind, quantity, note, photo), or every problem in one
    ``DeliveryInvalid``."""
    by_id = {line.id: line for line in order.lines}
    problems: list[dict[str, object]] = []
    issues: list[tuple[int, DeliveryIssueKind, Decimal, str, bytes | None]] = []

    def problem(line_id: int, sku: str, field: str, message: str) -> None:
        problems.append({"order_line_id": line_id, "sku": sku, "field": field, "message": message})

    seen: set[int] = set()
    for entry in report.lines:
        line = by_id.get(entry.order_line_id)
        if line is None or entry.order_line_id in seen:
            problem(entry.order_line_id, "", "order_line_id", "订单中没有这一行（或重复填写）")
            continue
        seen.add(line.id)
        packed = line.packed_quantity or Decimal(0)
        unit = Unit(line.unit).label_zh
        note = entry.note.strip()
        if len(note) > MAX_ISSUE_NOTE:
            problem(line.id, line.sku, "note", f"说明最多 {MAX_ISSUE_NOTE} 个字符")
        total = Decimal(0)
        for kind, quantity in ((DeliveryIssueKind.shortage, entry.shortage), (DeliveryIssueKind.damage, entry.damage)):
            if quantity is None:
                continue
            if quantity <= 0:
                problem(line.id, line.sku, kind.value, f"{kind.label_zh}数量必须大于 0")
                continue
            total += quantity
            if kind is DeliveryIssueKind.damage and not entry.photo:
                problem(line.id, line.sku, "photo", "破损须上传照片")
                continue
            photo = entry.photo if kind is DeliveryIssueKind.damage else None
            issues.append((line.id, kind, quantity, note, photo))
        if total > packed:
            problem(
                line.id,
                line.sku,
                "quantity",
                f"{line.sku}：短缺与破损合计 {format_quantity(total)} {unit}，"
                f"超过实发 {format_quantity(packed)} {unit}",
            )
    if problems:
        raise DeliveryInvalid(detail={"lines": problems})
    return issues


def _received_at(report: DeliveryReport, now: datetime) -> tuple[str, datetime]:
    name = report.receiver_name.strip()
    if not name or len(name) > MAX_RECEIVER:
        raise DeliveryInvalid(f"签收人须为 1–{MAX_RECEIVER} 个字符", detail={"field": "receiver_name"})
    if len(report.note.strip()) > MAX_NOTE:
        raise DeliveryInvalid(f"备注最多 {MAX_NOTE} 个字符", detail={"field": "note"})
    received = report.received_at or now
    if received > now + timedelta(minutes=5):
        raise DeliveryInvalid("签收时间不能晚于现在", detail={"field": "received_at"})
    return name, received


def _invoice_lines(order: Order) -> list[tuple[int, InvoiceLine]]:
    """Each packed line of the order at its unit price (a line packed as 0 is not billed)."""
    return [
        (
            line.id,
            InvoiceLine(
                sku=line.sku,
                name=line.name_zh,
                unit=Unit(line.unit),
                quantity=line.packed_quantity,
                unit_price_minor=line.unit_price_minor,
            ),
        )
        for line in order.lines
        if line.packed_quantity is not None and line.packed_quantity > 0
    ]


def _stored_lines(invoice_id: int, lines: Sequence[tuple[int | None, InvoiceLine]]) -> list[WholesaleInvoiceLine]:
    return [
        WholesaleInvoiceLine(
            invoice_id=invoice_id,
            position=position,
            order_line_id=line_id,
            sku=line.sku,
            name=line.name,
            unit=line.unit.value,
            quantity=line.quantity,
            unit_price_minor=line.unit_price_minor,
            amount_minor=invoicing.line_amount_minor(line),
            note=line.note,
        )
        for position, (line_id, line) in enumerate(lines, start=1)
    ]


async def _save_photos(uploads_dir: Path, order_id: int, photos: Sequence[CleanImage | None]) -> list[str | None]:
    """Keep the cleaned photos as ``deliveries/{order_id}/{uuid}.{ext}`` under the uploads, all or
    none: when one cannot be written (the disk full), those already written are removed, since the
    refused delivery will never name them."""
    folder = Path("deliveries") / str(order_id)
    saved: list[str | None] = []
    try:
        for photo in photos:
            relative = await save_upload(uploads_dir, folder, photo.data, photo.ext) if photo else None
            saved.append(relative.as_posix() if relative else None)
    except AppError:
        for path in saved:
            if path is not None:
                (uploads_dir / path).unlink(missing_ok=True)
        raise
    return saved


async def record_delivery(
    session: AsyncSession,
    order_number: str,
    report: DeliveryReport,
    *,
    uploads_dir: Path,
    max_bytes: int,
    actor_user_id: int | None,
) -> Delivered:
    """Record the proof of delivery of a dispatched wholesale order and issue its invoice (and its
    credit note for shortages and damage). See the module's rules."""
    stop = await _locked_stop(session, order_number)
    order, wholesale, trip = stop.order, stop.wholesale, stop.trip
    if await queries.stop_delivery(session, order.id) is not None:
        raise AlreadyDelivered(detail={"order": order_number})
    if (
        order.fulfilment_status is not FulfilmentStatus.dispatched
        or trip.status is not TripStatus.dispatched
        or order.status is not OrderStatus.confirmed
    ):
        raise NotDispatched(
            detail={"order": order_number, "fulfilment_status": order.fulfilment_status.value, "trip": trip.number}
        )
    if any(line.packed_quantity is None for line in order.lines):
        raise NotPacked(detail={"order": order_number})
    now = clock.now()
    today = clock.today()
    receiver, received_at = _received_at(report, now)
    issues = _checked_lines(order, report)
    cleaned = [(await asyncio.to_thread(clean_upload, photo, max_bytes)) if photo else None for *_, photo in issues]

    billed = _invoice_lines(order)
    lines_by_id = {line.id: line for line in order.lines}
    shortfalls = [
        invoicing.Shortfall(lines_by_id[line_id].sku, quantity, kind.label_zh)
        for line_id, kind, quantity, _, _ in issues
    ]
    credit_lines = invoicing.credit_note_lines([line for _, line in billed], shortfalls) if shortfalls else ()
    company = await repository.company(session, wholesale.company_id)
    assert company is not None  # companies are never deleted

    # Every check passed: from here on, only writes.
    photo_paths = await _save_photos(uploads_dir, order.id, cleaned)
    delivered = StopDelivery(
        order_id=order.id,
        trip_id=trip.id,
        received_at=received_at,
        receiver_name=receiver,
        note=report.note.strip(),
        recorded_by_id=actor_user_id,
    )
    await queries.add_all(session, [delivered])
    issue_rows = [
        DeliveryIssue(
            order_id=order.id,
            order_line_id=line_id,
            kind=kind.value,
            quantity=quantity,
            note=note,
            photo_path=path,
        )
        for (line_id, kind, quantity, note, _), path in zip(issues, photo_paths, strict=True)
    ]
    await queries.add_all(session, issue_rows)

    rate = invoicing.tax_rate_percent()
    totals = invoicing.invoice_totals([line for _, line in billed], rate)
    invoice = WholesaleInvoice(
        number=await next_number(session, INVOICE_PREFIX, today),
        kind=DocumentKind.invoice.value,
        company_id=company.id,
        order_id=order.id,
        issue_date=today,
        due_date=due_date(PaymentTerms(company.payment_terms), today),
        total_minor=totals.total_minor,
        tax_minor=totals.tax_minor,
        tax_rate_percent=rate,
        settled_minor=0,
        buyer=asdict(service.buyer_party(company)),
        issued_by_id=actor_user_id,
    )
    await queries.add_all(session, [invoice])
    await queries.add_all(session, _stored_lines(invoice.id, billed))

    credit_note: WholesaleInvoice | None = None
    if credit_lines:
        line_of_sku = {line.sku: line_id for line_id, line in billed}
        credit = invoicing.invoice_totals(credit_lines, rate)
        amount = min(-credit.total_minor, invoice.total_minor)
        credit_note = WholesaleInvoice(
            number=await next_number(session, CREDIT_NOTE_PREFIX, today),
            kind=DocumentKind.credit_note.value,
            company_id=company.id,
            order_id=order.id,
            against_invoice_id=invoice.id,
            issue_date=today,
            due_date=None,
            total_minor=credit.total_minor,
            tax_minor=credit.tax_minor,
            tax_rate_percent=rate,
            settled_minor=amount,
            settled_at=now,
            buyer=invoice.buyer,
            note=f"签收时短缺/破损，冲减结算单 {invoice.number}",
            issued_by_id=actor_user_id,
        )
        await queries.add_all(session, [credit_note])
        await queries.add_all(
            session, _stored_lines(credit_note.id, [(line_of_sku.get(line.sku), line) for line in credit_lines])
        )
        await queries.add_all(
            session,
            [Allocation(invoice_id=invoice.id, credit_note_id=credit_note.id, amount_minor=amount, allocated_on=today)],
        )
        invoice.settled_minor = amount
        if amount == invoice.total_minor:
            invoice.settled_at = now
        await session.flush()

    message = f"已送达，签收人 {receiver}" + (f"，短缺/破损 {len(issues)} 项" if issues else "")
    await states.transition(
        session,
        order,
        OrderStatus.completed,
        kind="delivered",
        message_zh=message,
        actor_user_id=actor_user_id,
        detail={
            "trip": trip.number,
            "invoice": invoice.number,
            "credit_note": credit_note.number if credit_note else None,
        },
        fulfilment_status=FulfilmentStatus.delivered,
    )
    await states.record(
        session,
        order,
        kind="invoiced",
        message_zh=f"已开具结算单 {invoice.number}" + (f" 及红字结算单 {credit_note.number}" if credit_note else ""),
        actor_user_id=actor_user_id,
        detail={"invoice": invoice.number, "total_minor": invoice.total_minor},
    )
    if await queries.undelivered_stops(session, trip.id) == 0:
        trip = await trips.mark_delivered(session, trip.number, actor_user_id=actor_user_id)
    # Money the company paid ahead (a prepay transfer, an overpayment) settles the new invoice now.
    # Last, as it locks the company row: everything else here locked the trip and the order.
    await receivables.apply_unallocated(session, company.id)
    return Delivered(order, delivered, tuple(issue_rows), invoice, credit_note, trip)


# ---- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StopView:
    """One stop as the delivery page shows it: the order, its trip, and its proof once recorded."""

    order: Order
    wholesale: WholesaleOrder
    trip: WholesaleTrip
    company_name: str
    delivery: StopDelivery | None
    issues: tuple[DeliveryIssue, ...]
    invoice: WholesaleInvoice | None

    @property
    def can_record(self) -> bool:
        return (
            self.delivery is None
            and self.trip.status is TripStatus.dispatched
            and self.order.fulfilment_status is FulfilmentStatus.dispatched
        )


async def stop_view(session: AsyncSession, order_number: str) -> StopView:
    found = await order_queries.order_of_company(session, order_number, None)
    if found is None:
        raise StopNotFound(detail={"order": order_number})
    order, wholesale, trip, _ = found
    company = await repository.company(session, wholesale.company_id)
    assert company is not None
    return StopView(
        order=order,
        wholesale=wholesale,
        trip=trip,
        company_name=company.name,
        delivery=await queries.stop_delivery(session, order.id),
        issues=tuple(await queries.issues_of(session, order.id)),
        invoice=await invoice_queries.invoice_of_order(session, order.id),
    )


async def delivered_orders(session: AsyncSession, trip_ids: Sequence[int]) -> set[int]:
    """Which orders of ``trip_ids`` have their proof of delivery (for the trip board)."""
    return await queries.delivered_order_ids(session, trip_ids)
