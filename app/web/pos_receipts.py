"""The public page a counter receipt's QR code opens: ``GET /r/{client_id}`` (no sign-in; the id
is the sale's random UUID). Its path is printed on paper, so it is fixed like ``/t/{lot}``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.accounts.access import PublicAccess
from app.db import DbSession
from app.pos import errors, receipts
from app.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/r/{client_id}", dependencies=[PublicAccess])
async def sale_page(request: Request, client_id: str, session: DbSession) -> Response:
    try:
        sale_id = uuid.UUID(client_id.strip())
    except ValueError as exc:
        raise errors.SaleNotFound() from exc
    return render(request, "pos/sale_public.html", {"sale": await receipts.public_sale(session, sale_id)})
