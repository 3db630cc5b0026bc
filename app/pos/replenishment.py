"""Replenishment: a store asks the county warehouse for goods (补货申请), and the warehouse ships
them — a transfer from the warehouse to the store's location, lots chosen FEFO, through
``app.supply.transfers.ship`` (stock goes in transit, the store receives it as any transfer) — or
declines with a reason. A request is answered once.

Numbers are ``BH-YYYYMMDD-NNNN``: the China date of the request and the day's sequence, given
under an advisory lock held until the request commits. Services only flush; the request commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.access import Principal
from app.catalog import repository as catalog_repository
from app.kit import clock
from app.kit.quantities import Unit, format_quantity
from app.pos import console_access, console_errors, console_queries
from app.pos import replenishment_queries as queries
from app.pos.models import Store
from app.pos.replenishment_queries import LineRow, RequestRow
from app.pos.sale_models import ReplenishmentRequest, ReplenishmentStatus
from app.supply import errors as supply_errors
from app.supply import repository as supply_repository
from app.supply import service as supply_service
from app.supply import transfers
from app.supply.models import Transfer

PREFIX = "BH"


class ReplenishmentLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    sku: str = Field(min_length=1, max_length=40)
    quantity: Decimal = Field(gt=0, max_digits=12, decimal_places=3)


class ReplenishmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    lines: list[ReplenishmentLineIn] = Field(min_length=1, max_length=50)
    note: str = Field(default="", max_length=200)


@dataclass(frozen=True)
class RequestView:
    row: RequestRow
    lines: list[LineRow]

    @property
    def request(self) -> ReplenishmentRequest:
        return self.row.request


def document_number(day: date, last: str | None) -> str:
    """``BH-YYYYMMDD-NNNN``: the day's next after ``last`` (the day's highest so far)."""
    n = int(last.rsplit("-", 1)[1]) + 1 if last else 1
    return f"{PREFIX}-{day:%Y%m%d}-{n:04d}"


async def next_number(session: AsyncSession) -> str:
    day = clock.today()
    stem = f"{PREFIX}-{day:%Y%m%d}-"
    await queries.lock_numbering(session, stem)
    return document_number(day, await queries.last_number(session, stem))


async def request(session: AsyncSession, principal: Principal, store: Store, body: ReplenishmentIn) -> RequestView:
    """A store's request: each SKU an active variant, quantities whole for pieces and boxes; the
    same SKU twice is one line with the quantities added."""
    if principal.till_id is None:  # at a till the store is the till's; on a page it is checked
        await console_access.check_store(session, principal, store.id)
    elif principal.store_id != store.id:
        raise console_errors.StoreNotYours()
    wanted: dict[str, Decimal] = {}
    for line in body.lines:
        wanted[line.sku.upper()] = wanted.get(line.sku.upper(), Decimal(0)) + line.quantity
    variants = await catalog_repository.active_variants_by_sku(session, list(wanted))
    unknown = [sku for sku in wanted if sku not in variants]
    if unknown:
        raise console_errors.ReplenishmentInvalid(
            f"没有这些在售商品规格：{'、'.join(unknown)}", detail={"skus": unknown}
        )
    for sku, quantity in wanted.items():
        try:
            supply_service.check_quantity_for_unit(quantity, Unit(variants[sku].unit))
        except supply_errors.InvalidStockQuantity as exc:
            raise console_errors.ReplenishmentInvalid(f"{sku}：{exc.text}", detail={"sku": sku}) from exc
    row = ReplenishmentRequest(
        number=await next_number(session),
        store_id=store.id,
        requested_by_id=principal.user_id,
        status=ReplenishmentStatus.requested.value,
        note=body.note,
    )
    await queries.add(session, row, [(variants[sku].id, quantity) for sku, quantity in wanted.items()])
    return await _view(session, row.number, frozenset({store.id}))


async def request_at_till(session: AsyncSession, principal: Principal, body: ReplenishmentIn) -> RequestView:
    """A request made at a till: for the till's own store."""
    assert principal.store_id is not None  # rule at_till: bound to the till's store
    store = await console_queries.store_by_id(session, principal.store_id)
    assert store is not None  # a till's store is never deleted
    return await request(session, principal, store, body)


