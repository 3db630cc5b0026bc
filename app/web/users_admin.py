"""User management in the ops console (/admin/users): create accounts, disable and re-enable them,
reset passwords, bind a station operator to a station and a clerk to a store, revoke tokens.

Admins only. Thin: each form post is one call into ``app.accounts`` (``service.create_user`` and
``users``); what each change stops at once is written there. A generated password is put into the
page that answers the post — never into a redirect's query string, a log or the database — and is
shown that once. A refused form is rolled back and shown again with the reasons in Chinese.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from app.accounts import repository, schemas, service, users
from app.accounts.access import AdminUser
from app.accounts.errors import UserNotFound
from app.accounts.models import CompanyStatus, Role, User
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError, InvalidInput, NotFound
from app.kit.personal import mask_digit_runs, mask_name
from app.kit.phones import mask_phone
from app.stations import admin_queries
from app.web import forms
from app.web.admin import back, form_errors
from app.web.auth import safe_next
from app.web.templating import CsrfProtected, render

router = APIRouter(prefix="/admin", include_in_schema=False)

NEW_USER_FIELDS = ("username", "role", "display_name", "phone", "station_id", "store_id", "company_id")
STAFF_ROLES = (
    Role.admin,
    Role.warehouse,
    Role.station_operator,
    Role.clerk,
    Role.store_manager,
    Role.county_official,
    Role.streamer,
    Role.buyer,
    Role.customer,
)


def _optional_id(raw: str, label: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"{label}：请从列表中选择")
    return int(raw)


async def _choices(session: DbSession) -> dict[str, Any]:
    """What the station, store and company selects offer; stations say who operates them already."""
    stations = await admin_queries.list_stations(session)
    stores = await repository.list_stores(session)
    operators = await admin_queries.operators_by_station(session)
    return {
        "stations": stations,
        "station_of": {s.id: s for s in stations},
        "operators": operators,
        "unstaffed": [s for s in stations if not any(u.is_active for u in operators.get(s.id, []))],
        "stores": stores,
        "store_of": {s.id: s for s in stores},
        "companies": await repository.list_companies(session, status=CompanyStatus.approved),
        "roles": STAFF_ROLES,
    }


# ---- the list and new accounts ---------------------------------------------------------------------


def _listed_person(user: User) -> dict[str, str]:
    """Username, name and phone as the list shows them. A shop customer's are personal data the
    list does not need (PIPL): masked here — an SMS sign-up's username is its mobile number — and
    in full on the account's own page. Staff and buyers' accounts are shown as they are."""
    if user.role is not Role.customer:
        return {"username": user.username, "name": user.display_name or "—", "phone": user.phone or "—"}
    return {
        "username": mask_digit_runs(user.username),
        "name": mask_name(user.display_name) if user.display_name else "—",
        "phone": mask_phone(user.phone) if user.phone else "—",
    }


async def _render_users(
    request: Request,
    session: DbSession,
    *,
    role: str = "",
    q: str = "",
    values: dict[str, str] | None = None,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    listed = await repository.list_users(session, role=role or None, q=q or None)
    return render(
        request,
        "admin/users.html",
        {
            **await _choices(session),
            "users": listed,
            "shown": {u.id: _listed_person(u) for u in listed},
            "tokens": await repository.list_tokens(session),
            "now": clock.now(),
            "role": role,
            "q": q,
            "values": values or {"role": Role.station_operator.value},
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/users")
async def users_page(
    request: Request,
    session: DbSession,
    _: AdminUser,
    role: Annotated[str, Query(max_length=20)] = "",
    q: Annotated[str, Query(max_length=50)] = "",
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    role = role if role in {r.value for r in Role} else ""
    return await _render_users(request, session, role=role, q=q.strip(), notice=notice)


@router.post("/users", dependencies=[CsrfProtected])
async def create_user(request: Request, session: DbSession, _: AdminUser) -> Response:
    """A new account. Left blank, the password is generated and shown once on the next page."""
    form = await request.form()
    values = {name: forms.text(form, name) for name in NEW_USER_FIELDS}
    typed_password = form.get("password")
    password = typed_password if isinstance(typed_password, str) and typed_password else None
    generated = users.generate_password() if password is None else None
    try:
        body = schemas.UserIn.model_validate(
            {
                **values,
                "password": password or generated,
                "phone": values["phone"] or None,
                "station_id": _optional_id(values["station_id"], "村站"),
                "store_id": _optional_id(values["store_id"], "门店"),
                "company_id": _optional_id(values["company_id"], "采购商企业"),
            }
        )
        user = await service.create_user(session, **body.model_dump())
    except (ValidationError, AppError) as exc:
        await session.rollback()
        return await _render_users(
            request, session, values=values, errors=form_errors(exc), status_code=forms.error_status(exc)
        )
    notice = f"已创建 {user.role.label_zh} 账号 {user.username}"
    if generated is None:
        return back(f"/admin/users/{user.id}", notice)
    return await _render_user(request, session, user.id, notice=notice, one_time_password=generated)


# ---- one account --------------------------------------------------------------------------------------


async def _render_user(
    request: Request,
    session: DbSession,
    user_id: int,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    one_time_password: str | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    user = await repository.user_by_id(session, user_id)
    if user is None:
        raise UserNotFound()
    return render(
        request,
        "admin/user.html",
        {
            **await _choices(session),
            "user": user,
            "tokens": await repository.list_tokens(session, user_id=user.id),
            "now": clock.now(),
            "values": values or {"display_name": user.display_name, "phone": user.phone or ""},
            "one_time_password": one_time_password,
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/users/{user_id}")
async def user_page(
    request: Request,
    user_id: int,
    session: DbSession,
    _: AdminUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _render_user(request, session, user_id, notice=notice)


async def _refused(request: Request, session: DbSession, user_id: int, exc: forms.Refusal, **context: Any) -> Response:
    if isinstance(exc, UserNotFound):
        raise exc
    await session.rollback()
    return await _render_user(
        request, session, user_id, errors=form_errors(exc), status_code=forms.error_status(exc), **context
    )


@router.post("/users/{user_id}/profile", dependencies=[CsrfProtected])
async def update_profile(request: Request, user_id: int, session: DbSession, _: AdminUser) -> Response:
    form = await request.form()
    values = {"display_name": forms.text(form, "display_name"), "phone": forms.text(form, "phone")}
    try:
        body = schemas.ProfileIn.model_validate({**values, "phone": values["phone"] or None})
        await users.update_profile(session, user_id, display_name=body.display_name, phone=body.phone)
    except (ValidationError, AppError) as exc:
        return await _refused(request, session, user_id, exc, values=values)
    return back(f"/admin/users/{user_id}", "姓名和手机已保存")


@router.post("/users/{user_id}/status", dependencies=[CsrfProtected])
async def set_status(request: Request, user_id: int, session: DbSession, principal: AdminUser) -> Response:
    form = await request.form()
    active = forms.text(form, "active") == "1"
    try:
        user = await users.set_active(session, principal, user_id, active=active)
    except AppError as exc:
        return await _refused(request, session, user_id, exc)
    notice = (
        f"{user.username} 已恢复启用"
        if active
        else f"{user.username} 已停用：不能再登录，网页会话和个人 API 令牌已作废，设备令牌暂停使用"
    )
    return back(f"/admin/users/{user_id}", notice)


@router.post("/users/{user_id}/password", dependencies=[CsrfProtected])
async def reset_password(request: Request, user_id: int, session: DbSession, _: AdminUser) -> Response:
    """Generate a password (shown once, on the page this post answers) or set the typed one."""
    form = await request.form()
    typed = form.get("password")
    wanted = typed if forms.text(form, "mode") == "set" and isinstance(typed, str) else None
    try:
        if forms.text(form, "mode") == "set" and not wanted:
            raise InvalidInput("请输入新密码（至少 8 位），或选择“生成新密码”")
        reset = await users.reset_password(session, user_id, password=wanted)
    except AppError as exc:
        return await _refused(request, session, user_id, exc)
    notice = f"{reset.user.username} 的密码已重置，原有登录已全部退出"
    if reset.generated is None:
        return back(f"/admin/users/{user_id}", notice)
    return await _render_user(request, session, user_id, notice=notice, one_time_password=reset.generated)


# place in the URL → (form field, what the place is called, what its devices are called, service)
PLACES = {
    "station": ("station_id", "村站", " PDA ", users.bind_station),
    "store": ("store_id", "门店", "收银机登录", users.bind_store),
}


@router.post("/users/{user_id}/{place}", dependencies=[CsrfProtected])
async def bind_place(request: Request, user_id: int, place: str, session: DbSession, _: AdminUser) -> Response:
    """Bind a station operator to a station (``/station``) or a clerk to a store (``/store``)."""
    if place not in PLACES:
        raise NotFound()
    field, label, device, bind = PLACES[place]
    form = await request.form()
    try:
        place_id = _optional_id(forms.text(form, field), label)
        if place_id is None:
            raise InvalidInput(f"{label}：请选择")
        bound = await bind(session, user_id, place_id)
    except AppError as exc:
        return await _refused(request, session, user_id, exc)
    if bound.previous_id is None or bound.revoked_devices == 0:
        return back(f"/admin/users/{user_id}", f"{bound.user.username} 的{label}已保存")
    notice = f"{bound.user.username} 的{label}已改绑；原{label}的 {bound.revoked_devices} 台{device}令牌已吊销"
    return back(f"/admin/users/{user_id}", notice)


@router.post("/tokens/{token_id}/revoke", dependencies=[CsrfProtected])
async def revoke_token(request: Request, token_id: int, session: DbSession, principal: AdminUser) -> Response:
    """Revoke any token (a lost PDA, a leaked API token); back to the page the button was on."""
    form = await request.form()
    await service.revoke_token(session, principal, token_id)
    record = await repository.token_by_id(session, token_id)
    prefix = record.prefix if record is not None else ""
    target = safe_next(forms.text(form, "back")) or "/admin/users"
    return back(target.split("?", 1)[0], f"令牌 {prefix}… 已吊销，使用它的设备下次请求即被拒绝")
