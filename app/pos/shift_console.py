"""The shifts console: the shifts list (/admin/pos/shifts), one shift's X or Z report, its PDF, and
a store manager confirming a variance a close made offline left pending.

Admins see every store's shifts; a store manager (signed in on a page) only the stores it runs —
another store's shift is "not found" to it (``shift_unknown``, 404), checked here before anything
is read (``console_access``); another store's list is refused (403 ``store_not_yours``). The
figures are ``shift_report.shift_figures``: the X report while the shift is open, the Z report
once it is closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.accounts.models import Role
from app.kit import clock
from app.pos import console_access, errors, sale_queries, shift_console_queries, shift_report, shifts
from app.pos.models import Store
from app.pos.sale_models import Shift, ShiftStatus, VarianceStatus
from app.pos.shift_console_queries import ShiftRow
from app.pos.shift_report import ShiftFigures


async def shift_list(
    session: AsyncSession, principal: Principal, *, store: Store | None, day: date | None, limit: int = 200
) -> list[ShiftRow]:
    """The shifts the principal may see, newest first, of one store / opened on one China date."""
    reach = await console_access.stores_in_reach(session, principal)
    if store is not None:
        await console_access.check_store(session, principal, store.id)
        reach = frozenset({store.id})
    start, end = clock.day_bounds(day) if day is not None else (None, None)
    return await shift_console_queries.list_shifts(session, store_ids=reach, start=start, end=end, limit=limit)


@dataclass(frozen=True)
class ShiftReport:
    shift: Shift
    figures: ShiftFigures
    # The principal may confirm the pending variance: a manager of the shift's store.
    can_confirm: bool

    @property
    def is_z(self) -> bool:
        return self.shift.status == ShiftStatus.closed.value

    @property
    def title(self) -> str:
        return "Z 报表（班次已结）" if self.is_z else "X 报表（班次进行中）"


async def _shift(session: AsyncSession, principal: Principal, shift_id: int) -> Shift:
    shift = await sale_queries.shift_by_id(session, shift_id)
    # Another store's shift is as good as absent to a manager (as the console's other objects).
    if shift is None or not console_access.within(
        await console_access.stores_in_reach(session, principal), shift.store_id
    ):
        raise errors.ShiftUnknown()
    return shift


async def report(session: AsyncSession, principal: Principal, shift_id: int) -> ShiftReport:
    """One shift's figures, for a user who may see its store."""
    shift = await _shift(session, principal, shift_id)
    pending = shift.variance_status == VarianceStatus.pending.value
    return ShiftReport(
        shift,
        await shift_report.shift_figures(session, shift.id),
        can_confirm=pending and principal.role is Role.store_manager,
    )


async def confirm_variance(session: AsyncSession, principal: Principal, shift_id: int) -> Shift:
    """A manager of the shift's store confirms the variance its offline close left pending."""
    shift = await _shift(session, principal, shift_id)
    return await shifts.confirm_variance(session, shift.id, principal.user_id)
