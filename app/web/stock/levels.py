"""Reading stock: levels per location and lot, the ledger, the lots by expiry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts.access import WarehouseUser
from app.claims import service as claims_service
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError
from app.kit.quantities import Unit
from app.supply import repository, schemas, service, views
from app.supply.models import LedgerKind, LocationKind
from app.web import forms
from app.web.stock import common
from app.web.templating import CHINA_TZ, render

router = APIRouter(prefix="/admin", include_in_schema=False)

LEDGER_PAGE = 50


@dataclass
class LocationStock:
    code: str
    name: str
    kind: str
    rows: list[schemas.StockRowOut] = field(default_factory=list)
    # unit → (on hand, reserved, available): a box and a kilo do not add up.
    totals: dict[str, list[Decimal]] = field(default_factory=dict)


@router.get("/stock")
async def stock_levels(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    sku: Annotated[str, Query(max_length=40)] = "",
    location: Annotated[str, Query(max_length=30)] = "",
) -> Response:
    """On hand, reserved and available per location and lot; expired lots are on hand, not available."""
    sku, location = sku.strip(), location.strip()
    choices = await forms.variant_choices(session)
    locations = await common.locations(session, with_transit=True)
    errors: list[str] = []
    status_code = 200
    places: list[LocationStock] = []
    try:
        variant_id = await common.variant_id(session, sku) if sku else None
        location_id = (await service.location_or_404(session, location)).id if location else None
        stock = await views.stock_out(session, sku or None, variant_id, location_id=location_id)
    except AppError as exc:
        errors, status_code = common.page_errors(exc), exc.status_code
    else:
        units = {c.sku: c.unit for c in choices}
        by_code = {loc.code: loc for loc in locations}
        found: dict[str, LocationStock] = {}
        for row in stock.rows:
            loc = by_code.get(row.location)
            place = found.setdefault(
                row.location,
                LocationStock(row.location, row.location_name, LocationKind(loc.kind).label_zh if loc else ""),
            )
            place.rows.append(row)
            total = place.totals.setdefault(units.get(row.sku, ""), [Decimal(0), Decimal(0), Decimal(0)])
            total[0] += row.on_hand
            total[1] += row.reserved
            if not row.expired:
                total[2] += row.available
        order = {loc.code: i for i, loc in enumerate(locations)}
        places = sorted(found.values(), key=lambda p: order.get(p.code, len(order)))
    return render(
        request,
        "admin/stock_levels.html",
        {
            "places": places,
            "variants": choices,
            "names": {c.sku: c.label for c in choices},
            "unit_names": {u.value: u.label_zh for u in Unit},
            "soon_until": clock.today() + timedelta(days=2),
            "location_groups": common.grouped(locations),
            "sku": sku,
            "location": location,
            "errors": errors,
            "notice": "",
        },
        status_code=status_code,
    )


# ---- ledger -------------------------------------------------------------------------------------


@router.get("/ledger")
async def ledger_page(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    sku: Annotated[str, Query(max_length=40)] = "",
    location: Annotated[str, Query(max_length=30)] = "",
    lot: Annotated[str, Query(max_length=30)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    document: Annotated[str, Query(max_length=60)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Every stock change, newest first; "older" pages back by id (keyset), so new rows arriving
    while someone reads never shift a page."""
    filters = {
        "sku": sku.strip(),
        "location": location.strip(),
        "lot": lot.strip().upper(),
        "kind": kind.strip(),
        "document": document.strip(),
        "since": since.strip(),
        "until": until.strip(),
    }
    errors: list[str] = []
    status_code = 200
    entries: list[schemas.LedgerEntryOut] = []
    older_url = ""
    try:
        start = forms.parse_date(filters["since"], "起始日期")
        end = forms.parse_date(filters["until"], "截止日期")
        ledger_kind = forms.choice(LedgerKind, filters["kind"], "类型") if filters["kind"] else None
        rows = await repository.ledger_entries(
            session,
            variant_id=await common.variant_id(session, filters["sku"]) if filters["sku"] else None,
            location_id=(await service.location_or_404(session, filters["location"])).id
            if filters["location"]
            else None,
            lot_id=(await service.lot_or_404(session, filters["lot"])).id if filters["lot"] else None,
            kind=ledger_kind,
            document_ref=filters["document"] or None,
            # Dates are China dates: a day starts at 00:00 Beijing time.
            since=datetime.combine(start, datetime.min.time(), CHINA_TZ) if start else None,
            until=datetime.combine(end + timedelta(days=1), datetime.min.time(), CHINA_TZ) if end else None,
            before_id=before_id,
            limit=LEDGER_PAGE + 1,
        )
    except AppError as exc:
        errors, status_code = common.page_errors(exc), exc.status_code
    else:
        entries = await views.ledger_out(session, rows[:LEDGER_PAGE])
        if len(rows) > LEDGER_PAGE:
            older_url = forms.url("/admin/ledger", **filters, before_id=entries[-1].id)
    choices = await forms.variant_choices(session)
    return render(
        request,
        "admin/stock_ledger.html",
        {
            "entries": entries,
            "filters": filters,
            "before_id": before_id,
            "older_url": older_url,
            "newest_url": forms.url("/admin/ledger", **filters),
            "kinds": list(LedgerKind),
            "variants": choices,
            "names": {c.sku: c.label for c in choices},
            "units": {c.sku: c.unit_zh for c in choices},
            "location_groups": common.grouped(await common.locations(session, with_transit=True)),
            "document_types": common.DOCUMENT_TYPES,
            "errors": errors,
            "notice": "",
        },
        status_code=status_code,
    )


# ---- lots ---------------------------------------------------------------------------------------


@router.get("/lots")
async def lots_page(
    request: Request,
    session: DbSession,
    _: WarehouseUser,
    sku: Annotated[str, Query(max_length=40)] = "",
    scope: Annotated[str, Query(max_length=10)] = "stock",
    lot: Annotated[str, Query(max_length=30)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """Lots expiring soonest first, each with its trace page and label; ``lot`` names a lot just
    received, whose label is offered straight away."""
    sku = sku.strip()
    errors: list[str] = []
    status_code = 200
    lots: list[schemas.LotOut] = []
    try:
        variant_id = await common.variant_id(session, sku) if sku else None
        lots = await views.lots_out(
            session, await repository.list_lots(session, variant_id=variant_id, with_stock_only=scope != "all")
        )
    except AppError as exc:
        errors, status_code = common.page_errors(exc), exc.status_code
    new_lot = None
    if lot:
        found = await repository.lot_by_code(session, lot.strip())
        if found is not None:
            new_lot = (await views.lots_out(session, [(found, found.quantity_received)]))[0]
    choices = await forms.variant_choices(session)
    return render(
        request,
        "admin/stock_lots.html",
        {
            "lots": lots,
            "new_lot": new_lot,
            "sku": sku,
            "scope": "all" if scope == "all" else "stock",
            "variants": choices,
            "names": {c.sku: c.label for c in choices},
            "units": {c.sku: c.unit_zh for c in choices},
            "errors": errors,
            "notice": notice,
            "claim_rates": await claims_service.lot_claim_rates(session, [lot.code for lot in lots]),
            "claim_rate_definition": claims_service.RATE_DEFINITION_ZH,
        },
        status_code=status_code,
    )
