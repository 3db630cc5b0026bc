"""Ops console: the warehouse side of a PRD trip (warehouse staff and admins).

- ``GET /admin/wholesale/trips/{number}/pick-list.pdf`` — 拣货单 (A4) from the trip's live orders;
- ``GET /admin/wholesale/trips/{number}/manifest.pdf`` — 装车清单 (A4), the stops in delivery order;
- ``GET /admin/wholesale/trips/{number}/packing`` — the packing page: every live order by stop,
  a scan box (a keyboard-wedge scanner types an order number and Enter: ``?order=`` opens it) and
  the opened order's lines to weigh or count;
- ``POST /admin/wholesale/trips/{number}/packing/{order}`` — record what was packed (one service
  call, once per rendered form); a refused form comes back with each message next to its line;
- ``GET /admin/wholesale/trips/{number}/packing/{order}/labels.pdf`` — the packed order's case labels.

PDFs are rendered in a worker thread (pure-Python CPU work), never on the event loop.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.accounts.access import WarehouseUser
from app.db import DbSession
from app.kit.errors import AppError
from app.web import forms
from app.web.stock.common import page_errors
from app.web.templating import CsrfProtected, render
from app.wholesale import packing

router = APIRouter(prefix="/admin/wholesale", include_in_schema=False)

PACKED_FIELD = "packed."  # one input per order line: packed.<line id>
_SAFE = re.compile(r"[^A-Za-z0-9-]")


def _pdf(content: bytes, name: str) -> Response:
    safe = _SAFE.sub("", name)[:60] or "document"
    return Response(
        content, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{safe}.pdf"'}
    )


@router.get("/trips/{number}/pick-list.pdf")
async def pick_list(number: str, session: DbSession, _: WarehouseUser) -> Response:
    """The trip's 拣货单: per SKU the lots to take (FEFO) and every order line by stop."""
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.wholesale.trip_documents import pick_list_pdf

    data = await packing.pick_list(session, number)
    return _pdf(await run_in_threadpool(pick_list_pdf, data), f"pick-list-{number}")


@router.get("/trips/{number}/manifest.pdf")
async def manifest(number: str, session: DbSession, _: WarehouseUser) -> Response:
    """The trip's 装车清单: stops in delivery order with addresses, receiving hours and load."""
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.wholesale.trip_documents import manifest_pdf

    data = await packing.manifest(session, number)
    return _pdf(await run_in_threadpool(manifest_pdf, data), f"manifest-{number}")


@router.get("/trips/{number}/packing/{order_number}/labels.pdf")
async def labels(number: str, order_number: str, session: DbSession, _: WarehouseUser) -> Response:
    """Case labels of a packed order: one 100 × 60 mm page a case."""
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.wholesale.case_labels import case_labels_pdf

    found = await packing.case_labels(session, number, order_number)
    return _pdf(await run_in_threadpool(case_labels_pdf, found), f"cases-{order_number}")


async def _packing_page(
    request: Request,
    session: DbSession,
    number: str,
    *,
    order_number: str = "",
    typed: dict[int, str] | None = None,
    line_errors: dict[int, str] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    work = await packing.trip_work(session, number)
    opened = None
    problems = list(errors or [])
    if order_number:
        try:
            opened = work.order(order_number)
        except AppError:
            problems.append(f"车次 {work.trip.number} 上没有待发订单 {order_number.strip()[:30]}")
            status_code = 404 if status_code == 200 else status_code
    return render(
        request,
        "admin/wholesale_packing.html",
        {
            "work": work,
            "opened": opened,
            "typed": typed or {},
            "line_errors": line_errors or {},
            "errors": problems,
            "notice": notice,
            "packable": work.trip.status in packing.PACKABLE,
            "packed_count": sum(1 for o in work.orders if o.packed),
            "form_key": forms.new_key(),
        },
        status_code=status_code,
    )


@router.get("/trips/{number}/packing")
async def packing_page(
    request: Request,
    number: str,
    session: DbSession,
    _: WarehouseUser,
    order: Annotated[str, Query(max_length=40)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """The trip's orders by stop, packed or not; ``?order=`` (typed or scanned) opens one to pack."""
    return await _packing_page(request, session, number, order_number=order.strip(), notice=notice)


def _typed_quantities(form: dict[str, str]) -> dict[int, str]:
    typed: dict[int, str] = {}
    for key, value in form.items():
        if key.startswith(PACKED_FIELD) and key[len(PACKED_FIELD) :].isdigit():
            typed[int(key[len(PACKED_FIELD) :])] = value[:20]
    return typed


@router.post("/trips/{number}/packing/{order_number}", dependencies=[CsrfProtected])
async def pack(
    request: Request, number: str, order_number: str, session: DbSession, principal: WarehouseUser
) -> Response:
    """Record the order's packed quantities; the page then waits for the next scan."""
    form = await request.form()
    typed = _typed_quantities({k: forms.text(form, k, 20) for k in form.keys()})

    async def work() -> str:
        packed = await packing.pack_order(session, number, order_number, typed, actor_user_id=principal.user_id)
        return forms.url(
            f"/admin/wholesale/trips/{number}/packing",
            notice=f"订单 {packed.order.number}（第 {packed.stop_position} 站）已打包，可以打印箱贴",
        )

    async def refused(exc: forms.Refusal) -> Response:
        by_line: dict[int, str] = {}
        general: list[str] = []
        if isinstance(exc, AppError) and isinstance(exc.detail, dict) and "lines" in exc.detail:
            by_line = {int(p["line_id"]): str(p["message"]) for p in exc.detail["lines"]}
            general.append(exc.text)
        else:
            general.extend(page_errors(exc))
        return await _packing_page(
            request,
            session,
            number,
            order_number=order_number,
            typed=typed,
            line_errors=by_line,
            errors=general,
            status_code=forms.error_status(exc),
        )

    return await forms.submit(session, lambda: forms.once(session, request, principal, form, work), refused)
