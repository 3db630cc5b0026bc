"""Buyer companies in the ops console (/admin/companies): the list, a company's page with its
addresses, terms (payment terms, credit limit, price list, delivery days, fapiao details) and audit
trail, and the centre's decisions: approve, reject with a reason, suspend with a reason, reinstate.

Admins only. Thin: each post is one call into ``app.wholesale.service``, which records who did
what and when. A refused form is rolled back and its page shown again with the reasons."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.accounts import repository as accounts_repository
from app.accounts import schemas as accounts_schemas
from app.accounts.access import AdminUser
from app.accounts.models import BuyerCompany, CompanyStatus, PaymentTerms
from app.db import DbSession
from app.kit.errors import AppError
from app.web import forms
from app.web.admin import back, form_errors
from app.web.errors import FormError
from app.web.templating import CsrfProtected, render
from app.wholesale import service
from app.wholesale.models import CompanyAction

router = APIRouter(prefix="/admin", include_in_schema=False)

TERMS_LABELS = {
    "credit_limit": "信用额度",
    "delivery_weekdays": "送货日",
    "fapiao_tax_number": "纳税人识别号",
}


def messages(exc: forms.Refusal) -> list[str]:
    """A refusal's lines; a terms refusal names each field."""
    if isinstance(exc, AppError) and isinstance(exc.detail, dict) and exc.detail.get("fields"):
        return [f"{TERMS_LABELS.get(k, k)}：{v}" for k, v in exc.detail["fields"].items()]
    if isinstance(exc, ValidationError | AppError):
        return form_errors(exc)
    return [str(exc)]


def parse_terms(form: FormData) -> service.Terms:
    terms = forms.choice(
        PaymentTerms, forms.text(form, "payment_terms"), "付款方式", "请选择预付款、月结 15 天或月结 30 天"
    )
    raw_limit = forms.text(form, "credit_limit", 20)
    limit = forms.parse_fen(raw_limit, "信用额度（元）", hint="请填写金额（元），如 50000") if raw_limit else 0
    days = []
    for raw in forms.texts(form, "delivery_weekdays"):
        if not raw.isdigit():
            raise FormError("送货日：取值无效")
        days.append(int(raw))
    return service.Terms(
        payment_terms=terms,
        credit_limit_minor=limit,
        delivery_weekdays=tuple(days),
        company_prices=forms.text(form, "price_list") == "company",
        fapiao_title=forms.text(form, "fapiao_title", 200),
        fapiao_tax_number=forms.text(form, "fapiao_tax_number", 20),
        fapiao_address_phone=forms.text(form, "fapiao_address_phone", 300),
        fapiao_bank_account=forms.text(form, "fapiao_bank_account", 300),
    )


# ---- the list ---------------------------------------------------------------------------------------


