"""Stock JSON API for the ops console, warehouse tools and scripts. Writes that move stock accept an
``Idempotency-Key``: a retried call returns the first result and moves nothing twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, status
from fastapi.responses import JSONResponse

from app.accounts.access import AdminUser, StaffUser, WarehouseUser
from app.catalog import repository as catalog_repository
from app.catalog.errors import VariantNotFound
from app.db import DbSession
from app.kit import clock
from app.kit.idempotency import idempotent_json
from app.supply import counts, errors, repository, reservations, schemas, service, transfers, views
from app.supply.models import LedgerKind, Supplier, SupplierKind

router = APIRouter(prefix="/api/v1/admin", tags=["stock"])

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="重试同一请求时带上同一个键，结果只生效一次")
]
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "lot_not_found / location_not_found / variant_not_found"},
    409: {"description": "insufficient_stock（detail.lines 列出每一行的需求与可用量）"},
    422: {"description": "validation_error / invalid_stock_quantity / idempotency_key_reused"},
}
RECEIPT_ERRORS: dict[int | str, dict[str, Any]] = {
    **WRITE_ERRORS,
    404: {"description": "variant_not_found / supplier_not_found / location_not_found"},
    422: {
        "description": "validation_error（如缺少 harvest_date）/ invalid_stock_quantity / idempotency_key_reused / "
        "supplier_not_grower（供应商未登记为该商品的生产者，detail 列出供应商与商品）/ "
        "grower_exception_reason_required"
    },
}


@router.get("/locations", response_model=list[schemas.LocationOut])
async def list_locations(session: DbSession, _: StaffUser) -> list[schemas.LocationOut]:
    return [schemas.LocationOut.model_validate(loc) for loc in await repository.list_locations(session)]


@router.get("/stock", response_model=schemas.StockOut)
async def stock(
    session: DbSession,
    _: StaffUser,
    sku: Annotated[str | None, Query(max_length=40)] = None,
    location: Annotated[str | None, Query(max_length=30)] = None,
) -> schemas.StockOut:
    """On hand, reserved and available per location and lot (expired lots count as not available)."""
    variant_id = None
    if sku:
        variant = await catalog_repository.variant_by_sku(session, sku)
        if variant is None:
            raise VariantNotFound(detail={"sku": sku})
        variant_id = variant.id
    location_id = (await service.location_or_404(session, location)).id if location else None
    return await views.stock_out(session, sku, variant_id, location_id=location_id)


@router.get("/lots", response_model=list[schemas.LotOut])
async def list_lots(
    session: DbSession,
    _: StaffUser,
    sku: Annotated[str | None, Query(max_length=40)] = None,
    in_stock: bool = False,
) -> list[schemas.LotOut]:
    """Lots, expiring soonest first."""
    variant_id = None
    if sku:
        variant = await catalog_repository.variant_by_sku(session, sku)
        if variant is None:
            raise VariantNotFound(detail={"sku": sku})
        variant_id = variant.id
    rows = await repository.list_lots(session, variant_id=variant_id, with_stock_only=in_stock)
    return await views.lots_out(session, rows)


@router.get("/lots/{code}", response_model=schemas.LotOut)
async def get_lot(code: str, session: DbSession, _: StaffUser) -> schemas.LotOut:
    lot = await service.lot_or_404(session, code)
    on_hand = sum(
        (level.on_hand for level, _, _ in await repository.stock_rows(session, lot_id=lot.id)), start=Decimal(0)
    )
    return (await views.lots_out(session, [(lot, on_hand)]))[0]


@router.post("/lots", response_model=schemas.LotOut, status_code=status.HTTP_201_CREATED, responses=RECEIPT_ERRORS)
async def receive_lot(
    body: schemas.LotReceiptIn,
    request: Request,
    session: DbSession,
    principal: WarehouseUser,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Receive a harvest lot into stock (default: the county warehouse). The harvest date is
    required; the supplier must be a registered grower of the product (``GET /suppliers`` →
    ``grows``), or the caller confirms an exception with ``grower_exception`` and a reason, which
    is recorded on the lot (the trace page then names the supplier as the source, not the grower)."""

    async def work() -> Any:
        lot = await service.receive_lot(
            session, service.ReceiptInput(**body.model_dump()), actor_user_id=principal.user_id
        )
        return (await views.lots_out(session, [(lot, lot.quantity_received)]))[0].model_dump(mode="json")

    return await idempotent_json(
        session, request, scope=f"user:{principal.user_id}", key=idempotency_key, body=body, work=work
    )


