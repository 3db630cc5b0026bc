"""Transfers between locations: shipping moves stock into the in-transit location, receiving moves
it to the destination; any shortfall on arrival is written off with its reason."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.kit.errors import InvalidInput
from app.kit.numbers import add_with_unique_number
from app.supply import errors, repository, stock_queries
from app.supply.models import LedgerKind, Transfer, TransferLine, TransferStatus
from app.supply.service import in_transit, location_or_404
from app.supply.stock import Movement, add_on_hand, lock_key, lock_order, remove_on_hand


@dataclass(frozen=True)
class ShipLine:
    lot_code: str
    quantity: Decimal


@dataclass(frozen=True)
class ReceivedLine:
    lot_code: str
    quantity: Decimal
    reason: str = ""


def new_transfer_number(today: date) -> str:
    return f"TR{today:%y%m%d}-{secrets.token_hex(3).upper()}"


async def get_transfer(session: AsyncSession, number: str) -> Transfer:
    transfer = await stock_queries.transfer_with_lines(session, number)
    if transfer is None:
        raise errors.TransferNotFound(detail={"transfer": number})
    return transfer


async def list_transfers(session: AsyncSession, limit: int = 100) -> Sequence[Transfer]:
    return await stock_queries.recent_transfers(session, limit)


async def ship(
    session: AsyncSession, *, from_code: str, to_code: str, lines: Sequence[ShipLine], note: str, actor_user_id: int
) -> Transfer:
    """Stock leaves ``from`` (unreserved stock only) and is in transit until received."""
    if not lines:
        raise InvalidInput("调拨单至少需要一行")
    source = await location_or_404(session, from_code)
    destination = await location_or_404(session, to_code)
    transit = await in_transit(session)
    if source.id == destination.id or transit.id in (source.id, destination.id):
        raise InvalidInput("调出与调入库位必须不同，且不能是在途库位")
    lots = await repository.lots_by_codes(session, [line.lot_code for line in lines])
    missing = [line.lot_code for line in lines if line.lot_code not in lots]
    if missing:
        raise errors.LotNotFound(detail={"lots": missing})
    transfer = Transfer(
        number=new_transfer_number(clock.today()),
        from_location_id=source.id,
        to_location_id=destination.id,
        status=TransferStatus.in_transit,
        note=note[:200],
        shipped_by_id=actor_user_id,
    )
    await add_with_unique_number(session, transfer, field="number", draw=lambda: new_transfer_number(clock.today()))
    # Fixed order (by lot) so two transfers from one location never lock rows in opposite orders.
    keys = await lock_order(session, source.id, [lot.id for lot in lots.values()])
    for line in sorted(lines, key=lambda item: lock_key(keys, lots[item.lot_code].id)):
        lot = lots[line.lot_code]
        if line.quantity <= 0:
            raise errors.InvalidStockQuantity("调拨数量必须大于 0")
        session.add(
            TransferLine(
                transfer_id=transfer.id, lot_id=lot.id, variant_id=lot.variant_id, quantity_shipped=line.quantity
            )
        )
        reason = f"调拨 {source.name} → {destination.name}"
        await remove_on_hand(
            session,
            location_id=source.id,
            lot=lot,
            quantity=line.quantity,
            movement=Movement(LedgerKind.transfer_out, "transfer", transfer.number, actor_user_id, reason),
        )
        await add_on_hand(
            session,
            location_id=transit.id,
            lot=lot,
            quantity=line.quantity,
            movement=Movement(LedgerKind.transfer_in, "transfer", transfer.number, actor_user_id, reason),
        )
    await session.flush()
    return await get_transfer(session, transfer.number)


async def receive(
    session: AsyncSession, number: str, *, received: Sequence[ReceivedLine], actor_user_id: int
) -> Transfer:
    """Arrival: what came moves to the destination; a shortfall leaves transit as spoilage with its
    reason. Lines not mentioned are taken as received in full. Receiving twice is refused."""
    transfer = await get_transfer(session, number)
    if not await stock_queries.mark_transfer_received(
        session, transfer.id, received_at=clock.now(), received_by_id=actor_user_id
    ):
        raise errors.TransferNotInTransit()
    transit = await in_transit(session)
    lots = {lot.id: lot for lot in (await repository.lots_by_codes(session, [r.lot_code for r in received])).values()}
    by_code = {r.lot_code: r for r in received}
    known = {line.lot_id for line in transfer.lines}
    unknown = [code for code in by_code if not any(lot.code == code and lot.id in known for lot in lots.values())]
    if unknown:
        raise InvalidInput("签收行的批次不在该调拨单中", detail={"lots": unknown})
    from app.supply.models import Lot

    keys = await lock_order(session, transit.id, [line.lot_id for line in transfer.lines])
    for line in sorted(transfer.lines, key=lambda item: lock_key(keys, item.lot_id)):
        lot = await session.get(Lot, line.lot_id)
        assert lot is not None
        report = by_code.get(lot.code)
        got = report.quantity if report else line.quantity_shipped
        if got < 0 or got > line.quantity_shipped:
            raise errors.InvalidStockQuantity("签收数量须在 0 与发出数量之间", detail={"lot": lot.code})
        shortfall = line.quantity_shipped - got
        if shortfall and not (report and report.reason.strip()):
            raise InvalidInput("签收数量少于发出数量时必须填写差异原因", detail={"lot": lot.code})
        line.quantity_received = got
        line.difference_reason = (report.reason.strip() if report else "")[:200]
        if got:
            await remove_on_hand(
                session,
                location_id=transit.id,
                lot=lot,
                quantity=got,
                movement=Movement(LedgerKind.transfer_out, "transfer", number, actor_user_id, "签收出在途"),
            )
            await add_on_hand(
                session,
                location_id=transfer.to_location_id,
                lot=lot,
                quantity=got,
                movement=Movement(LedgerKind.transfer_in, "transfer", number, actor_user_id, "调拨签收"),
            )
        if shortfall:
            await remove_on_hand(
                session,
                location_id=transit.id,
                lot=lot,
                quantity=shortfall,
                movement=Movement(
                    LedgerKind.spoilage, "transfer", number, actor_user_id, f"在途差异：{line.difference_reason}"
                ),
            )
    await session.flush()
    session.expire(transfer)
    return await get_transfer(session, number)
