"""Ops console: brand stores (/admin/pos/stores) — a store and its stock location, its managers,
the PINs its people sign in with at a till, its tills, and each till's enrolment and revocation.

Admin only. A till is enrolled with the device-enrolment mechanism of the station PDAs
(``app.accounts.devices``): the page that answers the post shows a one-time code and its QR once;
the till's browser redeems it at ``/pos/enrol``. Revoking the device (or deactivating the till)
stops the till, and signs out whoever is at it, at its next request.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from markupsafe import Markup
from pydantic import ValidationError

from app.accounts import devices
from app.accounts.access import AdminUser
from app.accounts.models import TokenKind
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError, InvalidInput
from app.kit.qr import qr_svg
from app.kit.validation import field_name, zh_message
from app.pos import repository, stock_exceptions, stores
from app.pos.models import Store, Till
from app.web import forms
from app.web.admin import back
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin/pos", include_in_schema=False)

FIELD_LABELS = {
    "code": "编号",
    "name": "名称",
    "address": "地址",
    "phone": "电话",
    "sale_prefix": "销售单号前缀",
}
STORE_FIELDS = ("name", "address", "phone")


def _errors(exc: ValidationError | AppError) -> list[str]:
    if isinstance(exc, ValidationError):
        return [f"{FIELD_LABELS.get(field_name(e), field_name(e))}：{zh_message(e)}" for e in exc.errors()]
    return [exc.text]


def _status(exc: ValidationError | AppError) -> int:
    return exc.status_code if isinstance(exc, AppError) else 422


def _url(store: Store, till: Till | None = None) -> str:
    base = f"/admin/pos/stores/{store.code}"
    return f"{base}/tills/{till.code}" if till is not None else base


# ---- the list -------------------------------------------------------------------------------------


async def _stores_page(
    request: Request,
    session: DbSession,
    *,
    values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "admin/pos_stores.html",
        {
            "stores": await repository.list_stores(session),
            "locations": await repository.locations_by_store(session),
            "tills": await repository.till_counts(session),
            "values": values or {"is_open": True},
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/stores")
async def stores_page(
    request: Request, session: DbSession, _: AdminUser, notice: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    return await _stores_page(request, session, notice=notice)


@router.post("/stores", dependencies=[CsrfProtected])
async def create_store(request: Request, session: DbSession, _: AdminUser) -> Response:
    form = await request.form()
    values: dict[str, Any] = {name: forms.text(form, name) for name in ("code", *STORE_FIELDS)}
    values["is_open"] = form.get("is_open") == "on"
    try:
        store = await stores.create_store(session, stores.StoreNew.model_validate(values))
    except (ValidationError, AppError) as exc:
        await session.rollback()
        return await _stores_page(request, session, values=values, errors=_errors(exc), status_code=_status(exc))
    return back(_url(store), f"门店 {store.name} 已创建，库位 {store.code} 已建立")


# ---- one store ------------------------------------------------------------------------------------


async def _store_page(
    request: Request,
    session: DbSession,
    store: Store,
    *,
    values: dict[str, Any] | None = None,
    till_values: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    if values is None:
        values = {name: getattr(store, name) or "" for name in STORE_FIELDS} | {"is_open": store.is_open}
    return render(
        request,
        "admin/pos_store.html",
        {
            "store": store,
            "location": await repository.location_of_store(session, store.id),
            "tills": await repository.tills_of(session, store.id),
            "staff": await repository.staff_of(session, store.id),
            "candidates": await repository.manager_candidates(session, store.id),
            "open_exceptions": (await stock_exceptions.open_counts(session, frozenset({store.id}))).get(store.id, 0),
            "values": values,
            "till_values": till_values or {},
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/stores/{code}")
async def store_page(
    request: Request,
    code: str,
    session: DbSession,
    _: AdminUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _store_page(request, session, await stores.store_or_404(session, code), notice=notice)


@router.post("/stores/{code}", dependencies=[CsrfProtected])
async def update_store(request: Request, code: str, session: DbSession, _: AdminUser) -> Response:
    store = await stores.store_or_404(session, code)
    form = await request.form()
    values: dict[str, Any] = {name: forms.text(form, name) for name in STORE_FIELDS}
    values["is_open"] = form.get("is_open") == "on"
    try:
        await stores.update_store(session, store, stores.StoreEdit.model_validate(values))
    except (ValidationError, AppError) as exc:
        await session.rollback()
        store = await stores.store_or_404(session, code)
        return await _store_page(request, session, store, values=values, errors=_errors(exc), status_code=_status(exc))
    return back(_url(store), "门店信息已保存")


@router.post("/stores/{code}/tills", dependencies=[CsrfProtected])
async def add_till(request: Request, code: str, session: DbSession, _: AdminUser) -> Response:
    store = await stores.store_or_404(session, code)
    form = await request.form()
    values = {name: forms.text(form, name) for name in ("code", "name", "sale_prefix")}
    try:
        till = await stores.add_till(session, store, stores.TillNew.model_validate(values))
    except (ValidationError, AppError) as exc:
        await session.rollback()
        store = await stores.store_or_404(session, code)
        return await _store_page(
            request, session, store, till_values=values, errors=_errors(exc), status_code=_status(exc)
        )
    return back(_url(store, till), f"收银机 {till.name} 已添加：生成登记码，在收银机的浏览器上登记")


@router.post("/stores/{code}/tills/{till_code}/active", dependencies=[CsrfProtected])
async def set_till_active(request: Request, code: str, till_code: str, session: DbSession, _: AdminUser) -> Response:
    store = await stores.store_or_404(session, code)
    till = await stores.till_of(session, store, till_code)
    active = (await request.form()).get("active") == "on"
    revoked = await stores.set_till_active(session, till, active=active)
    if active:
        return back(_url(store), f"收银机 {till.name} 已启用：请重新登记")
    return back(_url(store), f"收银机 {till.name} 已停用，{revoked} 个令牌（设备及其上的登录）已吊销")


@router.post("/stores/{code}/managers", dependencies=[CsrfProtected])
async def add_manager(request: Request, code: str, session: DbSession, _: AdminUser) -> Response:
    store = await stores.store_or_404(session, code)
    raw = forms.text(await request.form(), "user_id")
    try:
        if not raw.isdigit():
            raise InvalidInput("店长账号：请从列表中选择")
        user = await stores.add_manager(session, store, int(raw))
    except AppError as exc:
        await session.rollback()
        store = await stores.store_or_404(session, code)
        return await _store_page(request, session, store, errors=_errors(exc), status_code=exc.status_code)
    return back(_url(store), f"{user.display_name or user.username} 已设为本店店长")


@router.post("/stores/{code}/managers/{user_id}/remove", dependencies=[CsrfProtected])
async def remove_manager(code: str, user_id: int, session: DbSession, _: AdminUser) -> Response:
    store = await stores.store_or_404(session, code)
    await stores.remove_manager(session, store, user_id)
    return back(_url(store), "已不再是本店店长；其在本店收银机上的登录随即结束")


@router.post("/stores/{code}/staff/{user_id}/pin", dependencies=[CsrfProtected])
async def set_pin(request: Request, code: str, user_id: int, session: DbSession, principal: AdminUser) -> Response:
    store = await stores.store_or_404(session, code)
    pin = forms.text(await request.form(), "pin")
    try:
        user = await stores.set_pin(session, principal, store, user_id, pin)
    except AppError as exc:
        await session.rollback()
        store = await stores.store_or_404(session, code)
        return await _store_page(request, session, store, errors=_errors(exc), status_code=exc.status_code)
    return back(_url(store), f"{user.display_name or user.username} 的收银 PIN 已设置")


# ---- one till: enrolment and devices ----------------------------------------------------------------


async def _till_page(
    request: Request,
    session: DbSession,
    store: Store,
    till: Till,
    *,
    issued: devices.IssuedEnrolment | None = None,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    qr: Markup | None = None
    if issued is not None:
        url = issued.qr(request.app.state.settings.public_base_url)
        qr = qr_svg(url, label=f"收银机登记码 {issued.display}", css_class="qr-svg")
    return render(
        request,
        "admin/pos_till.html",
        {
            "store": store,
            "till": till,
            "found": await devices.till_devices(session, till.id),
            "base": _url(store, till),
            "issued": issued,
            "issued_qr": qr,
            "now": clock.now(),
            "ttl_minutes": request.app.state.settings.device_enrolment_ttl_minutes,
            "notice": notice,
            "errors": errors or [],
        },
        status_code=status_code,
    )


async def _store_till(session: DbSession, code: str, till_code: str) -> tuple[Store, Till]:
    store = await stores.store_or_404(session, code)
    return store, await stores.till_of(session, store, till_code)


@router.get("/stores/{code}/tills/{till_code}")
async def till_page(
    request: Request,
    code: str,
    till_code: str,
    session: DbSession,
    _: AdminUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    store, till = await _store_till(session, code, till_code)
    return await _till_page(request, session, store, till, notice=notice)


@router.post("/stores/{code}/tills/{till_code}/enrol", dependencies=[CsrfProtected])
async def enrol_till(request: Request, code: str, till_code: str, session: DbSession, principal: AdminUser) -> Response:
    store, till = await _store_till(session, code, till_code)
    try:
        issued = await devices.create_enrolment(
            session, principal, kind=TokenKind.pos_till, store_id=store.id, till_id=till.id
        )
    except AppError as exc:
        await session.rollback()
        store, till = await _store_till(session, code, till_code)
        return await _till_page(request, session, store, till, errors=_errors(exc), status_code=exc.status_code)
    return await _till_page(request, session, store, till, issued=issued)


@router.post("/stores/{code}/tills/{till_code}/devices/{token_id}/revoke", dependencies=[CsrfProtected])
async def revoke_till_device(
    code: str, till_code: str, token_id: int, session: DbSession, principal: AdminUser
) -> Response:
    store, till = await _store_till(session, code, till_code)
    record = await devices.revoke_device(session, principal, token_id, till_id=till.id)
    return back(
        _url(store, till), f"设备 {record.label or record.prefix} 已吊销：收银机下次请求即被拒绝，当班登录随之结束"
    )


@router.post("/stores/{code}/tills/{till_code}/enrolments/{enrolment_id}/cancel", dependencies=[CsrfProtected])
async def cancel_till_enrolment(
    code: str, till_code: str, enrolment_id: int, session: DbSession, principal: AdminUser
) -> Response:
    store, till = await _store_till(session, code, till_code)
    await devices.cancel_enrolment(session, principal, enrolment_id, till_id=till.id)
    return back(_url(store, till), "登记码已作废")