@router.post(
    "/stock/adjustments", status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS, response_model=schemas.StockOut
)
async def adjust_stock(
    body: schemas.AdjustmentIn,
    request: Request,
    session: DbSession,
    principal: WarehouseUser,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Correct stock with a reason: adjustment (±), spoilage 损耗 (−) or return (+)."""

    async def work() -> Any:
        await service.adjust(session, **body.model_dump(), actor_user_id=principal.user_id)
        lot = await service.lot_or_404(session, body.lot_code)
        return (await views.stock_out(session, None, lot.variant_id)).model_dump(mode="json")

    return await idempotent_json(
        session, request, scope=f"user:{principal.user_id}", key=idempotency_key, body=body, work=work
    )


@router.get("/ledger", response_model=list[schemas.LedgerEntryOut])
async def ledger(
    session: DbSession,
    _: StaffUser,
    sku: Annotated[str | None, Query(max_length=40)] = None,
    location: Annotated[str | None, Query(max_length=30)] = None,
    lot: Annotated[str | None, Query(max_length=30)] = None,
    kind: LedgerKind | None = None,
    document: Annotated[str | None, Query(max_length=60)] = None,
    since: date | None = None,
    until: date | None = None,
    before_id: Annotated[int | None, Query(ge=1, description="翻页：上一页最后一条的 id")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[schemas.LedgerEntryOut]:
    """Stock ledger, newest first, filtered by SKU, location, lot, kind, document and dates."""
    variant_id = location_id = lot_id = None
    if sku:
        variant = await catalog_repository.variant_by_sku(session, sku)
        if variant is None:
            raise VariantNotFound(detail={"sku": sku})
        variant_id = variant.id
    if location:
        location_id = (await service.location_or_404(session, location)).id
    if lot:
        lot_id = (await service.lot_or_404(session, lot)).id
    entries = await repository.ledger_entries(
        session,
        variant_id=variant_id,
        location_id=location_id,
        lot_id=lot_id,
        kind=kind,
        document_ref=document,
        since=datetime.combine(since, datetime.min.time(), UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), datetime.min.time(), UTC) if until else None,
        before_id=before_id,
        limit=limit,
    )
    return await views.ledger_out(session, entries)


@router.get("/transfers", response_model=list[schemas.TransferOut])
async def list_transfers(session: DbSession, _: StaffUser) -> list[schemas.TransferOut]:
    return [await views.transfer_out(session, t) for t in await transfers.list_transfers(session)]


@router.post(
    "/transfers", response_model=schemas.TransferOut, status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS
)
async def ship_transfer(
    body: schemas.TransferIn,
    request: Request,
    session: DbSession,
    principal: WarehouseUser,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Ship stock to another location: it leaves now and is in transit until received."""

    async def work() -> Any:
        transfer = await transfers.ship(
            session,
            from_code=body.from_location,
            to_code=body.to_location,
            note=body.note,
            lines=[transfers.ShipLine(line.lot_code, line.quantity) for line in body.lines],
            actor_user_id=principal.user_id,
        )
        return (await views.transfer_out(session, transfer)).model_dump(mode="json")

    return await idempotent_json(
        session, request, scope=f"user:{principal.user_id}", key=idempotency_key, body=body, work=work
    )


@router.post("/transfers/{number}/receive", response_model=schemas.TransferOut, responses=WRITE_ERRORS)
async def receive_transfer(
    number: str,
    body: schemas.TransferReceiveIn,
    request: Request,
    session: DbSession,
    principal: WarehouseUser,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Receive a transfer; list only lines that arrived short, with the reason."""

    async def work() -> Any:
        transfer = await transfers.receive(
            session,
            number,
            actor_user_id=principal.user_id,
            received=[transfers.ReceivedLine(line.lot_code, line.quantity, line.reason) for line in body.lines],
        )
        return (await views.transfer_out(session, transfer)).model_dump(mode="json")

    return await idempotent_json(
        session,
        request,
        scope=f"user:{principal.user_id}",
        key=idempotency_key,
        body=body,
        work=work,
        status_code=200,
    )


@router.post("/stock-counts", response_model=schemas.CountOut, status_code=status.HTTP_201_CREATED)
async def open_count(body: schemas.CountOpenIn, session: DbSession, principal: WarehouseUser) -> schemas.CountOut:
    """Open a count sheet for a location: what the books expect, per lot, frozen now."""
    count = await counts.open_count(session, location_code=body.location_code, actor_user_id=principal.user_id)
    return await views.count_out(session, count)


@router.get("/stock-counts/{number}", response_model=schemas.CountOut)
async def get_count(number: str, session: DbSession, _: StaffUser) -> schemas.CountOut:
    return await views.count_out(session, await counts.get_count(session, number))


@router.put("/stock-counts/{number}/lines", response_model=schemas.CountOut, responses=WRITE_ERRORS)
async def record_counts(
    number: str, body: schemas.CountLinesIn, session: DbSession, _: WarehouseUser
) -> schemas.CountOut:
    return await views.count_out(session, await counts.record_counts(session, number, body.counted))


@router.post("/stock-counts/{number}/post", response_model=schemas.CountOut, responses=WRITE_ERRORS)
async def post_count(number: str, session: DbSession, principal: WarehouseUser) -> schemas.CountOut:
    """Post the differences to the ledger (kind ``count``)."""
    return await views.count_out(session, await counts.post_count(session, number, actor_user_id=principal.user_id))


@router.post(
    "/reservations", response_model=schemas.ReservationOut, status_code=status.HTTP_201_CREATED, responses=WRITE_ERRORS
)
async def hold_stock(
    body: schemas.ReservationIn,
    request: Request,
    session: DbSession,
    principal: WarehouseUser,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """A manual hold (a phone order, stock promised to a buyer): FEFO across sellable lots, expiring
    after ``ttl_minutes``. Every short line is named in a 409."""

    async def work() -> Any:
        location = (
            await service.location_or_404(session, body.location_code)
            if body.location_code
            else await service.warehouse(session)
        )
        variants = await catalog_repository.variants_by_sku(session, [line.sku for line in body.lines])
        for line in body.lines:
            if line.sku not in variants:
                raise VariantNotFound(detail={"sku": line.sku})
        ttl = timedelta(minutes=body.ttl_minutes or request.app.state.settings.reservation_ttl_minutes)
        reservation = await reservations.reserve(
            session,
            reference=body.reference,
            channel=body.channel,
            location_id=location.id,
            expires_at=clock.now() + ttl,
            actor_user_id=principal.user_id,
            lines=[
                reservations.ReserveLine(
                    variants[line.sku].id,
                    line.quantity,
                    service.min_best_before(body.channel, variants[line.sku].product.shelf_life_days),
                )
                for line in body.lines
            ],
        )
        # Built from what reserve() returned: the hot rows stay locked until commit, so no query here.
        skus = {variant.id: sku for sku, variant in variants.items()}
        return schemas.ReservationOut(
            reference=reservation.reference,
            channel=reservation.channel,
            location=location.code,
            status="active",
            expires_at=reservation.expires_at,
            lines=[
                schemas.ReservationLineOut(sku=skus[line.variant_id], lot=line.lot_code, quantity=line.quantity)
                for line in reservation.lines
            ],
        ).model_dump(mode="json")

    return await idempotent_json(
        session, request, scope=f"user:{principal.user_id}", key=idempotency_key, body=body, work=work
    )


@router.post(
    "/reservations/{reference}/release",
    response_model=schemas.ReservationOut,
    responses={404: {"description": "reservation_not_found"}, 409: {"description": "reservation_not_active"}},
)
async def release_hold(reference: str, session: DbSession, principal: WarehouseUser) -> schemas.ReservationOut:
    found = await reservations.by_reference(session, reference)
    if found is None:
        raise errors.ReservationNotFound()
    await reservations.release(session, found.id, reason="人工释放", actor_user_id=principal.user_id)
    refreshed = await reservations.by_reference(session, reference)
    assert refreshed is not None
    return await views.reservation_out(session, refreshed)


@router.get("/suppliers", response_model=list[schemas.SupplierOut])
async def list_suppliers(session: DbSession, _: StaffUser) -> list[schemas.SupplierOut]:
    """Suppliers with the products each is a registered grower of (``grows``)."""
    return await views.suppliers_out(session, await repository.list_suppliers(session))


@router.post(
    "/suppliers",
    response_model=schemas.SupplierOut,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "conflict: 供应商编码已存在"}, 422: {"description": "products_not_found"}},
)
async def create_supplier(body: schemas.SupplierIn, session: DbSession, _: AdminUser) -> schemas.SupplierOut:
    fields = body.model_dump(mode="json", exclude={"grows"})
    supplier = await service.create_supplier(
        session, Supplier(**{**fields, "kind": SupplierKind(body.kind)}), grows=body.grows
    )
    return (await views.suppliers_out(session, [supplier]))[0]


@router.put(
    "/suppliers/{code}/grows",
    response_model=schemas.SupplierOut,
    responses={404: {"description": "supplier_not_found"}, 422: {"description": "products_not_found"}},
)
async def set_supplier_grows(
    code: str, body: schemas.SupplierGrowsIn, session: DbSession, _: AdminUser
) -> schemas.SupplierOut:
    """Register what a supplier grows (replaces the list). Lots are received only from a registered
    grower of their product, unless a warehouse user confirms an exception with a reason."""
    supplier = await service.set_grown_products(session, code, body.grows)
    return (await views.suppliers_out(session, [supplier]))[0]
