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
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.kit.errors import AppError
from app.pos import errors, selling, shifts
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
    for op in body.ops:
        try:
            async with session.begin_nested():
                if isinstance(op, SaleOp) and place is None:
                    place = await selling.sale_place(session, principal)
                result = await _one(session, principal, op, place)
        except AppError as exc:
            result = _rejected(op, exc)
        except IntegrityError as exc:
            # A second shift opened on the till at the same moment from another connection: the
            # partial unique index refused it (the pre-check could not see the uncommitted one).
            if isinstance(op, ShiftOpenOp) and _ONE_OPEN_SHIFT in str(exc.orig):
                result = _rejected(op, errors.ShiftAlreadyOpen())
            else:
                raise
        results.append(result)
    return SyncOut(results=results)


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
