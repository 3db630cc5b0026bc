"""Ops console: after-sales claims (/admin/claims) — the list, one claim with its photos and lots,
the review form (approve fully / partly / refuse) — and a supplier's record with its claim rates
(/admin/suppliers/{code}).

Admins review (``AdminUser``; the county official's role does not admit it). Thin: the review goes
through ``app.claims.service.review_claim``, the same call as the staff JSON API, whose
compare-and-set makes a double click or a second reviewer a 409 that refunds nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from app.accounts.access import AdminUser, WarehouseUser
from app.claims import service, views
from app.claims.errors import ReviewInvalid
from app.claims.models import ClaimStatus
from app.claims.schemas import ClaimId
from app.db import DbSession
from app.kit.errors import AppError
from app.kit.quantities import QuantityError, parse_quantity
from app.orders.models import PaymentMethod
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)

NOTICES = {
    "approved": "已同意理赔，退款已发起，已短信通知顾客。",
    "partly_approved": "已部分同意理赔，退款已发起，已短信通知顾客。",
    "refused": "已拒绝理赔，已短信通知顾客。",
}


@router.get("/claims")
async def claims_page(
    request: Request, session: DbSession, _: AdminUser, status: Annotated[str, Query(max_length=20)] = "submitted"
) -> Response:
    chosen = ClaimStatus(status) if status in ClaimStatus.__members__ else None
    rows = await service.list_claims(session, status=chosen)
    return render(
        request,
        "admin/claims.html",
        {"rows": rows, "status": chosen.value if chosen else "", "statuses": list(ClaimStatus)},
    )


async def _render_claim(
    request: Request,
    session: DbSession,
    claim_id: int,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    claim = await service.claim_or_404(session, claim_id)
    out = await views.claim_out(session, claim, photo_base=views.staff_photo_base(claim.id))
    order = await service.order_of_claim(session, claim)
    window = await service.window_of(session, order)
    return render(
        request,
        "admin/claim.html",
        {
            "claim": out,
            "order": order,
            "cash": order.payment_method is PaymentMethod.pay_at_pickup,
            "window": window,
            "notice": notice,
            "errors": errors or [],
            "values": values or {},
        },
        status_code=status_code,
    )


@router.get("/claims/{claim_id}")
async def claim_page(
    request: Request,
    session: DbSession,
    _: AdminUser,
    claim_id: ClaimId,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return await _render_claim(request, session, claim_id, notice=NOTICES.get(done, ""))


def approvals_from_form(form: Any, decision: str) -> dict[int, Decimal]:
    """``approve_{line id}`` fields; "全部同意" takes every claimed quantity, "拒绝" none."""
    approved: dict[int, Decimal] = {}
    for key, raw in form.multi_items():
        if not key.startswith("approve_"):
            continue
        try:
            line_id = int(key.removeprefix("approve_"))
            approved[line_id] = parse_quantity(str(raw).strip() or "0")
        except (ValueError, QuantityError) as exc:
            raise ReviewInvalid(f"同意数量格式不正确：{exc}") from exc
    if decision == "refuse":
        return {}
    return approved


@router.post("/claims/{claim_id}/review", dependencies=[CsrfProtected])
async def review(request: Request, session: DbSession, principal: AdminUser, claim_id: ClaimId) -> Response:
    form = await request.form()
    decision = str(form.get("decision") or "")
    note = str(form.get("note") or "")[:600]
    values = {"note": note, **{k: str(v) for k, v in form.multi_items() if k.startswith("approve_")}}
    try:
        if decision not in ("approve_all", "approve", "refuse"):
            raise ReviewInvalid("请选择同意或拒绝")
        if decision == "approve_all":
            claim = await service.claim_or_404(session, claim_id)
            approved = {line.id: line.quantity for line in claim.lines}
        else:
            approved = approvals_from_form(form, decision)
        claim = await service.review_claim(
            session, claim_id, approved=approved, note=note, actor_user_id=principal.user_id
        )
    except AppError as exc:
        await session.rollback()
        return await _render_claim(
            request, session, claim_id, errors=[exc.text], values=values, status_code=exc.status_code
        )
    return RedirectResponse(f"/admin/claims/{claim_id}?done={claim.status.value}", status_code=303)


@router.get("/claims/{claim_id}/photos/{name}")
async def claim_photo(request: Request, session: DbSession, _: AdminUser, claim_id: ClaimId, name: str) -> FileResponse:
    claim = await service.claim_or_404(session, claim_id)
    path, media_type = await service.photo_file(session, request.app.state.settings.uploads_dir, claim, name)
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=86400"})


@router.get("/suppliers/{code}")
async def supplier_page(request: Request, session: DbSession, _: WarehouseUser, code: str) -> Response:
    """A supplier's record: who it is and, per SKU, the claim rate of its lots."""
    supplier, skus = await service.supplier_record(session, code)
    return render(
        request,
        "admin/supplier.html",
        {"supplier": supplier, "skus": skus, "definition": service.RATE_DEFINITION_ZH},
    )
