"""Reservations: stock held for a document until it is sold, released or expires.

Reserving is one short transaction. One statement locks the sellable lot rows of every line's
variant at the location in a fixed order (variant, then FEFO: best-before, row id; ``FOR UPDATE``),
takes what each line needs from the earliest best-before first, and writes the ledger and
reservation lines from the same CTE (a one-line reservation uses the one-variant form of the same
statement) — so the hot rows are locked for one statement plus the commit, and two reservations
can never lock the same rows in opposite orders (no deadlock). Less taken than a line needs means
not enough stock: the caller gets 409 ``insufficient_stock`` naming every short line and its
transaction is rolled back. No lock is held across any network
call: callers reserve after their own inserts and commit straight away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog import repository as catalog_repository
from app.kit import clock
from app.kit.quantities import format_quantity
from app.supply import errors
from app.supply import reservation_queries as queries
from app.supply.models import Reservation, ReservationStatus

DEFAULT_TTL = timedelta(minutes=15)


@dataclass(frozen=True)
class HeldLine:
    variant_id: int
    lot_id: int
    lot_code: str
    quantity: Decimal


@dataclass(frozen=True)
class Held:
    """What a successful ``reserve`` holds, built from the statements' own RETURNING rows so that no
    further query runs while the stock rows are locked."""

    id: int
    reference: str
    channel: str
    location_id: int
    expires_at: datetime | None
    lines: list[HeldLine]


@dataclass(frozen=True)
class ReserveLine:
    variant_id: int
    quantity: Decimal
    # Earliest best-before the channel accepts for this line (expired lots are never sellable).
    min_best_before: date


async def reserve(
    session: AsyncSession,
    *,
    reference: str,
    channel: str,
    location_id: int,
    lines: Sequence[ReserveLine],
    expires_at: datetime | None,
    actor_user_id: int | None = None,
) -> Held:
    """Hold every line or none. Raises ``InsufficientStock`` naming each short line; the caller's
    transaction must then roll back (the request boundary does)."""
    merged: dict[int, ReserveLine] = {}
    for line in lines:
        if line.quantity <= 0:
            raise errors.InvalidStockQuantity("预留数量必须大于 0")
        previous = merged.get(line.variant_id)
        merged[line.variant_id] = ReserveLine(
            line.variant_id,
            line.quantity + (previous.quantity if previous else Decimal(0)),
            max(line.min_best_before, previous.min_best_before) if previous else line.min_best_before,
        )
    hold = queries.HoldFor(reference, channel, location_id, actor_user_id)
    ordered = sorted(merged.values(), key=lambda item: item.variant_id)
    # The reservation and its lines in one statement, every line's rows locked in one order.
    opened = await queries.open_and_hold_fefo(
        session,
        hold,
        expires_at=expires_at,
        lines=[(line.variant_id, line.quantity, line.min_best_before) for line in ordered],
    )
    if opened is None:
        raise errors.ReservationExists(detail={"reference": reference})
    reservation_id, rows = opened
    held = [HeldLine(variant_id, lot_id, code, q) for variant_id, lot_id, code, q in rows]
    taken_of: dict[int, Decimal] = {}
    for held_line in held:
        taken_of[held_line.variant_id] = taken_of.get(held_line.variant_id, Decimal(0)) + held_line.quantity
    shorts: list[dict[str, object]] = []
    for line in ordered:
        taken = taken_of.get(line.variant_id, Decimal(0))
        if taken < line.quantity:
            shorts.append(
                {
                    "variant_id": line.variant_id,
                    "requested": format_quantity(line.quantity),
                    "available": format_quantity(taken),
                }
            )
    if shorts:
        skus = await catalog_repository.skus_by_ids(session, [int(str(s["variant_id"])) for s in shorts])
        for short in shorts:
            short["sku"] = skus.get(int(str(short["variant_id"])), "")
            short["message"] = f"{short['sku']} 库存不足：需要 {short['requested']}，可用 {short['available']}"
        raise errors.InsufficientStock(detail={"lines": shorts})
    return Held(reservation_id, reference, channel, location_id, expires_at, held)


async def _claim(session: AsyncSession, reservation_id: int, new_status: ReservationStatus) -> str:
    """Compare-and-set the status away from ``active``: whoever wins that update (payment, expiry
    task, cancellation, dispatch) is the only one to touch the stock. Returns its channel."""
    channel = await queries.close_if_active(session, reservation_id, new_status)
    if channel is None:
        if await session.get(Reservation, reservation_id) is None:
            raise errors.ReservationNotFound()
        raise errors.ReservationNotActive()
    return channel


async def _reloaded(session: AsyncSession, reservation_id: int) -> Reservation:
    reservation = await session.get(Reservation, reservation_id, populate_existing=True)
    assert reservation is not None
    return reservation


async def _close(
    session: AsyncSession,
    reservation_id: int,
    *,
    new_status: ReservationStatus,
    sell: bool,
    kind: str,
    reason: str,
    document_type: str,
    document_ref: str,
    actor_user_id: int | None,
) -> Reservation:
    """Compare-and-set the status away from ``active`` first (:func:`_claim`), then move the stock."""
    channel = await _claim(session, reservation_id, new_status)
    await queries.move_held_stock(
        session,
        reservation_id,
        sell=sell,
        kind=kind,
        reason=reason[:200],
        document_type=document_type,
        document_ref=document_ref,
        channel=channel,
        actor_user_id=actor_user_id,
    )
    return await _reloaded(session, reservation_id)


async def release(
    session: AsyncSession, reservation_id: int, *, reason: str, actor_user_id: int | None = None, expired: bool = False
) -> Reservation:
    reservation = await session.get(Reservation, reservation_id)
    if reservation is None:
        raise errors.ReservationNotFound()
    return await _close(
        session,
        reservation_id,
        new_status=ReservationStatus.expired if expired else ReservationStatus.released,
        sell=False,
        kind="release",
        reason=reason,
        document_type="reservation",
        document_ref=reservation.reference,
        actor_user_id=actor_user_id,
    )


async def convert_to_sale(
    session: AsyncSession,
    reservation_id: int,
    *,
    document_type: str,
    document_ref: str,
    actor_user_id: int | None = None,
    reason: str = "",
) -> Reservation:
    """Payment or handover: the held stock leaves as a sale (on hand and reserved both drop)."""
    return await _close(
        session,
        reservation_id,
        new_status=ReservationStatus.converted,
        sell=True,
        kind="sale",
        reason=reason,
        document_type=document_type,
        document_ref=document_ref,
        actor_user_id=actor_user_id,
    )


async def sell_held(
    session: AsyncSession,
    reference: str,
    *,
    document_type: str,
    document_ref: str,
    actor_user_id: int | None = None,
    reason: str = "",
) -> bool:
    """:func:`convert_to_sale` by the hold's reference, for a caller that needs only the outcome:
    True when the hold is sold (by this call, or before it), False when there is no hold to sell
    (none, or it expired or was released). The status compare-and-set comes first, so the stock
    moves once; the reservation is neither read before nor read back (two statements when it
    sells, a payment settling at a station's counter pays for every one)."""
    won = await queries.close_active_by_reference(session, reference, ReservationStatus.converted)
    if won is None:
        return await queries.status_by_reference(session, reference) is ReservationStatus.converted
    reservation_id, channel = won
    await queries.move_held_stock(
        session,
        reservation_id,
        sell=True,
        kind="sale",
        reason=reason[:200],
        document_type=document_type,
        document_ref=document_ref,
        channel=channel,
        actor_user_id=actor_user_id,
    )
    return True


async def convert_part_to_sale(
    session: AsyncSession,
    reservation_id: int,
    quantities: dict[int, Decimal],
    *,
    document_type: str,
    document_ref: str,
    actor_user_id: int | None = None,
    reason: str = "",
) -> Reservation:
    """The goods leave with less than was held (an order packed short, or weighed light): sell
    ``quantities`` (by variant id) from the held lots, earliest best-before first, and release the
    rest. A variant left out sells nothing (all of it is released); a quantity above what the
    reservation holds of its variant, or of a variant it does not hold, is refused
    (``invalid_stock_quantity``) before anything moves. Like :func:`convert_to_sale` the status
    compare-and-set comes first, so a second call finds the reservation closed
    (``reservation_not_active``) and sells nothing twice."""
    held: dict[int, Decimal] = {}
    for variant_id, quantity in await queries.reservation_lines_of(session, reservation_id):
        held[variant_id] = held.get(variant_id, Decimal(0)) + quantity
    for variant_id, quantity in quantities.items():
        have = held.get(variant_id, Decimal(0))
        if quantity < 0 or quantity > have:
            raise errors.InvalidStockQuantity(
                f"出库数量 {format_quantity(quantity)} 超出预留数量 {format_quantity(have)}",
                detail={"variant_id": variant_id},
            )
    channel = await _claim(session, reservation_id, ReservationStatus.converted)
    await queries.sell_part_of_held_stock(
        session,
        reservation_id,
        {v: q for v, q in quantities.items() if q > 0},
        reason=reason[:200],
        document_type=document_type,
        document_ref=document_ref,
        channel=channel,
        actor_user_id=actor_user_id,
    )
    return await _reloaded(session, reservation_id)


async def release_expired(session: AsyncSession, *, now: datetime | None = None, limit: int = 200) -> list[str]:
    """Release active reservations past their deadline. ``SKIP LOCKED`` lets several workers run
    this at once; the status compare-and-set makes a second run (or a racing payment) a no-op."""
    now = now or clock.now()
    # Orders' holds are released by the orders' own expiry (which also expires the order and
    # tells the customer); this sweep is for manual holds and other documents.
    rows = await queries.lock_expired_holds(session, now=now, limit=limit)
    released = []
    for reservation_id, reference in rows:
        await release(session, reservation_id, reason="预留超时自动释放", expired=True)
        released.append(reference)
    return released


async def by_reference(session: AsyncSession, reference: str) -> Reservation | None:
    return await queries.reservation_with_lines(session, reference)
