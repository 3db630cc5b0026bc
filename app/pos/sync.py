"""The till's upload (``POST /api/v1/pos/sync``): its queue of operations, processed in order, each
inside its own savepoint of the request's one transaction.

- An operation already recorded answers ``duplicate`` (with its number); each one's own row is
  inserted ``ON CONFLICT (client_id) DO NOTHING`` (see ``sale_queries``), so the same batch sent
  again, or at the same moment from another connection (that one waits for the first transaction
  and then finds the rows), records nothing twice and never fails with a 500.
- A refused operation (an ``AppError``: a 4xx code and a Chinese message) is rolled back to its
  savepoint, records nothing, and the operations after it still run; the till keeps it in its
  queue and shows it to the clerk.
- Everything is bound to the signed-in till and store: a shift of another till is
  ``shift_unknown``.
- A run of consecutive sales is recorded at once (``sale_batch``: one read and one multi-row
  write per table for the run, each sale still answered as if alone); when the run cannot be,
  its savepoint is taken back and its sales are recorded one by one, each in its savepoint.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.kit.errors import AppError
from app.pos import errors, sale_batch, selling, shifts
from app.pos.sale_models import CashDirection
from app.pos.sync_schemas import (
    CashMovementOp,
    SaleOp,
    ShiftCloseOp,
    ShiftOpenOp,
    SyncError,
    SyncIn,
    SyncOp,
    SyncOut,
    SyncResult,
)

_ONE_OPEN_SHIFT = "uq_pos_shifts_one_open_per_till"


async def sync(session: AsyncSession, principal: Principal, body: SyncIn) -> SyncOut:
    results: list[SyncResult] = []
    place: selling.SalePlace | None = None
    ops = body.ops
    # Every variant the upload's sales name: the first run locks their stock rows at once.
    variant_ids = sorted({line.variant_id for op in ops if isinstance(op, SaleOp) for line in op.lines})
    at = 0
    while at < len(ops):
        run = _sales_run(ops, at)
        if run:
            if place is None:
                place = await _place(session, principal)
            if place is not None:
                outcomes = await sale_batch.record_sales(session, principal, run, place, also_lock=variant_ids)
                if outcomes is not None:
                    for sale, outcome in zip(run, outcomes, strict=True):
                        if isinstance(outcome, AppError):
                            results.append(_rejected(sale, outcome))
                        else:
                            results.append(_done(sale, outcome.duplicate, outcome.number, outcome.public_url))
                    at += len(run)
                    continue
        end = at + max(len(run), 1)
        for op in ops[at:end]:
            result, place = await _in_savepoint(session, principal, op, place)
            results.append(result)
        at = end
    return SyncOut(results=results)


def _sales_run(ops: Sequence[SyncOp], start: int) -> list[SaleOp]:
    """The sales from ``start`` up to the next operation of another kind, or to the first sale that
    repeats a client id or a number of the run (that one starts the next run, and finds the first)."""
    run: list[SaleOp] = []
    seen: set[object] = set()
    for op in ops[start:]:
        if not isinstance(op, SaleOp) or op.client_id in seen or op.number in seen:
            break
        run.append(op)
        seen.update((op.client_id, op.number))
    return run


async def _place(session: AsyncSession, principal: Principal) -> selling.SalePlace | None:
    """Where the till sells; None when its store has no stock location (each sale is then refused
    on its own, as ``_in_savepoint`` does)."""
    try:
        return await selling.sale_place(session, principal)
    except AppError:
        return None


async def _in_savepoint(
    session: AsyncSession, principal: Principal, op: SyncOp, place: selling.SalePlace | None
) -> tuple[SyncResult, selling.SalePlace | None]:
    """One operation inside its own savepoint: recorded, duplicate or rejected."""
    try:
        async with session.begin_nested():
            if isinstance(op, SaleOp) and place is None:
                place = await selling.sale_place(session, principal)
            return await _one(session, principal, op, place), place
    except AppError as exc:
        return _rejected(op, exc), place
    except IntegrityError as exc:
        # A second shift opened on the till at the same moment from another connection: the
        # partial unique index refused it (the pre-check could not see the uncommitted one).
        if isinstance(op, ShiftOpenOp) and _ONE_OPEN_SHIFT in str(exc.orig):
            return _rejected(op, errors.ShiftAlreadyOpen()), place
        raise


async def _one(session: AsyncSession, principal: Principal, op: SyncOp, place: selling.SalePlace | None) -> SyncResult:
    if isinstance(op, ShiftOpenOp):
        opened = await shifts.open_shift(
            session, principal, client_id=op.client_id, at=op.at, float_minor=op.float_minor
        )
        return _done(op, opened.duplicate, opened.number)
    if isinstance(op, CashMovementOp):
        moved = await shifts.move_cash(
            session,
            principal,
            client_id=op.client_id,
            shift_client_id=op.shift_client_id,
            at=op.at,
            direction=CashDirection(op.direction),
            amount_minor=op.amount_minor,
            reason=op.reason,
            approval_token=op.approval_token,
        )
        return _done(op, moved.duplicate, None)
    if isinstance(op, SaleOp):
        assert place is not None
        sold = await selling.record_sale(session, principal, op, place)
        return _done(op, sold.duplicate, sold.number, sold.public_url)
    assert isinstance(op, ShiftCloseOp)
    closed = await shifts.close_shift(
        session,
        principal,
        client_id=op.client_id,
        shift_client_id=op.shift_client_id,
        at=op.at,
        made_offline=op.made_offline,
        counted=op.counted,
        approval_token=op.approval_token,
    )
    return _done(op, closed.duplicate, closed.number)


def _done(op: SyncOp, duplicate: bool, number: str | None, public_url: str | None = None) -> SyncResult:
    return SyncResult(
        client_id=op.client_id,
        kind=op.kind,
        outcome="duplicate" if duplicate else "recorded",
        number=number,
        public_url=public_url,
    )


def _rejected(op: SyncOp, exc: AppError) -> SyncResult:
    return SyncResult(
        client_id=op.client_id, kind=op.kind, outcome="rejected", error=SyncError(code=exc.code, message=exc.text)
    )