async def _render_companies(
    request: Request,
    session: DbSession,
    *,
    status: str = "",
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    chosen = CompanyStatus(status) if status in {s.value for s in CompanyStatus} else None
    companies = await service.list_companies(session, chosen)
    waiting = [c.applicant_username for c in companies if c.applicant_password_hash and c.applicant_username]
    return render(
        request,
        "admin/companies.html",
        {
            "companies": companies,
            "taken": await accounts_repository.taken_usernames(session, waiting),
            "status": chosen.value if chosen else "",
            "statuses": list(CompanyStatus),
            "notice": notice,
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/companies")
async def companies_page(
    request: Request,
    session: DbSession,
    _: AdminUser,
    notice: Annotated[str, Query(max_length=300)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    return await _render_companies(request, session, status=status, notice=notice)


# ---- one company ------------------------------------------------------------------------------------


async def _render_company(
    request: Request,
    session: DbSession,
    company_id: int,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    profile = await service.profile(session, company_id)
    company = profile.company
    taken = set()
    if company.applicant_password_hash and company.applicant_username:
        taken = await accounts_repository.taken_usernames(session, [company.applicant_username])
    return render(
        request,
        "admin/company.html",
        {
            "profile": profile,
            "company": company,
            "events": await service.events(session, company_id),
            "action_labels": {a.value: a.label_zh for a in CompanyAction},
            "terms_labels": {t.value: t.label_zh for t in PaymentTerms},
            "taken": taken,
            "payment_terms": list(PaymentTerms),
            "weekdays": service.WEEKDAYS_ZH,
            "weekdays_zh": service.weekdays_zh,
            "values": values,
            "notice": notice,
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/companies/{company_id}")
async def company_page(
    request: Request,
    company_id: int,
    session: DbSession,
    _: AdminUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _render_company(request, session, company_id, notice=notice)


def _typed(form: FormData) -> dict[str, Any]:
    """What the admin typed into the terms form, to show again after a refusal."""
    return {
        **{k: forms.text(form, k, 300) for k in form.keys() if k not in ("csrf_token", "delivery_weekdays")},
        "delivery_weekdays": [int(d) for d in forms.texts(form, "delivery_weekdays") if d.isdigit()],
    }


async def _refused(
    request: Request, session: DbSession, company_id: int, form: FormData, exc: forms.Refusal
) -> Response:
    status_code = forms.error_status(exc)
    if forms.text(form, "from") == "detail":
        return await _render_company(
            request, session, company_id, errors=messages(exc), values=_typed(form), status_code=status_code
        )
    return await _render_companies(request, session, errors=messages(exc), status_code=status_code)


@router.post("/companies/{company_id}/approve", dependencies=[CsrfProtected])
async def approve(request: Request, company_id: int, session: DbSession, principal: AdminUser) -> Response:
    """Approve: with the terms of the company page's form, or (the list's quick form) the terms it
    has; the applicant's account opens, under another username when the admin types one."""
    form = await request.form()

    async def post() -> Response:
        chosen = accounts_schemas.CompanyApprovalIn(username=forms.text(form, "username", 50) or None).username
        terms = parse_terms(form) if "payment_terms" in form else None
        company = await service.approve(session, principal, company_id, terms=terms, username=chosen)
        account = f"（采购商账号 {company.applicant_username}）" if company.applicant_username else ""
        target = f"/admin/companies/{company_id}" if forms.text(form, "from") == "detail" else "/admin/companies"
        return back(target, f"{company.name}：已通过审核{account}")

    return await forms.submit(session, post, lambda exc: _refused(request, session, company_id, form, exc))


Decision = Callable[[FormData], Awaitable[BuyerCompany]]


async def _decide(request: Request, session: DbSession, company_id: int, decision: Decision, done: str) -> Response:
    """One post of the company page: ``decision`` with the form, back to the page saying ``done``
    (after the company's name), or the page again with the refusal."""
    form = await request.form()

    async def post() -> Response:
        company = await decision(form)
        return back(f"/admin/companies/{company_id}", f"{company.name}：{done}")

    return await forms.submit(session, post, lambda exc: _refused(request, session, company_id, form, exc))


@router.post("/companies/{company_id}/terms", dependencies=[CsrfProtected])
async def set_terms(request: Request, company_id: int, session: DbSession, principal: AdminUser) -> Response:
    async def decision(form: FormData) -> BuyerCompany:
        return await service.set_terms(session, principal, company_id, parse_terms(form))

    return await _decide(request, session, company_id, decision, "合作条款已保存")


@router.post("/companies/{company_id}/reject", dependencies=[CsrfProtected])
async def reject(request: Request, company_id: int, session: DbSession, principal: AdminUser) -> Response:
    async def decision(form: FormData) -> BuyerCompany:
        return await service.reject(session, principal, company_id, forms.text(form, "reason", 300))

    return await _decide(request, session, company_id, decision, "已拒绝")


@router.post("/companies/{company_id}/suspend", dependencies=[CsrfProtected])
async def suspend(request: Request, company_id: int, session: DbSession, principal: AdminUser) -> Response:
    async def decision(form: FormData) -> BuyerCompany:
        return await service.suspend(session, principal, company_id, forms.text(form, "reason", 300))

    return await _decide(request, session, company_id, decision, "已暂停合作，不能再下单")


@router.post("/companies/{company_id}/reinstate", dependencies=[CsrfProtected])
async def reinstate(request: Request, company_id: int, session: DbSession, principal: AdminUser) -> Response:
    async def decision(form: FormData) -> BuyerCompany:
        return await service.reinstate(session, principal, company_id)

    return await _decide(request, session, company_id, decision, "已恢复合作")
