"""Ops console: the plan's funds (/admin/county/funds): budget lines with used vs budget for a
range, each line's spending records, and the admins' forms (spending, corrections, the line).

Admins and the county official read (``CountyReader``); only admins post (``AdminUser`` +
``CsrfProtected``) and open voucher attachments (a scan may carry bank details).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response

from app.accounts.access import AdminUser, CountyReader, Principal
from app.county import funds
from app.county import funds_queries as queries
from app.county.models import Spending
from app.county.plan_2021 import STATED_GRAND_TOTAL_FEN
from app.db import DbSession
from app.kit import clock
from app.kit.personal import mask_name
from app.web import forms
from app.web.county import sees_personal_data
from app.web.county_plan import can_edit, chosen_range, range_context, submit_once, uploads
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin/county", include_in_schema=False)

SPENDING_FIELDS = ("spent_on", "amount", "payee", "voucher_number", "note")


@router.get("/funds")
async def funds_page(
    request: Request,
    session: DbSession,
    principal: CountyReader,
    quarter: Annotated[str, Query(max_length=10)] = "",
    start: Annotated[str, Query(max_length=10)] = "",
    end: Annotated[str, Query(max_length=10)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    first, last = chosen_range(quarter, start, end)
    usage = await funds.fund_usage(session, first, last)
    categories: dict[str, list[funds.FundLineUsage]] = {}
    for line in usage:
        categories.setdefault(line.category, []).append(line)
    stated = {c.title: c.total_fen for c in await queries.all_categories(session)}
    return render(
        request,
        "admin/county_funds.html",
        {
            "categories": categories,
            "stated": stated,
            "budget": sum(u.budget_central_fen for u in usage),
            "in_range": sum(u.spent_in_range_fen for u in usage),
            "to_date": sum(u.spent_to_date_fen for u in usage),
            "stated_total": STATED_GRAND_TOTAL_FEN,
            "can_edit": can_edit(principal),
            "notice": notice,
            "errors": [],
            **range_context(first, last, min(first, clock.today())),
        },
    )


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


async def _line_page(
    request: Request,
    session: DbSession,
    principal: Principal,
    code: str,
    *,
    values: dict[str, Any] | None = None,
    line_values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    line = await funds.line_or_404(session, code)
    records = await queries.spending_of_line(session, line.id)
    # A payee may be a private person (line 2021.1.5 rewards individuals): the official sees it masked.
    shown_payee = (lambda payee: payee) if sees_personal_data(principal) else mask_name
    return render(
        request,
        "admin/county_fund_line.html",
        {
            "line": line,
            "records": records,
            "shown_payee": shown_payee,
            "spent": sum(r.amount_fen for r in records),
            "can_edit": can_edit(principal),
            "values": values or {"spent_on": clock.today().isoformat()},
            "line_values": line_values
            or {
                "title": line.title,
                "content": line.content,
                "central": _yuan(line.central_fen),
                "total": _yuan(line.total_fen),
            },
            "yuan": _yuan,
            "errors": errors or [],
            "notice": notice,
            "key": forms.new_key(),
        },
        status_code=status_code,
    )


@router.get("/funds/{code}")
async def line_page(
    request: Request,
    session: DbSession,
    principal: CountyReader,
    code: str,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _line_page(request, session, principal, code, notice=notice)


@router.post("/funds/{code}", dependencies=[CsrfProtected])
async def edit_line(request: Request, session: DbSession, principal: AdminUser, code: str) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name) for name in ("title", "content", "central", "total")}

    async def work() -> str:
        line = await funds.update_line(
            session,
            code,
            title=values["title"],
            content=values["content"],
            central_fen=forms.parse_fen(forms.required(values["central"], "中央资金"), "中央资金"),
            total_fen=forms.parse_fen(values["total"], "合计") if values["total"] else None,
            actor_user_id=principal.user_id,
        )
        return forms.url(f"/admin/county/funds/{line.code}", notice="预算行已保存")

    async def again(*, errors: list[str], status_code: int) -> Response:
        return await _line_page(
            request, session, principal, code, line_values=values, errors=errors, status_code=status_code
        )

    return await submit_once(session, request, principal, form, work, again)


def _spending_fields(values: dict[str, str]) -> funds.SpendingFields:
    return funds.SpendingFields(
        spent_on=forms.parse_required_date(values["spent_on"], "支出日期"),
        amount_fen=forms.parse_fen(forms.required(values["amount"], "金额"), "金额"),
        payee=values["payee"],
        voucher_number=values["voucher_number"],
        note=values["note"],
    )


@router.post("/funds/{code}/spending", dependencies=[CsrfProtected])
async def record_spending(request: Request, session: DbSession, principal: AdminUser, code: str) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name) for name in SPENDING_FIELDS}
    settings = request.app.state.settings
    attachment = await uploads(form, "attachment", settings.max_image_bytes)

    async def work() -> str:
        spending = await funds.record_spending(
            session,
            code,
            _spending_fields(values),
            attachment=attachment[0] if attachment else None,
            uploads_dir=settings.uploads_dir,
            max_bytes=settings.max_image_bytes,
            actor_user_id=principal.user_id,
        )
        return forms.url(f"/admin/county/funds/{code}", notice=f"已登记支出，凭证号 {spending.voucher_number}")

    async def again(*, errors: list[str], status_code: int) -> Response:
        return await _line_page(
            request, session, principal, code, values=values, errors=errors, status_code=status_code
        )

    return await submit_once(session, request, principal, form, work, again, attachment)


async def _spending_page(
    request: Request,
    session: DbSession,
    spending: Spending,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    line = await queries.line_by_id(session, spending.line_id)
    return render(
        request,
        "admin/county_spending.html",
        {
            "s": spending,
            "line": line,
            "values": values
            or {
                "spent_on": spending.spent_on.isoformat(),
                "amount": _yuan(spending.amount_fen),
                "payee": spending.payee,
                "voucher_number": spending.voucher_number,
                "note": spending.note,
            },
            "errors": errors or [],
            "notice": "",
            "key": forms.new_key(),
        },
        status_code=status_code,
    )


@router.get("/spending/{spending_id}")
async def spending_page(request: Request, session: DbSession, _: AdminUser, spending_id: int) -> Response:
    """The correction form of one record (admins only: the official reads the line's list)."""
    return await _spending_page(request, session, await funds.spending_or_404(session, spending_id))


@router.post("/spending/{spending_id}", dependencies=[CsrfProtected])
async def correct_spending(request: Request, session: DbSession, principal: AdminUser, spending_id: int) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name) for name in SPENDING_FIELDS}
    settings = request.app.state.settings
    attachment = await uploads(form, "attachment", settings.max_image_bytes)

    async def work() -> str:
        spending = await funds.correct_spending(
            session,
            spending_id,
            _spending_fields(values),
            attachment=attachment[0] if attachment else None,
            uploads_dir=settings.uploads_dir,
            max_bytes=settings.max_image_bytes,
            actor_user_id=principal.user_id,
        )
        line = await queries.line_by_id(session, spending.line_id)
        assert line is not None
        return forms.url(f"/admin/county/funds/{line.code}", notice=f"已更正支出，凭证号 {spending.voucher_number}")

    async def again(*, errors: list[str], status_code: int) -> Response:
        spending = await funds.spending_or_404(session, spending_id)
        return await _spending_page(request, session, spending, values=values, errors=errors, status_code=status_code)

    return await submit_once(session, request, principal, form, work, again, attachment)


@router.get("/spending/{spending_id}/attachment")
async def spending_attachment(request: Request, session: DbSession, _: AdminUser, spending_id: int) -> FileResponse:
    spending = await funds.spending_or_404(session, spending_id)
    path, media_type = funds.attachment_file(request.app.state.settings.uploads_dir, spending)
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, no-store"})
