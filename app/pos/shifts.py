"""A till's shift (班次): opened with a float, cash put in or taken out with a reason, closed with
the drawer counted by denomination.

- One open shift per till (the partial unique index ``uq_pos_shifts_one_open_per_till``): a second
  open is refused ``shift_already_open``.
- Cash out needs a store manager: signed in at the till, or their approval token (action
  ``cash_out``) for that movement and at least its amount.
- Closing counts the drawer by denomination (fen: 10000, 5000, 2000, 1000, 500, 100, 50, 10).
  Expected cash = float + cash tendered − change + cash in − cash out − cash refunded by the
  returns taken in this shift (:func:`expected_cash`, the one formula the close and the X / Z
  report use); variance = counted − expected. A variance needs a manager (signed in, or a token,
  action ``variance``, covering |variance|); a close made offline without one is recorded with its
  variance ``pending`` and a manager confirms it in the console (:func:`confirm_variance`).
- Each operation is the till's, with its own client id: a repeat answers ``duplicate`` (closing a
  closed shift too), and a shift of another till is ``shift_unknown``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts_repository
from app.accounts.access import Principal
from app.accounts.models import User
from app.config import get_settings
from app.pos import approvals, errors, sale_queries
from app.pos.approvals import ApprovalAction
from app.pos.models import Till
from app.pos.sale_models import CashDirection, Shift, ShiftStatus, VarianceStatus

# Notes and coins a Chinese drawer holds, in fen: ¥100 50 20 10 5 1, 5 and 1 角.
DENOMINATIONS: tuple[int, ...] = (10000, 5000, 2000, 1000, 500, 100, 50, 10)


@dataclass(frozen=True)
class Outcome:
    """What became of one uploaded operation: recorded now, or recorded before (duplicate)."""

    duplicate: bool
    number: str | None = None


@dataclass(frozen=True)
class CashSums:
    float_minor: int
    cash_tendered_minor: int
    change_minor: int
    cash_in_minor: int
    cash_out_minor: int
    cash_refunded_minor: int

    @property
    def cash_sales_minor(self) -> int:
        return self.cash_tendered_minor - self.change_minor

    @property
    def expected_minor(self) -> int:
        return (
            self.float_minor
            + self.cash_sales_minor
            + self.cash_in_minor
            - self.cash_out_minor
            - self.cash_refunded_minor
        )


async def expected_cash(session: AsyncSession, shift: Shift) -> CashSums:
    tendered, change, moved_in, moved_out, refunded = await sale_queries.cash_sums(session, shift.id)
    return CashSums(shift.float_minor, tendered, change, moved_in, moved_out, refunded)


def shift_number(shift: Shift) -> str:
    """How people name a shift: the first part of its client id (unique enough on one till)."""
    return str(shift.client_id).split("-")[0].upper()


async def till_shift(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> Shift:
    """The shift with this client id, of the principal's till; else ``shift_unknown``."""
    shift = await sale_queries.shift_by_client_id(session, client_id)
    if shift is None or shift.till_id != principal.till_id:
        raise errors.ShiftUnknown(detail={"shift_client_id": str(client_id)})
    return shift


async def open_shift(
    session: AsyncSession, principal: Principal, *, client_id: uuid.UUID, at: datetime, float_minor: int
) -> Outcome:
    assert principal.till_id is not None and principal.store_id is not None
    await sale_queries.lock_till(session, principal.till_id)
    existing = await sale_queries.shift_by_client_id(session, client_id)
    if existing is None:
        if await sale_queries.open_shift_of_till(session, principal.till_id) is not None:
            raise errors.ShiftAlreadyOpen()
        new_id = await sale_queries.insert_shift(
            session,
            {
                "client_id": client_id,
                "store_id": principal.store_id,
                "till_id": principal.till_id,
                "status": ShiftStatus.open.value,
                "opened_by_id": principal.user_id,
                "opened_at": at,
                "float_minor": float_minor,
                "variance_status": VarianceStatus.none.value,
                "closed_offline": False,
            },
        )
        if new_id is not None:
            shift = await sale_queries.shift_by_id(session, new_id)
            assert shift is not None
            return Outcome(False, shift_number(shift))
        existing = await sale_queries.shift_by_client_id(session, client_id)
        assert existing is not None
    if existing.till_id != principal.till_id:
        raise errors.ClientIdTaken()
    return Outcome(True, shift_number(existing))


