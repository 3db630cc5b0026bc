"""The customer's after-sales claim pages (坏果包赔) on their order: the claim form and the photos.

Who may file: the order's customer — its signed-in owner, or a guest whose phone is proven for that
order (the order page's own signed cookie, ``app.web.orders``). Staff who can see the order are
sent to the ops console; anyone else gets the order page's 404.

The form is a plain multipart POST and works without JavaScript; ``claims.js`` only shrinks the
photos in the browser (canvas, longest side ``service.BROWSER_MAX_SIDE``) before sending them, so a
phone on 3G uploads a few hundred KB instead of several MB. The server checks every photo either way.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from app.accounts.access import MaybeUser, Principal
from app.claims import service
from app.claims.errors import ClaimLineInvalid
from app.claims.schemas import ClaimId
from app.config import get_settings
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError
from app.kit.quantities import QuantityError, parse_quantity
from app.orders import access
from app.orders.errors import OrderNotFound
from app.orders.models import Order
from app.web.county_plan import uploads
from app.web.orders import _visible, remembered_phone
from app.web.templating import CsrfProtected, render

router = APIRouter(include_in_schema=False)


async def _customers_order(request: Request, session: DbSession, number: str, principal: Principal | None) -> Order:
    order = await _visible(request, session, number, principal)
    if not access.is_customer_view(order, principal, remembered_phone(request, order.number)):
        raise OrderNotFound()  # staff review claims in the ops console; they file none for a customer
    return order


def lines_from_form(form: FormData) -> list[service.ClaimedLine]:
    """Pairs of ``sku`` / ``quantity`` fields; a line left empty (or 0) is not claimed."""
    skus = [str(v) for v in form.getlist("sku")]
    quantities = [str(v) for v in form.getlist("quantity")]
    if len(skus) != len(quantities) or len(skus) > 50:
        raise ClaimLineInvalid()
    out = []
    for sku, raw in zip(skus, quantities, strict=True):
        raw = raw.strip()
        if not raw:
            continue
        try:
            quantity = parse_quantity(raw)
        except QuantityError as exc:
            raise ClaimLineInvalid(f"数量：{exc}") from exc
        if quantity != 0:
            out.append(service.ClaimedLine(sku[:40], quantity))
    return out


async def _render_form(
    request: Request,
    session: DbSession,
    order: Order,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    window = await service.window_of(session, order)
    taken = await service.taken_per_line(session, order.id)
    lines = [
        {
            "sku": line.sku,
            "name_zh": line.name_zh,
            "unit": line.unit,
            "quantity": line.quantity,
            "room": max(line.quantity - taken.get(line.id, 0), 0),
        }
        for line in order.lines
    ]
    return render(
        request,
        "shop/claim_new.html",
        {
            "order": order,
            "lines": lines,
            "window": window,
            "window_open": window is not None and window.open_at(clock.now()),
            "window_days": get_settings().claim_window_days,
            "max_photos": service.MAX_PHOTOS,
            "max_side": service.BROWSER_MAX_SIDE,
            "values": values or {},
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/orders/{number}/claims/new")
async def claim_form(request: Request, number: str, session: DbSession, principal: MaybeUser) -> Response:
    order = await _customers_order(request, session, number, principal)
    return await _render_form(request, session, order)


@router.post("/orders/{number}/claims", dependencies=[CsrfProtected])
async def file_claim(request: Request, number: str, session: DbSession, principal: MaybeUser) -> Response:
    order = await _customers_order(request, session, number, principal)
    form = await request.form()
    settings = request.app.state.settings
    values = {
        "reason": str(form.get("reason") or "")[:600],
        "quantities": dict(zip(form.getlist("sku"), form.getlist("quantity"), strict=False)),
    }
    try:
        photos = await uploads(form, "photos", settings.max_image_bytes)
        await service.file_claim(
            session,
            order,
            lines=lines_from_form(form),
            reason=str(values["reason"]),
            photos=photos,
            uploads_dir=settings.uploads_dir,
            max_bytes=settings.max_image_bytes,
            actor_user_id=principal.user_id if principal else None,
        )
    except AppError as exc:
        await session.rollback()
        order = await _customers_order(request, session, number, principal)
        return await _render_form(
            request, session, order, values=values, errors=[exc.text], status_code=exc.status_code
        )
    return RedirectResponse(f"/orders/{order.number}?done=claim_filed#claims", status_code=303)


@router.get("/orders/{number}/claims/{claim_id}/photos/{name}")
async def claim_photo(
    request: Request, number: str, claim_id: ClaimId, name: str, session: DbSession, principal: MaybeUser
) -> FileResponse:
    order = await _customers_order(request, session, number, principal)
    claim = await service.claim_or_404(session, claim_id)
    if claim.order_id != order.id:
        raise OrderNotFound()
    path, media_type = await service.photo_file(session, request.app.state.settings.uploads_dir, claim, name)
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=86400"})
