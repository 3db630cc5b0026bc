"""Read models of the brand-store console: the store manager's home (their stores with today's
figures), the sales list and one sale as the back office sees it — the till's price beside the
list price where they differed, the tenders and change, the discount and who approved it, the lots
each line took from the books (FEFO, from the ledger), the stock exceptions and the returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.kit import clock
from app.pos import (
    console_access,
    console_errors,
    console_queries,
    exception_queries,
    replenishment,
    sale_detail,
    sale_queries,
    stock_exceptions,
)
from app.pos.console_queries import SaleRow
from app.pos.exception_queries import ExceptionRow
from app.pos.models import Store
from app.pos.sale_models import SaleReturn, SaleReturnLine, Tender, tender_name_zh


def tender_label(tender: Tender | sale_detail.TenderOut) -> str:
    return tender_name_zh(tender.method, tender.wallet)


@dataclass(frozen=True)
class StoreCard:
    """One store on the manager's home."""

    store: Store
    sales_today: int
    takings_today_minor: int
    open_exceptions: int
    open_replenishments: int
    open_shift_tills: list[str]


async def home(session: AsyncSession, principal: Principal) -> list[StoreCard]:
    """The principal's stores (a manager: those it runs; an admin: all) with today's figures."""
    reach = await console_access.stores_in_reach(session, principal)
    start, end = clock.day_bounds(clock.today())
    takings = await console_queries.takings_by_store(session, reach, start, end)
    exceptions = await stock_exceptions.open_counts(session, reach)
    replenishment_requests = await replenishment.open_counts(session, reach)
    shifts = await console_queries.open_shifts_by_store(session, reach)
    return [
        StoreCard(
            store=store,
            sales_today=takings.get(store.id, (0, 0))[0],
            takings_today_minor=takings.get(store.id, (0, 0))[1],
            open_exceptions=exceptions.get(store.id, 0),
            open_replenishments=replenishment_requests.get(store.id, 0),
            open_shift_tills=shifts.get(store.id, []),
        )
        for store in await console_queries.stores(session, reach)
    ]


async def stores_in_reach(session: AsyncSession, principal: Principal) -> list[Store]:
    """The stores the principal may pick in the console's filters."""
    return list(await console_queries.stores(session, await console_access.stores_in_reach(session, principal)))


async def people_named(session: AsyncSession, user_ids: list[int | None]) -> dict[int, str]:
    """Names (display name, else user name) of the people a page mentions."""
    return await console_queries.user_names(session, {i for i in user_ids if i is not None})


@dataclass(frozen=True)
class SaleItem:
    row: SaleRow
    tenders: list[Tender]
    returned: bool

    @property
    def tender_text(self) -> str:
        return " + ".join(f"{tender_label(t)}" for t in self.tenders)


async def sales(
    session: AsyncSession,
    principal: Principal,
    *,
    store: Store | None,
    till_code: str | None,
    day: date | None,
    limit: int = 200,
) -> list[SaleItem]:
    """The sales the principal may see, newest first, of one store / till / China date if asked."""
    reach = await console_access.stores_in_reach(session, principal)
    if store is not None:
        await console_access.check_store(session, principal, store.id)
        reach = frozenset({store.id})
    start, end = clock.day_bounds(day) if day is not None else (None, None)
    rows = await console_queries.list_sales(
        session, store_ids=reach, till_code=till_code or None, start=start, end=end, limit=limit
    )
    ids = [row.sale.id for row in rows]
    tenders: dict[int, list[Tender]] = {}
    for tender in await sale_queries.tenders_of(session, ids):
        tenders.setdefault(tender.sale_id, []).append(tender)
    returned = await console_queries.returned_sale_ids(session, ids)
    return [SaleItem(row, tenders.get(row.sale.id, []), row.sale.id in returned) for row in rows]


@dataclass(frozen=True)
class SaleDetail:
    """One sale for the console: the till's read model (lines with their lots, tenders) and what the
    back office adds — the stock exceptions, the returns, who approved what."""

    row: SaleRow
    detail: sale_detail.SaleDetail
    exceptions: list[ExceptionRow]
    returns: list[tuple[SaleReturn, list[tuple[SaleReturnLine, str]]]]
    names: dict[int, str]

    def name(self, user_id: int | None) -> str:
        return self.names.get(user_id, "") if user_id is not None else ""


async def sale(session: AsyncSession, principal: Principal, number: str) -> SaleDetail:
    """One sale; another store's is "not found" to a manager."""
    reach = await console_access.stores_in_reach(session, principal)
    rows = await console_queries.list_sales(
        session, store_ids=reach, till_code=None, start=None, end=None, number=number, limit=1
    )
    if not rows:
        raise console_errors.SaleNotFound(detail={"sale": number})
    row = rows[0]
    returns = await console_queries.returns_of(session, row.sale.id)
    exceptions = await exception_queries.list_exceptions(session, store_ids=None, status=None, sale_id=row.sale.id)
    people = [row.sale.discount_approved_by_id, *(e.exception.resolved_by_id for e in exceptions)]
    people += [user for r, _ in returns for user in (r.clerk_id, r.approved_by_id)]
    return SaleDetail(
        row=row,
        detail=await sale_detail.detail_of(session, row.sale),
        exceptions=exceptions,
        returns=returns,
        names=await people_named(session, people),
    )
