"""The public trace page a lot's QR code opens: ``GET /t/{lot_code}`` (DESIGN.md §7, a fixed path
because it is printed on packages)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.access import PublicAccess
from app.db import DbSession
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
