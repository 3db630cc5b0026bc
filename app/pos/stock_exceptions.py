"""Stock exceptions: goods a sale took that the store's book did not hold. The sale stands and the
book stays at zero (the sync records the shortfall, ``app.pos.sale_models.StockException``); the
store manager (or an admin) resolves each one here, once, naming why the books are right again:

- ``count``: a stock count of the store's location posted after the sale (the count set the book
  to what was on the shelf);
- ``transfer``: a transfer received into the store's location after the sale (the goods that were
  sold before they were booked in);
- ``written_off``: the loss is accepted, with a note saying why.

Services only flush; the request commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.kit import clock
from app.pos import console_access, console_errors
from app.pos import exception_queries as queries
from app.pos.exception_queries import ExceptionRow
from app.pos.sale_models import StockExceptionResolution, StockExceptionStatus

RESOLUTION_LABELS_ZH = {
    StockExceptionResolution.stock_count.value: "盘点更正",
    StockExceptionResolution.transfer.value: "调拨补入",
    StockExceptionResolution.written_off.value: "核销损失",
}


# What a count / transfer reference is called, why one is refused, and which moment counts.
DOCUMENTS = {
    StockExceptionResolution.stock_count: ("盘点单", "不是本店库位已过账的盘点单", "过账时间"),
    StockExceptionResolution.transfer: ("调拨单", "不是已签收到本店库位的调拨单", "签收时间"),
}


@dataclass(frozen=True)
class Resolution:
    kind: StockExceptionResolution
    reference: str = ""  # the count or transfer number
    note: str = ""


async def list_for(
    session: AsyncSession,
    principal: Principal,
    *,
    store_id: int | None = None,
    status: StockExceptionStatus | None = StockExceptionStatus.open,
) -> list[ExceptionRow]:
    """The exceptions the principal may see (its stores), of one store if asked, newest first."""
    reach = await console_access.stores_in_reach(session, principal)
    if store_id is not None:
        await console_access.check_store(session, principal, store_id)
        reach = frozenset({store_id})
    return await queries.list_exceptions(session, store_ids=reach, status=status)


async def get_for(session: AsyncSession, principal: Principal, exception_id: int) -> ExceptionRow:
    """One exception; another store's is "not found" to a manager (its existence is not theirs)."""
    row = await queries.exception_row(session, exception_id)
    reach = await console_access.stores_in_reach(session, principal)
    if row is None or not console_access.within(reach, row.store.id):
        raise console_errors.StockExceptionNotFound(detail={"exception": exception_id})
    return row


async def _check_reference(session: AsyncSession, row: ExceptionRow, resolution: Resolution) -> None:
    """The count or transfer must be of the store's location and come after the sale."""
    exc = row.exception
    reference = resolution.reference
    if resolution.kind is StockExceptionResolution.written_off:
        if not resolution.note:
            raise console_errors.ResolutionReferenceInvalid("核销损失：请填写说明（为什么接受这笔损失）")
        return
    if not reference:
        raise console_errors.ResolutionReferenceInvalid("请填写盘点单号或调拨单号")
    document, not_here, moment = DOCUMENTS[resolution.kind]
    exists, when = await queries.reference_time(session, resolution.kind, reference, exc.location_id)
    if when is None:
        raise console_errors.ResolutionReferenceInvalid(
            f"{document} {reference} {not_here}" if exists else f"找不到{document} {reference}",
            detail={"reference": reference},
        )
    what = f"{document} {reference} 的{moment}"
    if when < row.sold_at:
        raise console_errors.ResolutionReferenceInvalid(
            f"{what}早于这笔销售（{clock.local_date(row.sold_at)}），不能用来处理这笔异常",
            detail={"reference": reference},
        )


async def resolve(
    session: AsyncSession, principal: Principal, exception_id: int, resolution: Resolution
) -> ExceptionRow:
    """Resolve one open exception, recording who and when; a second time is refused (409)."""
    row = await get_for(session, principal, exception_id)
    if row.exception.status != StockExceptionStatus.open.value:
        raise console_errors.StockExceptionResolved()
    resolution = Resolution(resolution.kind, resolution.reference.strip().upper(), resolution.note.strip()[:200])
    await _check_reference(session, row, resolution)
    if not await queries.mark_resolved(
        session,
        exception_id,
        resolution=resolution.kind.value,
        reference=resolution.reference,
        note=resolution.note,
        user_id=principal.user_id,
        at=clock.now(),
    ):
        raise console_errors.StockExceptionResolved()
    session.expire(row.exception)
    return await get_for(session, principal, exception_id)


async def open_counts(session: AsyncSession, store_ids: frozenset[int] | None) -> dict[int, int]:
    """Open exceptions per store (the store page's and the manager home's figure)."""
    return await queries.open_counts_by_store(session, store_ids)