async def list_for(
    session: AsyncSession, principal: Principal, *, store_id: int | None = None, limit: int = 100
) -> list[RequestView]:
    """Requests the principal may see (the warehouse and admins: all), waiting ones first."""
    reach = await console_access.stores_in_reach(session, principal)
    if store_id is not None:
        await console_access.check_store(session, principal, store_id)
        reach = frozenset({store_id})
    rows = await queries.list_requests(session, store_ids=reach, limit=limit)
    lines = await queries.lines_of(session, [row.request.id for row in rows])
    return [RequestView(row, lines.get(row.request.id, [])) for row in rows]


async def _view(session: AsyncSession, number: str, reach: frozenset[int] | None) -> RequestView:
    rows = await queries.list_requests(session, store_ids=reach, number=number, limit=1)
    if not rows:
        raise console_errors.ReplenishmentNotFound(detail={"request": number})
    lines = await queries.lines_of(session, [rows[0].request.id])
    return RequestView(rows[0], lines.get(rows[0].request.id, []))


async def get_for(session: AsyncSession, principal: Principal, number: str) -> RequestView:
    """One request; another store's is "not found" to a manager."""
    return await _view(session, number, await console_access.stores_in_reach(session, principal))


async def _locked_waiting(session: AsyncSession, number: str) -> ReplenishmentRequest:
    found = await queries.request_for_update(session, number)
    if found is None:
        raise console_errors.ReplenishmentNotFound(detail={"request": number})
    if found.status != ReplenishmentStatus.requested.value:
        raise console_errors.ReplenishmentDecided()
    return found


async def _fefo_lines(session: AsyncSession, warehouse_id: int, lines: Sequence[LineRow]) -> list[transfers.ShipLine]:
    """The warehouse's unexpired lots for each line, soonest best-before first. Every line the
    warehouse cannot cover is named in one refusal (409 ``insufficient_stock``), as a transfer's
    short lines are."""
    ship: list[transfers.ShipLine] = []
    short = []
    today = clock.today()
    for row in lines:
        wanted = row.line.quantity
        available = Decimal(0)
        for lot_code, free in await queries.free_lots_fefo(session, warehouse_id, row.line.variant_id, today):
            take = min(free, wanted - available)
            if take > 0:
                ship.append(transfers.ShipLine(lot_code, take))
            available += take
            if available >= wanted:
                break
        if available < wanted:
            short.append(
                {
                    "sku": row.sku,
                    "requested": format_quantity(wanted),
                    "available": format_quantity(available),
                    "message": f"{row.name_zh}（{row.sku}）仓库可用 {format_quantity(available)}，"
                    f"需要 {format_quantity(wanted)}",
                }
            )
    if short:
        raise supply_errors.InsufficientStock("仓库库存不足，不能按申请发货", detail={"lines": short})
    return ship


async def ship(session: AsyncSession, principal: Principal, number: str) -> Transfer:
    """Ship a waiting request: a transfer from the warehouse to the store's location (FEFO lots),
    linked to the request. Shipping twice is refused (409)."""
    waiting = await _locked_waiting(session, number)
    view = await get_for(session, principal, number)
    warehouse = await supply_service.warehouse(session)
    destination = await supply_repository.location_for_store(session, waiting.store_id)
    if destination is None:
        raise console_errors.ReplenishmentInvalid("该门店还没有库存库位：先在门店页保存门店信息")
    transfer = await transfers.ship(
        session,
        from_code=warehouse.code,
        to_code=destination.code,
        lines=await _fefo_lines(session, warehouse.id, view.lines),
        note=f"补货申请 {number}",
        actor_user_id=principal.user_id,
    )
    if not await queries.mark_decided(
        session,
        waiting.id,
        status=ReplenishmentStatus.shipped,
        user_id=principal.user_id,
        at=clock.now(),
        transfer_id=transfer.id,
    ):
        raise console_errors.ReplenishmentDecided()
    return transfer


async def decline(session: AsyncSession, principal: Principal, number: str, reason: str) -> ReplenishmentRequest:
    reason = reason.strip()
    if not reason:
        raise console_errors.ReplenishmentInvalid("拒绝补货：请填写原因")
    waiting = await _locked_waiting(session, number)
    await queries.mark_decided(
        session,
        waiting.id,
        status=ReplenishmentStatus.declined,
        user_id=principal.user_id,
        at=clock.now(),
        reason=reason[:200],
    )
    await session.refresh(waiting)
    return waiting


async def open_counts(session: AsyncSession, store_ids: frozenset[int] | None) -> dict[int, int]:
    """Waiting requests per store."""
    return await queries.open_counts_by_store(session, store_ids)
