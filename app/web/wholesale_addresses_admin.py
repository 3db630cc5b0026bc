"""A company's delivery addresses in the ops console (/admin/companies/{id}/addresses): add one,
change one, deactivate one. Admins only; each post is one call into ``app.wholesale.addresses``
(which checks the address and records the company event). A refused form comes back with what was
typed and every problem named."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from app.accounts.access import AdminUser
from app.db import DbSession
from app.kit.errors import AppError
from app.web import forms
from app.web.admin import back
from app.web.templating import CsrfProtected, render
from app.wholesale import addresses, service
from app.wholesale.models import DeliveryAddress

router = APIRouter(prefix="/admin/companies", include_in_schema=False)

FIELDS = ("city", "address", "receiving_from", "receiving_until", "contact_name", "contact_phone")
LIMITS = {"address": 300, "contact_name": 50}


def typed(form: FormData) -> service.AddressInput:
    return service.AddressInput(**{name: forms.text(form, name, LIMITS.get(name, 20)) for name in FIELDS})


def _shown(row: DeliveryAddress) -> dict[str, str]:
    return {
        "city": row.city,
        "address": row.address,
        "receiving_from": f"{row.receiving_from:%H:%M}",
        "receiving_until": f"{row.receiving_until:%H:%M}",
        "contact_name": row.contact_name,
        "contact_phone": row.contact_phone,
    }


def _messages(exc: forms.Refusal) -> tuple[list[str], dict[str, str]]:
    if isinstance(exc, AppError):
        fields = exc.detail.get("fields") if isinstance(exc.detail, dict) else None
        return ([exc.text], dict(fields)) if fields else ([exc.text], {})
    return ["提交的内容无法读取"], {}


async def _page(
    request: Request,
    session: DbSession,
    company_id: int,
    address_id: int | None,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    field_errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    profile = await service.profile(session, company_id)
    row = await addresses.address_of(session, company_id, address_id) if address_id is not None else None
    return render(
        request,
        "admin/company_address.html",
        {
            "company": profile.company,
            "row": row,
            "values": values if values is not None else (_shown(row) if row else {}),
            "cities": service.prd_cities(),
            "errors": errors or [],
            "field_errors": field_errors or {},
        },
        status_code=status_code,
    )


async def _post(
    request: Request, session: DbSession, company_id: int, address_id: int | None, save: Any, done: str
) -> Response:
    form = await request.form()

    async def post() -> Response:
        row = await save(form)
        return back(f"/admin/companies/{company_id}", f"收货地址 {row.city} {row.address}：{done}")

    async def refused(exc: forms.Refusal) -> Response:
        lines, fields = _messages(exc)
        values = {name: forms.text(form, name, LIMITS.get(name, 20)) for name in FIELDS} if "city" in form else None
        return await _page(
            request,
            session,
            company_id,
            address_id,
            values=values,
            errors=lines,
            field_errors=fields,
            status_code=forms.error_status(exc),
        )

    return await forms.submit(session, post, refused)


@router.get("/{company_id}/addresses/new")
async def new_address(request: Request, company_id: int, session: DbSession, _: AdminUser) -> Response:
    return await _page(request, session, company_id, None)


@router.post("/{company_id}/addresses", dependencies=[CsrfProtected])
async def add_address(request: Request, company_id: int, session: DbSession, principal: AdminUser) -> Response:
    async def save(form: FormData) -> DeliveryAddress:
        return await addresses.add_address(session, principal, company_id, typed(form))

    return await _post(request, session, company_id, None, save, "已添加")


@router.get("/{company_id}/addresses/{address_id}")
async def edit_address(
    request: Request, company_id: int, address_id: int, session: DbSession, _: AdminUser
) -> Response:
    return await _page(request, session, company_id, address_id)


@router.post("/{company_id}/addresses/{address_id}", dependencies=[CsrfProtected])
async def update_address(
    request: Request, company_id: int, address_id: int, session: DbSession, principal: AdminUser
) -> Response:
    async def save(form: FormData) -> DeliveryAddress:
        return await addresses.update_address(session, principal, company_id, address_id, typed(form))

    return await _post(request, session, company_id, address_id, save, "已保存")


@router.post("/{company_id}/addresses/{address_id}/deactivate", dependencies=[CsrfProtected])
async def deactivate_address(
    request: Request, company_id: int, address_id: int, session: DbSession, principal: AdminUser
) -> Response:
    async def save(_: FormData) -> DeliveryAddress:
        return await addresses.deactivate_address(session, principal, company_id, address_id)

    return await _post(request, session, company_id, address_id, save, "已停用")
