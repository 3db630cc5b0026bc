"""The buyer portal's money pages: the company's monthly statements (/wholesale/statements, a month
picker and the chosen month's figures) and their PDF and XLSX (/wholesale/statements/YYYY-MM.pdf
or .xlsx). Only the signed-in buyer's own company: no page takes a company."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from app.accounts.access import BuyerUser
from app.db import DbSession
from app.kit.errors import AppError
from app.web.templating import render
from app.wholesale import receivables
from app.wholesale.invoicing import AGEING_BUCKETS, ageing, days_overdue, statement_figures

router = APIRouter(prefix="/wholesale", include_in_schema=False)


def document_response(file: receivables.DocumentFile) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{file.filename}"'}
    return Response(file.content, media_type=file.media_type, headers=headers)


@router.get("/statements")
async def statements_page(
    request: Request, session: DbSession, principal: BuyerUser, month: Annotated[str, Query(max_length=7)] = ""
) -> Response:
    """The company's statement of ``month`` (default this month) on the page, and every recent month's files."""
    months = receivables.recent_months()
    chosen = month or f"{months[0]:%Y-%m}"
    errors: list[str] = []
    try:
        data = await receivables.statement_for(session, principal, chosen)
    except AppError as exc:
        if exc.status_code == 404:
            raise
        errors.append(exc.text)
        chosen = f"{months[0]:%Y-%m}"
        data = await receivables.statement_for(session, principal, chosen)
    return render(
        request,
        "wholesale/portal_statements.html",
        {
            "months": [f"{m:%Y-%m}" for m in months],
            "chosen": chosen,
            "data": data,
            "figures": statement_figures(data.opening_balance_minor, data.entries),
            "aged": ageing(data.open_items, data.as_of),
            "buckets": AGEING_BUCKETS,
            "days_overdue": days_overdue,
            "errors": errors,
        },
        status_code=422 if errors else 200,
    )


@router.get("/statements/{month}.{fmt}")
async def statement_document(month: str, fmt: str, session: DbSession, principal: BuyerUser) -> Response:
    data = await receivables.statement_for(session, principal, month)
    return document_response(await run_in_threadpool(receivables.statement_file, data, fmt))
