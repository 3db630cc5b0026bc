"""Ops console: proof of delivery per trip stop (/admin/wholesale/deliveries/{order}) and the
invoices list (/admin/wholesale/invoices) with each document's PDF.

Warehouse staff and admins. The delivery page shows the order's packed lines with inputs for the
shortage and damage found at the stop (damage with a photo); its post is one call of
``app.wholesale.delivery.record_delivery``, run once per rendered form. A refused post is rolled
back (nothing stays, no photo is kept) and the page is shown again with what was typed and why.
Once recorded, the page shows the proof, the invoice and the credit note.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from app.accounts.access import BackOfficeUser, WarehouseUser
from app.db import DbSession
from app.kit import clock
from app.kit.errors import NotFound
from app.web import forms
from app.web.errors import FormError
from app.web.stock.common import page_errors
from app.web.templating import CsrfProtected, render
from app.wholesale import delivery, invoices
from app.wholesale.delivery_errors import DeliveryInvalid
from app.wholesale.invoice_models import DocumentKind

router = APIRouter(prefix="/admin/wholesale", include_in_schema=False)

PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
STATES = (("", "全部"), ("open", "未结清"), ("overdue", "已逾期"))


def _messages(exc: forms.Refusal) -> list[str]:
    """A refused delivery's messages: each line's own, else the page's usual."""
    if isinstance(exc, DeliveryInvalid) and isinstance(exc.detail, dict) and exc.detail.get("lines"):
        return [str(p["message"]) for p in exc.detail["lines"]]
    return page_errors(exc)


