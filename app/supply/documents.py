"""Printable supply documents for staff: lot labels (PDF for the thermal label printer)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from app.accounts.access import StaffOrStationUser
from app.db import DbSession
from app.supply import label_content

router = APIRouter(prefix="/api/v1/admin", tags=["stock"])


@router.get(
    "/lots/{code}/label.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "70 mm × 50 mm 批次标签（PDF，一页）"},
        401: {"description": "not_authenticated"},
        403: {"description": "role_not_allowed"},
        404: {"description": "lot_not_found"},
    },
)
async def lot_label(code: str, request: Request, session: DbSession, _: StaffOrStationUser) -> Response:
    """A lot's label: product, grower, harvest date, best-before, certificate number, the lot code
    as text and Code128, and a QR code of the public trace page."""
    info = await label_content.lot_label(session, code, base_url=request.app.state.settings.public_base_url)
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.supply.labels import lot_label_pdf

    # reportlab is pure Python: render off the event loop so a label never stalls other requests.
    pdf = await run_in_threadpool(lot_label_pdf, info)
    return Response(
        pdf,
        media_type="application/pdf",
        # The stored code, not the path text, goes into the header: it is known to be [A-Z0-9-].
        headers={"Content-Disposition": f'inline; filename="lot-{info.code}.pdf"'},
    )
