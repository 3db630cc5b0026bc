"""Read models of the supply domain: stock rows, lots, ledger entries, transfers, counts as the API
and the ops console show them (codes and SKUs rather than ids)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import repository as accounts_repository
from app.catalog import repository as catalog_repository
from app.kit import clock
from app.supply import repository, schemas
from app.supply.models import (
    LedgerKind,
    Lot,
    Reservation,
    StockCount,
    StockLedgerEntry,
    Supplier,
    Transfer,
)


async def stock_out(
    session: AsyncSession,
    sku: str | None,
    variant_id: int | None,
    *,
    location_id: int | None = None,
    today: date | None = None,
) -> schemas.StockOut:
    today = today or clock.today()
    rows = await repository.stock_rows(session, variant_id=variant_id, location_id=location_id)
    skus = await catalog_repository.skus_by_ids(session, (level.variant_id for level, _, _ in rows))
    out = []
    totals: dict[str, dict[str, dict[str, Decimal]]] = {}
    for level, lot, location in rows:
        available = level.on_hand - level.reserved
        out.append(
            schemas.StockRowOut(
                sku=skus[level.variant_id],
                location=location.code,
                location_name=location.name,
                lot=lot.code,
                best_before=level.best_before,
                expired=level.best_before < today,
                on_hand=level.on_hand,
                reserved=level.reserved,
                available=available,
            )
        )
        bucket = totals.setdefault(location.code, {}).setdefault(
            skus[level.variant_id], {"on_hand": Decimal(0), "reserved": Decimal(0), "available": Decimal(0)}
        )
        bucket["on_hand"] += level.on_hand
        bucket["reserved"] += level.reserved
        # Expired lots are on hand but not available to sell.
        if level.best_before >= today:
            bucket["available"] += available
    return schemas.StockOut(sku=sku, rows=out, totals=totals)


async def lots_out(
    session: AsyncSession, lots: Sequence[tuple[Lot, Decimal]], *, today: date | None = None
) -> list[schemas.LotOut]:
    today = today or clock.today()
    variants = await catalog_repository.skus_and_product_names(session, (lot.variant_id for lot, _ in lots))
    suppliers = await repository.suppliers_by_ids(session, [lot.supplier_id for lot, _ in lots])
    confirmers = await accounts_repository.usernames_by_ids(
        session, (lot.grower_exception_by_id for lot, _ in lots if lot.grower_exception_by_id)
    )
    result = []
    for lot, on_hand in lots:
        sku, name = variants[lot.variant_id]
        supplier = suppliers[lot.supplier_id]
        result.append(
            schemas.LotOut(
                code=lot.code,
                sku=sku,
                product_name_zh=name,
                supplier_code=supplier.code,
                supplier_name=supplier.name,
                harvest_date=lot.harvest_date,
                best_before=lot.best_before,
                grade=lot.grade,
                certificate_no=lot.certificate_no,
                quality_notes=lot.quality_notes,
                quantity_received=lot.quantity_received,
                purchase_price_minor=lot.purchase_price_minor,
                on_hand=on_hand,
                origin=lot.origin.value,
                supplier_is_grower=lot.supplier_grew_it,
                grower_exception_reason=lot.grower_exception_reason,
                grower_exception_by=confirmers.get(lot.grower_exception_by_id) if lot.grower_exception_by_id else None,
                expired=lot.best_before < today,
                days_left=(lot.best_before - today).days,
                trace_url=f"/t/{lot.code}",
                label_url=f"/api/v1/admin/lots/{lot.code}/label.pdf",
            )
        )
    return result


async def suppliers_out(session: AsyncSession, suppliers: Sequence[Supplier]) -> list[schemas.SupplierOut]:
    grows = await repository.grown_product_slugs(session, [s.id for s in suppliers])
    stored = [name for name in schemas.SupplierOut.model_fields if name != "grows"]
    return [
        schemas.SupplierOut.model_validate({**{name: getattr(s, name) for name in stored}, "grows": grows[s.id]})
        for s in suppliers
    ]


async def ledger_out(session: AsyncSession, entries: Sequence[StockLedgerEntry]) -> list[schemas.LedgerEntryOut]:
    skus = await catalog_repository.skus_by_ids(session, (e.variant_id for e in entries))
    locations = await repository.location_codes_by_ids(session, (e.location_id for e in entries))
    lots = await repository.lot_codes_by_ids(session, (e.lot_id for e in entries))
    actors = await accounts_repository.usernames_by_ids(session, (e.actor_user_id for e in entries if e.actor_user_id))
    return [
        schemas.LedgerEntryOut(
            id=e.id,
            created_at=e.created_at,
            kind=e.kind.value,
            kind_zh=LedgerKind(e.kind).label_zh,
            sku=skus[e.variant_id],
            location=locations[e.location_id],
            lot=lots[e.lot_id],
            on_hand_delta=e.on_hand_delta,
            reserved_delta=e.reserved_delta,
            actor=actors.get(e.actor_user_id) if e.actor_user_id else None,
            reason=e.reason,
            document_type=e.document_type,
            document_ref=e.document_ref,
            channel=e.channel,
        )
        for e in entries
    ]


async def transfer_out(session: AsyncSession, transfer: Transfer) -> schemas.TransferOut:
    locations = await repository.location_codes_by_ids(session, [transfer.from_location_id, transfer.to_location_id])
    skus = await catalog_repository.skus_by_ids(session, (line.variant_id for line in transfer.lines))
    lots = await repository.lot_codes_by_ids(session, (line.lot_id for line in transfer.lines))
    return schemas.TransferOut(
        number=transfer.number,
        from_location=locations[transfer.from_location_id],
        to_location=locations[transfer.to_location_id],
        status=transfer.status.value,
        note=transfer.note,
        shipped_at=transfer.shipped_at,
        received_at=transfer.received_at,
        lines=[
            schemas.TransferLineOut(
                lot=lots[line.lot_id],
                sku=skus[line.variant_id],
                quantity_shipped=line.quantity_shipped,
                quantity_received=line.quantity_received,
                difference_reason=line.difference_reason,
            )
            for line in transfer.lines
        ],
    )


async def count_out(session: AsyncSession, count: StockCount) -> schemas.CountOut:
    locations = await repository.location_codes_by_ids(session, [count.location_id])
    skus = await catalog_repository.skus_by_ids(session, (line.variant_id for line in count.lines))
    lots = await repository.lot_codes_by_ids(session, (line.lot_id for line in count.lines))
    return schemas.CountOut(
        number=count.number,
        location=locations[count.location_id],
        status=count.status.value,
        lines=[
            schemas.CountLineOut(
                lot=lots[line.lot_id],
                sku=skus[line.variant_id],
                expected=line.expected,
                counted=line.counted,
                difference=None if line.counted is None else line.counted - line.expected,
            )
            for line in count.lines
        ],
    )


async def reservation_out(session: AsyncSession, reservation: Reservation) -> schemas.ReservationOut:
    locations = await repository.location_codes_by_ids(session, [reservation.location_id])
    skus = await catalog_repository.skus_by_ids(session, (line.variant_id for line in reservation.lines))
    lots = await repository.lot_codes_by_ids(session, (line.lot_id for line in reservation.lines))
    return schemas.ReservationOut(
        reference=reservation.reference,
        channel=reservation.channel,
        location=locations[reservation.location_id],
        status=reservation.status.value,
        expires_at=reservation.expires_at,
        lines=[
            schemas.ReservationLineOut(sku=skus[line.variant_id], lot=lots[line.lot_id], quantity=line.quantity)
            for line in reservation.lines
        ],
    )