async def _render_stop(
    request: Request,
    session: DbSession,
    number: str,
    *,
    typed: dict[str, Any] | None = None,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    view = await delivery.stop_view(session, number)
    credit_notes: tuple[invoices.DocumentSummary, ...] = ()
    if view.invoice is not None:
        credit_notes = (await invoices.staff_document(session, view.invoice.number)).credit_notes
    return render(
        request,
        "admin/wholesale_delivery.html",
        {
            "view": view,
            "credit_notes": credit_notes,
            "typed": typed or {},
            "issues_by_line": {i.order_line_id: i for i in view.issues},
            "notice": notice,
            "errors": errors or [],
            "form_key": forms.new_key(),
            "now": clock.now().astimezone(clock.business_tz()).strftime("%Y-%m-%dT%H:%M"),
        },
        status_code=status_code,
    )


@router.get("/deliveries/{number}")
async def stop_page(
    request: Request,
    number: str,
    session: DbSession,
    _: WarehouseUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """One stop of a trip (one order): the form to record its delivery, or the proof once recorded."""
    return await _render_stop(request, session, number, notice=notice)


def _quantity(raw: str, label: str) -> Decimal | None:
    return forms.parse_decimal_quantity(raw, label) if raw else None


def _received_at(raw: str) -> datetime | None:
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=clock.business_tz())
    except ValueError as exc:
        raise DeliveryInvalid("签收时间格式有误", detail={"field": "received_at"}) from exc


async def _photos(form: FormData, line_ids: list[int], limit: int) -> dict[int, bytes]:
    photos: dict[int, bytes] = {}
    for line_id in line_ids:
        upload = form.get(f"photo-{line_id}")
        if isinstance(upload, UploadFile) and upload.filename:
            photos[line_id] = await upload.read(limit + 1)
    return photos


@router.post("/deliveries/{number}", dependencies=[CsrfProtected])
async def record(request: Request, number: str, session: DbSession, principal: WarehouseUser) -> Response:
    """Record who received the order and any shortage or damage; issues the invoice (and credit note)."""
    settings = request.app.state.settings
    view = await delivery.stop_view(session, number)
    form = await request.form()
    line_ids = [line.id for line in view.order.lines]
    typed: dict[str, Any] = {
        "receiver_name": forms.text(form, "receiver_name", 50),
        "received_at": forms.text(form, "received_at", 20),
        "note": forms.text(form, "note", 300),
        **{
            f"{field}-{i}": forms.text(form, f"{field}-{i}", 200)
            for i in line_ids
            for field in ("shortage", "damage", "issue_note")
        },
    }
    photos = await _photos(form, line_ids, settings.max_image_bytes)

    async def work() -> dict[str, str]:
        lines = []
        for line in view.order.lines:
            shortage = _quantity(typed[f"shortage-{line.id}"], f"{line.sku} 短缺数量")
            damage = _quantity(typed[f"damage-{line.id}"], f"{line.sku} 破损数量")
            if shortage is None and damage is None:
                continue
            lines.append(
                delivery.LineReport(
                    order_line_id=line.id,
                    shortage=shortage,
                    damage=damage,
                    note=typed[f"issue_note-{line.id}"],
                    photo=photos.get(line.id),
                )
            )
        done = await delivery.record_delivery(
            session,
            number,
            delivery.DeliveryReport(
                receiver_name=typed["receiver_name"],
                received_at=_received_at(typed["received_at"]),
                note=typed["note"],
                lines=lines,
            ),
            uploads_dir=settings.uploads_dir,
            max_bytes=settings.max_image_bytes,
            actor_user_id=principal.user_id,
        )
        notice = f"订单 {number} 已签收，已开具结算单 {done.invoice.number}"
        if done.credit_note is not None:
            notice += f"，红字结算单 {done.credit_note.number}"
        if done.trip.status.value == "delivered":
            notice += f"；车次 {done.trip.number} 全部送达"
        return {"redirect": forms.url(f"/admin/wholesale/deliveries/{number}", notice=notice)}

    body = {**typed, "photos": {str(k): hashlib.sha256(v).hexdigest() for k, v in photos.items()}}

    async def post() -> Response:
        payload = await forms.run_once(
            session, request, form, work, scope=f"user:{principal.user_id}", body=body, status_code=303
        )
        return RedirectResponse(str(payload["redirect"]), status_code=303)

    return await forms.submit(
        session,
        post,
        forms.show_again(functools.partial(_render_stop, request, session, number, typed=typed), _messages),
    )


class DeliveryPhotoNotFound(NotFound):
    code = "delivery_photo_not_found"
    message = "找不到该照片"


@router.get("/deliveries/{number}/photos/{name}")
async def photo(request: Request, number: str, name: str, session: DbSession, _: WarehouseUser) -> Response:
    """A damage photo of the stop (not public: the back office only)."""
    view = await delivery.stop_view(session, number)
    paths = {Path(i.photo_path).name: i.photo_path for i in view.issues if i.photo_path}
    relative = paths.get(name)
    if relative is None:
        raise DeliveryPhotoNotFound()
    path = request.app.state.settings.uploads_dir / relative
    if not path.is_file():
        raise DeliveryPhotoNotFound()
    return FileResponse(path, media_type=PHOTO_TYPES.get(path.suffix.lstrip("."), "application/octet-stream"))


# ---- invoices -----------------------------------------------------------------------------------


@router.get("/invoices")
async def invoices_page(
    request: Request,
    session: DbSession,
    _: BackOfficeUser,
    company: Annotated[str, Query(max_length=12)] = "",
    kind: Annotated[str, Query(max_length=20)] = "",
    state: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """Every company's invoices and credit notes (newest first), filtered, with the list's totals."""
    errors: list[str] = []
    try:
        company_id = int(company) if company else None
        chosen = forms.choice(DocumentKind, kind, "类型") if kind else None
        if state not in dict(STATES):
            raise FormError("状态：取值无效")
    except (ValueError, FormError) as exc:
        company_id, chosen, state = None, None, ""
        errors.append(exc.text if isinstance(exc, FormError) else "采购商：取值无效")
    listed = await invoices.console_documents(session, company_id=company_id, kind=chosen, state=state)
    return render(
        request,
        "admin/wholesale_invoices.html",
        {
            "listed": listed,
            "today": clock.today(),
            "companies": await invoices.company_choices(session),
            "kinds": invoices.KIND_ZH,
            "states": STATES,
            "typed": {"company": company, "kind": kind, "state": state},
            "errors": errors,
        },
    )


@router.get("/invoices/{number}.pdf")
async def invoice_document(number: str, session: DbSession, _: BackOfficeUser) -> Response:
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.wholesale.invoice_pdf import invoice_pdf

    view = await invoices.staff_document(session, number)
    pdf = await run_in_threadpool(invoice_pdf, invoices.pdf_data(view))
    headers = {"Content-Disposition": f'inline; filename="{view.invoice.number}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
