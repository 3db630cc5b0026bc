"""POS JSON API of what a till does after a sale: returns against a receipt, the receipt's PDF
(reprint) and the shift's Z report PDF. Rule ``at_till``: the till's own store only (another
store's sale or shift is 404)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from app.accounts.access import TillClerk
from app.db import DbSession
from app.kit.quantities import format_quantity
from app.pos import receipts, returns, shift_report
from app.pos.return_schemas import ReturnIn, ReturnLineOut, ReturnOut

router = APIRouter(prefix="/api/v1/pos", tags=["pos"])


def _return_out(found: returns.ReturnRecord) -> ReturnOut:
    record = found.record
    return ReturnOut(
        client_id=record.client_id,
        number=record.number,
        sale_number=found.sale.number,
        refund_minor=record.refund_minor,
        reason=record.reason,
        returned_at=record.returned_at,
        approved_by=(found.approved_by.display_name or found.approved_by.username) if found.approved_by else None,
        lines=[
            ReturnLineOut(
                order_line_id=order_line.id,
                sku=order_line.sku,
                name_zh=order_line.name_zh,
                unit=order_line.unit,
                quantity=format_quantity(line.quantity),
                refund_minor=line.refund_minor,
            )
            for line, order_line in found.lines
        ],
    )


@router.post(
    "/returns",
    response_model=ReturnOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "the same client_id again: the return already recorded"},
        403: {"description": "approval_required / approval_invalid"},
        404: {"description": "sale_not_found (not this store's)"},
        409: {"description": "no_open_shift / return_client_id_taken"},
        422: {"description": "return_line_unknown / return_quantity_invalid / return_exceeds_sold / nothing_to_refund"},
    },
)
async def take_return(body: ReturnIn, session: DbSession, principal: TillClerk, response: Response) -> ReturnOut:
    """Goods back against a receipt number, refunded in cash from this till's open shift; a store
    manager signed in, or a manager's approval token for this return and amount. Online only."""
    found = await returns.take_return(session, principal, body)
    if not found.created:
        response.status_code = status.HTTP_200_OK
    return _return_out(found)


@router.get(
    "/sales/{number}/receipt.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "小票 PDF（80 或 58 毫米卷纸，长度随内容）"},
        404: {"description": "sale_not_found (not this store's)"},
    },
)
async def sale_receipt_pdf(
    request: Request,
    number: str,
    session: DbSession,
    principal: TillClerk,
    width: Annotated[receipts.RollWidth, Query(description="卷纸宽度（毫米）：80 或 58")] = receipts.RollWidth.wide,
) -> Response:
    """Reprint a receipt of this store's sales."""
    settings = request.app.state.settings
    return receipts.inline_pdf(
        await receipts.receipt_document(session, settings, number, store_id=principal.store_id, width_mm=width)
    )


@router.get(
    "/shifts/{client_id}/z.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "班次 X / Z 报表（A4 PDF）"},
        404: {"description": "shift_unknown (not this store's)"},
    },
)
async def shift_report_pdf(
    request: Request, client_id: uuid.UUID, session: DbSession, principal: TillClerk
) -> Response:
    """The X report of a shift of this store while it is open, its Z report once closed."""
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.pos import z_report

    assert principal.store_id is not None
    figures = await shift_report.store_shift_figures(session, principal.store_id, client_id)
    content = await run_in_threadpool(z_report.z_report_pdf, figures, request.app.state.settings)
    return receipts.inline_pdf(receipts.Document(content, f"shift-{figures.shift_number}.pdf"))
