"""A till's run of consecutive sales in one upload, recorded at once: what ``selling.record_sale``
does for one sale, with the reads made once for the run (the sales already recorded, the shifts,
the variants and their prices, the store's lots) and the writes made with one multi-row statement
per table (orders, order lines, events, sales, sale lines, tenders, stock exceptions, the stock
levels and their ledger rows).

Each sale keeps its outcome as if recorded alone: checks run per sale first, and one that fails
is refused (nothing written for it); the others are written together inside one savepoint.
Exactly once stays on the same unique keys: orders are inserted ``ON CONFLICT (number) DO
NOTHING`` (the same batch uploaded at the same moment from another connection waits there for
the first transaction, then finds every number taken and answers ``duplicate``), sales ``ON
CONFLICT (client_id) DO NOTHING``. Anything out of the ordinary — a sale's client id taken under
another number, the book moving under a lock — takes the savepoint back, and the caller records
the run one sale at a time (``selling.record_sale``), which says what happened to each.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.catalog import pricing
from app.catalog import repository as catalog_repository
from app.channels import SalesChannel
from app.kit.errors import AppError
from app.orders import counter_batch
from app.pos import errors, sale_batch_queries, sale_queries
from app.pos.selling import CheckedSale, Recorded, SalePlace, check_sale, duplicate_of, public_url
from app.pos.sync_schemas import SaleOp
from app.supply import counter_sales


class _OneByOne(Exception):
    """The run cannot be recorded at once: its savepoint is taken back."""


async def record_sales(
    session: AsyncSession,
    principal: Principal,
    ops: Sequence[SaleOp],
    place: SalePlace,
    *,
    also_lock: Sequence[int] = (),
) -> list[Recorded | AppError] | None:
    """Each sale's outcome (recorded, duplicate, or the error that refused it), in order; None when
    nothing was written and the run must be recorded one sale at a time. ``ops`` name each client
    id and each number once (the caller cuts the run where one repeats). ``also_lock``: the
    variants of the upload's other sales, whose stock rows are locked with this run's (in one
    statement, in the order every stock writer locks them), so that a later run of the same upload
    locks nothing new and two tills' uploads never wait on each other in a cycle."""
    assert principal.till_id is not None and principal.store_id is not None
    outcomes: list[Recorded | AppError | None] = [None] * len(ops)
    recorded = await sale_batch_queries.recorded_sales(session, [op.client_id for op in ops])
    shifts = await sale_batch_queries.shifts_by_client_ids(session, [op.shift_client_id for op in ops])
    skus = sorted({line.sku for op in ops for line in op.lines})
    variants = await catalog_repository.active_variants_with_products(session, skus)
    prices = await pricing.counter_prices(session, skus, channel=SalesChannel.pos, variants=variants)
    checked: list[tuple[int, CheckedSale]] = []
    for n, op in enumerate(ops):
        try:
            if op.client_id in recorded:
                outcomes[n] = duplicate_of(*recorded[op.client_id], principal, op)
                continue
            shift = shifts.get(op.shift_client_id)
            if shift is None or shift.till_id != principal.till_id:
                raise errors.ShiftUnknown(detail={"shift_client_id": str(op.shift_client_id)})
            checked.append((n, await check_sale(session, principal, op, place, shift, prices)))
        except AppError as exc:
            outcomes[n] = exc
    if checked:
        try:
            async with session.begin_nested():
                written = await _write(session, principal, place, [sale for _, sale in checked], also_lock)
        except (_OneByOne, counter_sales.BookMoved):
            return None
        for (n, sale), done in zip(checked, written, strict=True):
            outcomes[n] = done if done is not None else await _not_written(session, principal, sale.op)
    assert all(outcome is not None for outcome in outcomes)
    return [outcome for outcome in outcomes if outcome is not None]


async def _write(
    session: AsyncSession,
    principal: Principal,
    place: SalePlace,
    sales: Sequence[CheckedSale],
    also_lock: Sequence[int],
) -> list[Recorded | None]:
    """Write the sales; None for one whose number an order has already (resolved by the caller)."""
    orders = await counter_batch.create_counter_orders(session, [sale.order(principal, place) for sale in sales])
    written = [(sale, order) for sale, order in zip(sales, orders, strict=True) if order is not None]
    if not written:
        return [None] * len(sales)
    sale_ids = await sale_batch_queries.insert_sales(
        session, [sale.sale_values(principal, place, order.order_id) for sale, order in written]
    )
    if len(sale_ids) != len(written):
        raise _OneByOne()  # a client id taken by another sale: each one's own answer, one by one
    taken = await counter_sales.take_for_counter_sales(
        session,
        location_id=place.location_id,
        sales=[(sale.op.number, sale.counter_lines(order.line_ids)) for sale, order in written],
        actor_user_id=principal.user_id,
        also_lock=also_lock,
    )
    lines, tenders, exceptions = [], [], []
    for (sale, order), took in zip(written, taken, strict=True):
        sale_id = sale_ids[sale.op.client_id]
        lines += sale.line_values(sale_id, order.line_ids, took)
        tenders += sale.tender_values(sale_id)
        exceptions += sale.exception_values(principal, place, sale_id, took)
    await sale_batch_queries.insert_sale_rows(session, lines, tenders, exceptions)
    return [
        None if order is None else Recorded(False, sale.op.number, public_url(sale.op.client_id))
        for sale, order in zip(sales, orders, strict=True)
    ]


async def _not_written(session: AsyncSession, principal: Principal, op: SaleOp) -> Recorded | AppError:
    """A sale whose number an order had already: this very sale (uploaded meanwhile from another
    connection, whose transaction this one waited for), or another one."""
    existing = await sale_queries.sale_by_client_id(session, op.client_id)
    if existing is None:
        return errors.SaleNumberTaken(detail={"number": op.number})
    try:
        return duplicate_of(existing.till_id, existing.number, principal, op)
    except AppError as exc:
        return exc
