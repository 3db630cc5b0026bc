"""Claim routes (thin): a customer files and reads claims on their own order (a guest proves the
order's phone in ``X-Order-Phone``, as for the order itself); staff list and review claims."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status

from app.accounts.access import AdminUser, MaybeUser, Principal
from app.claims import errors, service, views
from app.claims.models import ClaimStatus
from app.claims.schemas import ClaimId, ClaimOut, ReviewIn
from app.db import DbSession
from app.kit.http import client_address
from app.kit.quantities import QuantityError, parse_quantity
from app.orders import access
from app.orders.access import OrderPhone
from app.orders.errors import OrderAccessDenied
from app.orders.models import Order

router = APIRouter(prefix="/api/v1", tags=["claims"])
admin = APIRouter(prefix="/api/v1/admin", tags=["claims admin"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "order_not_found / claim_not_found"},
    409: {"description": "claim_not_open / claim_window_closed / claim_already_reviewed"},
    413: {"description": "image_too_large"},
    422: {"description": "claim_invalid / claim_line_invalid / claim_quantity_too_large / claim_photo_count"},
}


async def customers_order(
    request: Request, session: DbSession, number: str, principal: Principal | None, phone: str | None
) -> Order:
    """The order when the caller is its customer (its signed-in owner or a guest who proved the
    phone); anyone else who may not see it gets 404, staff who may see it 403."""
    order = await access.visible_order(
        session, number, principal, phone, limiter=request.app.state.lookup_limiter, client_ip=client_address(request)
    )
    if not access.is_customer_view(order, principal, phone):
        raise OrderAccessDenied("售后理赔须由顾客本人在订单页申请")
    return order


def parse_lines(raw: str) -> list[service.ClaimedLine]:
    """``[{"sku": "...", "quantity": "1.5"}, …]`` as sent in the ``lines`` form field."""
    try:
        items = json.loads(raw)
        if not isinstance(items, list) or len(items) > 50:
            raise ValueError
        return [service.ClaimedLine(str(item["sku"])[:40], parse_quantity(str(item["quantity"]))) for item in items]
    except QuantityError as exc:
        raise errors.ClaimLineInvalid(str(exc), detail={"field": "lines"}) from exc
    except (ValueError, TypeError, KeyError) as exc:
        raise errors.ClaimLineInvalid(
            'lines 须为 JSON 数组，例如 [{"sku": "…", "quantity": "1"}]', detail={"field": "lines"}
        ) from exc


@router.post("/orders/{number}/claims", response_model=ClaimOut, status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def file_claim(
    number: str,
    request: Request,
    session: DbSession,
    principal: MaybeUser,
    lines: Annotated[str, Form(max_length=4000, description='JSON：[{"sku": "…", "quantity": "1"}]')],
    reason: Annotated[str, Form(max_length=600)],
    photos: Annotated[list[UploadFile], File(description="1–6 张照片（JPEG / PNG / WebP）")],
    phone: OrderPhone = None,
) -> ClaimOut:
    """File an after-sales claim (坏果包赔) on the caller's own completed order, within the claim
    window after pickup or delivery."""
    order = await customers_order(request, session, number, principal, phone)
    settings = request.app.state.settings
    contents = [await p.read(settings.max_image_bytes + 1) for p in photos[: service.MAX_PHOTOS + 1]]
    if len(photos) > service.MAX_PHOTOS:
        raise errors.ClaimPhotoCount(detail={"photos": len(photos)})
    claim = await service.file_claim(
        session,
        order,
        lines=parse_lines(lines),
        reason=reason,
        photos=contents,
        uploads_dir=settings.uploads_dir,
        max_bytes=settings.max_image_bytes,
        actor_user_id=principal.user_id if principal else None,
    )
    return await views.claim_out(session, claim, photo_base=views.customer_photo_base(order.number, claim.id))


@router.get(
    "/orders/{number}/claims", response_model=list[ClaimOut], responses={404: {"description": "order_not_found"}}
)
async def order_claims(
    number: str, request: Request, session: DbSession, principal: MaybeUser, phone: OrderPhone = None
) -> list[ClaimOut]:
    """The claims of the caller's own order."""
    order = await customers_order(request, session, number, principal, phone)
    return await views.customer_claims_out(session, order.id, order.number)


@admin.get("/claims", response_model=list[ClaimOut])
async def staff_claims(
    session: DbSession,
    _: AdminUser,
    status_filter: Annotated[ClaimStatus | None, Query(alias="status")] = None,
) -> list[ClaimOut]:
    """Claims, newest first (``?status=submitted`` for the ones waiting)."""
    return [await _staff_out(session, row.claim.id) for row in await service.list_claims(session, status=status_filter)]


async def _staff_out(session: DbSession, claim_id: int) -> ClaimOut:
    claim = await service.claim_or_404(session, claim_id)
    return await views.claim_out(session, claim, photo_base=views.staff_photo_base(claim.id))


@admin.get("/claims/{claim_id}", response_model=ClaimOut, responses={404: {"description": "claim_not_found"}})
async def staff_claim(claim_id: ClaimId, session: DbSession, _: AdminUser) -> ClaimOut:
    return await _staff_out(session, claim_id)


@admin.post(
    "/claims/{claim_id}/review",
    response_model=ClaimOut,
    responses={
        404: {"description": "claim_not_found"},
        409: {"description": "claim_already_reviewed"},
        422: {"description": "claim_review_invalid / refund_too_large"},
    },
)
async def review_claim(claim_id: ClaimId, body: ReviewIn, session: DbSession, principal: AdminUser) -> ClaimOut:
    """Approve fully, partly (per line: the approved quantity) or refuse (nothing approved, a
    reason in ``note``). Approved money is refunded through the order's payment, once."""
    approved = {}
    for line in body.lines:
        try:
            approved[line.line_id] = parse_quantity(line.approved_quantity)
        except QuantityError as exc:
            raise errors.ReviewInvalid(str(exc), detail={"line_id": line.line_id}) from exc
    await service.review_claim(session, claim_id, approved=approved, note=body.note, actor_user_id=principal.user_id)
    return await _staff_out(session, claim_id)
