"""SQL of reservations: the FEFO hold of one line, closing a whole reservation, the expiry sweep.

Why the statements look as they do (lock order, one statement per line) is told in
``app.supply.reservations``, the only caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import Numeric, Table, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.kit import clock, stored_rows
from app.kit.models import in_statement
from app.supply.models import Reservation, ReservationLine, ReservationStatus

# The free rows of one variant at one location, locked in FEFO order (best-before, level id), and
# how much to take from each to cover :need, earliest first (``take``: level id, quantity). A
# reservation holds from them; a counter sale (``stock_queries.take_for_sale_fefo``) takes them.
# Common table expressions to follow a ``WITH`` (and whatever comes before them).
FEFO_TAKE = """
candidates AS (
    SELECT id, on_hand - reserved AS avail, best_before
    FROM stock_levels
    WHERE variant_id = :variant_id AND location_id = :location_id
      AND best_before >= :min_best_before AND on_hand > reserved
    ORDER BY best_before, id
    FOR UPDATE
), running AS (
    SELECT id, avail,
           COALESCE(SUM(avail) OVER (ORDER BY best_before, id
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM candidates
), take AS (
    SELECT id, LEAST(avail, :need - before) AS q FROM running WHERE before < :need
)"""
# What the statements built on ``FEFO_TAKE`` answer: (lot id, lot code, quantity) per row moved.
FEFO_MOVED = (
    "SELECT upd.lot_id, lots.code, upd.q FROM upd JOIN lots ON lots.id = upd.lot_id ORDER BY upd.best_before, upd.id"
)

# The reservation itself, opened in the statement that holds its stock (``res``: its id, or no row
# when a reservation with that reference exists — then nothing is held).
_OPEN = """
WITH res AS (
    INSERT INTO reservations (reference, channel, location_id, status, expires_at, actor_user_id)
    VALUES (:reference, :channel, :location_id, 'active', :expires_at, :actor_user_id)
    ON CONFLICT (reference) DO NOTHING
    RETURNING id
),"""

# Hold what ``take`` (level id, quantity) names for ``res``: reserved raised, one ledger row and one
# reservation line per row — in lock order (variant, best-before, level id), so line ids follow the
# order the rows were locked in (release and sale lock by line id: the same order, hence no
# deadlock between them).
_HOLD_TAKEN = """, upd AS (
    UPDATE stock_levels s SET reserved = s.reserved + take.q
    FROM take WHERE s.id = take.id AND EXISTS (SELECT 1 FROM res)
    RETURNING s.id, s.lot_id, s.variant_id, s.location_id, s.best_before, take.q
), ledger AS (
    INSERT INTO stock_ledger (kind, variant_id, location_id, lot_id, on_hand_delta, reserved_delta,
                              actor_user_id, reason, document_type, document_ref, channel)
    SELECT 'reservation', variant_id, location_id, lot_id, 0, q, :actor_user_id, '', 'reservation',
           :reference, :channel
    FROM upd ORDER BY variant_id, best_before, id
), lines AS (
    INSERT INTO reservation_lines (reservation_id, stock_level_id, variant_id, lot_id, quantity)
    SELECT (SELECT res.id FROM res) AS reservation_id, id, variant_id, lot_id, q
    FROM upd ORDER BY variant_id, best_before, id
)
"""

# The answer: the reservation's id on every row, with (variant id,) lot id, lot code and quantity
# held per row moved, in lock order; one row of NULLs when nothing could be held; no row at all when
# the reference was taken.
_HELD = """SELECT res.id, m.variant_id, m.lot_id, m.code, m.q
FROM res LEFT JOIN (
    SELECT upd.variant_id, upd.lot_id, lots.code, upd.q, upd.best_before, upd.id
    FROM upd JOIN lots ON lots.id = upd.lot_id
) m ON true
ORDER BY m.variant_id, m.best_before, m.id
"""

_RESERVE_LINE = text(_OPEN + FEFO_TAKE + _HOLD_TAKEN + _HELD).bindparams(bindparam("need", type_=Numeric(12, 3)))

# Every line of a reservation in one statement: the free rows of all its variants at the location,
# locked in (variant, best-before, level id) order — the order line-by-line holds would lock them
# in, so reservations still never lock the same rows in opposite orders — and per variant taken
# earliest best-before first until its need is covered; ledger and reservation lines written from
# the same rows, in that order.
_RESERVE_LINES = text(
    _OPEN
    + """
need AS (
    SELECT variant_id, quantity, min_best_before
    FROM unnest(CAST(:variant_ids AS bigint[]), CAST(:quantities AS numeric[]), CAST(:min_best_befores AS date[]))
         AS n(variant_id, quantity, min_best_before)
), candidates AS (
    SELECT s.id, s.variant_id, s.on_hand - s.reserved AS avail, s.best_before
    FROM stock_levels s JOIN need ON need.variant_id = s.variant_id
    WHERE s.location_id = :location_id AND s.best_before >= need.min_best_before AND s.on_hand > s.reserved
    ORDER BY s.variant_id, s.best_before, s.id
    FOR UPDATE OF s
), running AS (
    SELECT id, variant_id, avail,
           COALESCE(SUM(avail) OVER (PARTITION BY variant_id ORDER BY best_before, id
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM candidates
), take AS (
    SELECT running.id, LEAST(running.avail, need.quantity - running.before) AS q
    FROM running JOIN need ON need.variant_id = running.variant_id
    WHERE running.before < need.quantity
)"""
    + _HOLD_TAKEN
    + _HELD
)


# Release or sell a whole reservation in one statement; rows are locked in the order the
# reservation took them (line id), the same order reserving uses.
_CLOSE_LINES = text("""
WITH locked AS (
    SELECT s.id, l.quantity, l.id AS line_id
    FROM reservation_lines l JOIN stock_levels s ON s.id = l.stock_level_id
    WHERE l.reservation_id = :reservation_id
    ORDER BY l.id
    FOR UPDATE OF s
), moved AS (
    UPDATE stock_levels s
    SET reserved = s.reserved - locked.quantity,
        on_hand = s.on_hand - CASE WHEN :sell THEN locked.quantity ELSE 0 END
    FROM locked WHERE s.id = locked.id
    RETURNING s.variant_id, s.location_id, s.lot_id, locked.quantity, locked.line_id
)
INSERT INTO stock_ledger (kind, variant_id, location_id, lot_id, on_hand_delta, reserved_delta,
                          actor_user_id, reason, document_type, document_ref, channel)
SELECT CAST(:kind AS ledger_kind), variant_id, location_id, lot_id,
       CASE WHEN :sell THEN -quantity ELSE 0 END, -quantity, :actor_user_id, :reason, :document_type,
       :document_ref, :channel
FROM moved ORDER BY line_id
""")

# Sell part of a reservation, release the rest, in one statement: per variant the quantity to sell
# is taken from the reservation's lines in line id order (the FEFO order they were held in), the
# rows locked in that same order. Each line writes a ``sale`` ledger row for what it sells and a
# ``release`` row for what it gives back (none for a zero part).
_SELL_PART = text("""
WITH need AS (
    SELECT variant_id, quantity
    FROM unnest(CAST(:variant_ids AS bigint[]), CAST(:quantities AS numeric[])) AS n(variant_id, quantity)
), locked AS (
    SELECT s.id, l.quantity, l.id AS line_id, l.variant_id
    FROM reservation_lines l JOIN stock_levels s ON s.id = l.stock_level_id
    WHERE l.reservation_id = :reservation_id
    ORDER BY l.id
    FOR UPDATE OF s
), split AS (
    SELECT locked.id, locked.quantity, locked.line_id,
           LEAST(locked.quantity, GREATEST(COALESCE(need.quantity, 0)
                 - (SUM(locked.quantity) OVER (PARTITION BY locked.variant_id ORDER BY locked.line_id)
                    - locked.quantity), 0)) AS sold
    FROM locked LEFT JOIN need ON need.variant_id = locked.variant_id
), moved AS (
    UPDATE stock_levels s
    SET reserved = s.reserved - split.quantity, on_hand = s.on_hand - split.sold
    FROM split WHERE s.id = split.id
    RETURNING s.variant_id, s.location_id, s.lot_id, split.quantity, split.sold, split.line_id
)
INSERT INTO stock_ledger (kind, variant_id, location_id, lot_id, on_hand_delta, reserved_delta,
                          actor_user_id, reason, document_type, document_ref, channel)
SELECT kind, variant_id, location_id, lot_id, on_hand_delta, reserved_delta, :actor_user_id, :reason,
       :document_type, :document_ref, :channel
FROM (
    SELECT CAST('sale' AS ledger_kind) AS kind, variant_id, location_id, lot_id, -sold AS on_hand_delta,
           -sold AS reserved_delta, line_id, 0 AS part
    FROM moved WHERE sold > 0
    UNION ALL
    SELECT CAST('release' AS ledger_kind), variant_id, location_id, lot_id, 0, sold - quantity, line_id, 1
    FROM moved WHERE quantity > sold
) AS rows
ORDER BY line_id, part
""")


@dataclass(frozen=True)
class HoldFor:
    """Whose hold it is: written on the reservation and on every ledger row its lines make."""

    reference: str
    channel: str
    location_id: int
    actor_user_id: int | None


Held = list[tuple[int, int, str, Decimal]]
"""(variant id, lot id, lot code, quantity held) per stock row, in lock order."""


async def open_and_hold_fefo(
    session: AsyncSession,
    hold: HoldFor,
    *,
    expires_at: datetime | None,
    lines: Sequence[tuple[int, Decimal, date]],
) -> tuple[int, Held] | None:
    """Open the hold's reservation and hold up to each line's quantity — ``(variant id, quantity,
    earliest best-before)``, one per variant — at its location, earliest best-before first, writing
    the ledger and reservation lines: one statement. (reservation id, what was held), or None when a
    reservation with the hold's reference exists (nothing is held then)."""
    params: dict[str, object] = {
        "reference": hold.reference,
        "channel": hold.channel,
        "location_id": hold.location_id,
        "expires_at": expires_at,
        "actor_user_id": hold.actor_user_id,
    }
    if len(lines) == 1:
        [(variant_id, quantity, earliest)] = lines
        params.update(variant_id=variant_id, need=quantity, min_best_before=earliest)
        statement = _RESERVE_LINE
    else:
        params.update(
            variant_ids=[variant_id for variant_id, _, _ in lines],
            quantities=[quantity for _, quantity, _ in lines],
            min_best_befores=[earliest for _, _, earliest in lines],
        )
        statement = _RESERVE_LINES
    rows = (await session.execute(statement, params)).all()
    if not rows:
        return None
    held = [(variant_id, lot_id, code, Decimal(q)) for _, variant_id, lot_id, code, q in rows if lot_id is not None]
    return rows[0][0], held


async def close_if_active(session: AsyncSession, reservation_id: int, new_status: ReservationStatus) -> str | None:
    """Compare-and-set an active reservation to ``new_status``; its channel when this call won,
    None when it was not active (or does not exist)."""
    won = await session.execute(
        update(Reservation)
        .where(Reservation.id == reservation_id, Reservation.status == ReservationStatus.active)
        .values(status=new_status, closed_at=clock.now())
        .returning(Reservation.channel)
    )
    return won.scalar_one_or_none()


async def close_active_by_reference(
    session: AsyncSession, reference: str, new_status: ReservationStatus
) -> tuple[int, str] | None:
    """:func:`close_if_active` by the reservation's reference: (id, channel) when this call won,
    None when no active reservation has that reference (one statement: no read before the claim)."""
    closed_at = clock.now()
    won = await session.execute(
        _CLOSE_ACTIVE_BY_REFERENCE, {"closed_reference": reference, "new_status": new_status, "closed_at": closed_at}
    )
    row = won.first()
    if row is None:
        return None
    # A hold the session has loaded shows its new status, as the ORM's own update would have made it.
    stored_rows.refresh_loaded(session, Reservation, row[0], {"status": new_status, "closed_at": closed_at})
    return (row[0], row[1])


# Built once, on the table: a station's handover and a payment settling close a hold by its
# reference, and a statement naming the mapped class costs about half a millisecond more
# (``app.kit.stored_rows``, which keeps a loaded hold in step).
_RESERVATIONS = cast(Table, Reservation.__table__)
_CLOSE_ACTIVE_BY_REFERENCE = (
    update(_RESERVATIONS)
    .where(
        _RESERVATIONS.c.reference == bindparam("closed_reference"),
        _RESERVATIONS.c.status == ReservationStatus.active,
    )
    .values(
        status=bindparam("new_status", type_=_RESERVATIONS.c.status.type),
        closed_at=bindparam("closed_at", type_=_RESERVATIONS.c.closed_at.type),
    )
    .returning(_RESERVATIONS.c.id, _RESERVATIONS.c.channel)
)


async def status_by_reference(session: AsyncSession, reference: str) -> ReservationStatus | None:
    """The status of the reservation with ``reference``; None when there is none."""
    return await session.scalar(select(Reservation.status).where(Reservation.reference == reference))


async def move_held_stock(
    session: AsyncSession,
    reservation_id: int,
    *,
    sell: bool,
    kind: str,
    reason: str,
    document_type: str,
    document_ref: str,
    channel: str,
    actor_user_id: int | None,
) -> None:
    """Give back (or, selling, take off the shelf) everything a reservation holds, one ledger row a line."""
    await session.execute(
        _CLOSE_LINES,
        {
            "reservation_id": reservation_id,
            "sell": sell,
            "kind": kind,
            "actor_user_id": actor_user_id,
            "reason": reason,
            "document_type": document_type,
            "document_ref": document_ref,
            "channel": channel,
        },
    )


async def lock_expired_holds(session: AsyncSession, *, now: datetime, limit: int) -> Sequence[tuple[int, str]]:
    """(id, reference) of active reservations past their deadline, locked, skipping rows another
    worker has locked. Orders' holds are left out: the orders' own expiry releases them (and
    also expires the order and tells the customer); this sweep is for manual holds and other
    documents."""
    rows = await session.execute(
        select(Reservation.id, Reservation.reference)
        .where(
            # Written into the SQL for ``ix_reservations_active_expiry`` (``status = 'active'``): a
            # bound status cannot match it in the generic plan of a statement asyncpg keeps
            # prepared, which then read every reservation ever made.
            Reservation.status == in_statement(ReservationStatus.active),
            Reservation.expires_at <= now,
            Reservation.reference.not_like("order:%"),
        )
        .order_by(Reservation.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(reservation_id, reference) for reservation_id, reference in rows.all()]


async def reservation_with_lines(session: AsyncSession, reference: str) -> Reservation | None:
    return await session.scalar(
        select(Reservation).where(Reservation.reference == reference).options(selectinload(Reservation.lines))
    )


async def sell_part_of_held_stock(
    session: AsyncSession,
    reservation_id: int,
    quantities: dict[int, Decimal],
    *,
    reason: str,
    document_type: str,
    document_ref: str,
    channel: str,
    actor_user_id: int | None,
) -> None:
    """Sell ``quantities`` (by variant) of what a reservation holds, earliest best-before first, and
    give back the rest; one ledger row per line and part."""
    variant_ids = sorted(quantities)
    await session.execute(
        _SELL_PART,
        {
            "reservation_id": reservation_id,
            "variant_ids": variant_ids,
            "quantities": [quantities[v] for v in variant_ids],
            "actor_user_id": actor_user_id,
            "reason": reason,
            "document_type": document_type,
            "document_ref": document_ref,
            "channel": channel,
        },
    )


async def reservation_lines_of(session: AsyncSession, reservation_id: int) -> list[tuple[int, Decimal]]:
    """(variant id, quantity) of each line a reservation holds, in line order."""
    rows = await session.execute(
        select(ReservationLine.variant_id, ReservationLine.quantity)
        .where(ReservationLine.reservation_id == reservation_id)
        .order_by(ReservationLine.id)
    )
    return [(variant_id, quantity) for variant_id, quantity in rows.all()]
