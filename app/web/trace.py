"""Public pages that printed QR codes open, so their paths are fixed (labels outlive deployments):

- ``GET /t/{lot_code}`` — a lot's trace page (the QR on every package, DESIGN.md §7);
- ``GET /p/{tracking_number}`` — a parcel's status page (the QR on every parcel label,
  ``app.stations.tracking``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.access import PublicAccess
from app.db import DbSession
from app.stations.tracking import public_status
from app.supply import errors
from app.supply.trace import lot_trace
from app.web.templating import render

router = APIRouter(include_in_schema=False)

MAX_CODE_LENGTH = 30  # Lot.code's column width


@router.get("/t/{lot_code}", dependencies=[PublicAccess])
async def trace_page(request: Request, lot_code: str, session: DbSession) -> Response:
    # Codes are upper case; people who type one from the label may not be.
    code = lot_code.strip().upper()
    if not code or len(code) > MAX_CODE_LENGTH:
        raise errors.LotNotFound()
    trace = await lot_trace(session, code)
    return render(request, "trace.html", {"trace": trace})


@router.get("/p/{tracking_number}", dependencies=[PublicAccess])
async def parcel_status_page(request: Request, tracking_number: str, session: DbSession) -> Response:
    """Where a parcel is and where to collect it; nothing about who ordered it or what is inside."""
    status = await public_status(session, tracking_number)
    return render(request, "parcel.html", {"parcel": status})