async def move_cash(
    session: AsyncSession,
    principal: Principal,
    *,
    client_id: uuid.UUID,
    shift_client_id: uuid.UUID,
    at: datetime,
    direction: CashDirection,
    amount_minor: int,
    reason: str,
    approval_token: str | None,
) -> Outcome:
    existing = await sale_queries.cash_movement_by_client_id(session, client_id)
    shift = await till_shift(session, principal, shift_client_id)
    if existing is not None:
        if existing.shift_id != shift.id:
            raise errors.ClientIdTaken()
        return Outcome(True)
    if shift.status != ShiftStatus.open.value:
        raise errors.ShiftClosed()
    approved_by: int | None = None
    if direction is CashDirection.cash_out:
        approved_by = await approvals.approver(
            session,
            principal,
            approval_token,
            action=ApprovalAction.cash_out,
            op_client_id=client_id,
            amount_minor=amount_minor,
            needed=errors.CashOutNeedsApproval(),
        )
    new_id = await sale_queries.insert_cash_movement(
        session,
        {
            "client_id": client_id,
            "shift_id": shift.id,
            "direction": direction.value,
            "amount_minor": amount_minor,
            "reason": reason.strip()[:200],
            "user_id": principal.user_id,
            "approved_by_id": approved_by,
            "moved_at": at,
        },
    )
    return Outcome(new_id is None)


async def close_shift(
    session: AsyncSession,
    principal: Principal,
    *,
    client_id: uuid.UUID,
    shift_client_id: uuid.UUID,
    at: datetime,
    made_offline: bool,
    counted: dict[str, int],
    approval_token: str | None,
) -> Outcome:
    shift = await till_shift(session, principal, shift_client_id)
    if shift.status == ShiftStatus.closed.value:
        return Outcome(True, shift_number(shift))
    by_denomination = _counted(counted)
    counted_minor = sum(value * count for value, count in by_denomination.items())
    expected = (await expected_cash(session, shift)).expected_minor
    variance = counted_minor - expected
    status, approved_by = VarianceStatus.none, None
    if variance != 0:
        status, approved_by = await _variance_decision(
            session, principal, approval_token, client_id=client_id, variance=variance, made_offline=made_offline
        )
    closed = await sale_queries.close_shift_if_open(
        session,
        shift.id,
        closed_by_id=principal.user_id,
        closed_at=at,
        closed_offline=made_offline,
        counted_denominations={str(value): count for value, count in sorted(by_denomination.items(), reverse=True)},
        counted_cash_minor=counted_minor,
        expected_cash_minor=expected,
        variance_minor=variance,
        variance_status=status.value,
        variance_approved_by_id=approved_by,
    )
    return Outcome(not closed, shift_number(shift))


def _counted(counted: dict[str, int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for key, count in counted.items():
        try:
            value = int(key)
        except ValueError:
            value = -1
        if value not in DENOMINATIONS:
            raise errors.DenominationUnknown(detail={"denomination": key})
        if count < 0 or count > 1_000_000:
            raise errors.DenominationUnknown("张数必须是 0 或正整数", detail={"denomination": key})
        out[value] = out.get(value, 0) + count
    return out


async def _variance_decision(
    session: AsyncSession,
    principal: Principal,
    token: str | None,
    *,
    client_id: uuid.UUID,
    variance: int,
    made_offline: bool,
) -> tuple[VarianceStatus, int | None]:
    """A manager approves the variance (signed in, or by token); a close made offline without a
    valid approval waits for one in the console."""
    try:
        manager = await approvals.approver(
            session,
            principal,
            token,
            action=ApprovalAction.variance,
            op_client_id=client_id,
            amount_minor=abs(variance),
            needed=errors.VarianceNeedsApproval(),
        )
    except (errors.VarianceNeedsApproval, errors.ApprovalInvalid):
        if made_offline:
            return VarianceStatus.pending, None
        raise
    return VarianceStatus.approved, manager


async def confirm_variance(session: AsyncSession, shift_id: int, manager_user_id: int) -> Shift:
    """A store manager confirms a variance left pending by a close made offline (the console)."""
    shift = await sale_queries.shift_by_id(session, shift_id)
    if shift is None:
        raise errors.ShiftUnknown()
    if not await accounts_repository.manages_store(session, manager_user_id, shift.store_id):
        raise errors.NotStoreManager()
    if shift.variance_status == VarianceStatus.pending.value:
        await sale_queries.confirm_pending_variance(session, shift.id, manager_user_id)
    refreshed = await sale_queries.shift_by_id(session, shift.id)
    assert refreshed is not None
    return refreshed


@dataclass(frozen=True)
class TillState:
    """What the till screen needs beyond who is signed in: where its numbering stands, its open
    shift, the clerk's discount limit and whether a manager is at the till."""

    next_sale_seq: int
    open_shift: Shift | None
    discount_limit_percent: int
    is_manager: bool


async def till_state(session: AsyncSession, till: Till, user: User) -> TillState:
    return TillState(
        next_sale_seq=await sale_queries.highest_sale_seq(session, till.id, till.sale_prefix) + 1,
        open_shift=await sale_queries.open_shift_of_till(session, till.id),
        discount_limit_percent=get_settings().pos_clerk_discount_limit_percent,
        is_manager=await approvals.manages(session, user.role, user.id, till.store_id),
    )
