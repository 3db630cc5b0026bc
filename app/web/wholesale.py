"""Wholesale pages, company side: the public application (/wholesale/apply), a colleague's
invitation link (/wholesale/join) and the owner's team and API keys (/wholesale/team).

Thin: each post is one call into ``app.wholesale.service``. The application shows every problem
next to its field at once (``ApplicationInvalid.detail["fields"]``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from app.accounts import errors as accounts_errors
from app.accounts.access import CompanyOwnerUser, PublicAccess
from app.accounts.ratelimit import ApplicationLimiter
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError, InvalidInput
from app.kit.http import client_address
from app.web import forms
from app.web.templating import CsrfProtected, local_time, render
from app.wholesale import service

router = APIRouter(prefix="/wholesale", include_in_schema=False)

ADDRESS_FIELDS = ("city", "address", "receiving_from", "receiving_until", "contact_name", "contact_phone")
ADDRESS_SLOTS = 2  # the form offers two addresses; the second is optional
APPLICATION_FIELDS = ("name", "credit_code", "contact_name", "contact_phone", "username")


# ---- application ---------------------------------------------------------------------------------


def _application(form: FormData) -> service.ApplicationInput:
    addresses = [
        service.AddressInput(**{f: forms.text(form, f"addresses.{i}.{f}", 300) for f in ADDRESS_FIELDS})
        for i in range(ADDRESS_SLOTS)
    ]
    return service.ApplicationInput(
        **{f: forms.text(form, f, 200) for f in APPLICATION_FIELDS},
        password=forms.text(form, "password", 200, strip=False),
        addresses=addresses,
    )


def _apply_page(
    request: Request,
    *,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    errors_: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    first_city = service.prd_cities()[0]
    return render(
        request,
        "wholesale/apply.html",
        {
            "cities": service.prd_cities(),
            "values": values
            or {
                "addresses.0.city": first_city,
                "addresses.0.receiving_from": "06:00",
                "addresses.0.receiving_until": "10:00",
            },
            "field_errors": field_errors or {},
            "errors": errors_ or [],
            "slots": range(ADDRESS_SLOTS),
        },
        status_code=status_code,
    )


# An application refused by a rule of the accounts domain names the field it is about.
REFUSAL_FIELDS = {
    accounts_errors.CompanyNameTaken.code: "name",
    accounts_errors.CreditCodeTaken.code: "credit_code",
}


@router.get("/apply", dependencies=[PublicAccess])
async def apply_page(request: Request) -> Response:
    return _apply_page(request)


@router.post("/apply", dependencies=[PublicAccess, CsrfProtected])
async def apply(request: Request, session: DbSession) -> Response:
    """An application from the page: every problem is shown next to its field; the password is
    never sent back into the form."""
    form = await request.form()
    application = _application(form)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k not in ("password", "csrf_token")}
    limiter: ApplicationLimiter = request.app.state.application_limiter
    if not await limiter.attempt(client_address(request)):
        refusal = accounts_errors.ApplicationRateLimited()
        return _apply_page(request, values=values, errors_=[refusal.text], status_code=refusal.status_code)
    try:
        company = await service.apply(session, application)
    except AppError as exc:
        await session.rollback()
        detail: dict[str, Any] = exc.detail if isinstance(exc.detail, dict) else {}
        fields: dict[str, str] = dict(detail.get("fields") or {})
        if exc.code in REFUSAL_FIELDS:
            fields[REFUSAL_FIELDS[exc.code]] = exc.text
        general = [] if fields else [exc.text]
        return _apply_page(request, values=values, field_errors=fields, errors_=general, status_code=exc.status_code)
    return RedirectResponse(forms.url("/wholesale/applied", name=company.name), status_code=303)


@router.get("/applied", dependencies=[PublicAccess])
async def applied_page(request: Request, name: Annotated[str, Query(max_length=200)] = "") -> Response:
    return render(request, "wholesale/applied.html", {"name": name})


# ---- a colleague's invitation ---------------------------------------------------------------------


async def _join_page(
    request: Request,
    session: DbSession,
    token: str,
    *,
    username: str = "",
    errors_: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    """The invitation's form, or why the link no longer works (unknown 404, used 409, expired 410)."""
    try:
        opened = await service.open_invitation(session, token)
    except AppError as exc:
        return render(request, "wholesale/join.html", {"refused": exc.text}, status_code=exc.status_code)
    context = {"invitation": opened.invitation, "company": opened.company, "token": token, "username": username}
    return render(request, "wholesale/join.html", {**context, "errors": errors_ or []}, status_code=status_code)


@router.get("/join", dependencies=[PublicAccess])
async def join_page(request: Request, session: DbSession, t: Annotated[str, Query(max_length=200)] = "") -> Response:
    return await _join_page(request, session, t)


@router.post("/join", dependencies=[PublicAccess, CsrfProtected])
async def join(request: Request, session: DbSession) -> Response:
    form = await request.form()
    token = forms.text(form, "t", 200)
    username = forms.text(form, "username", 50)
    password = forms.text(form, "password", 200, strip=False)
    try:
        if password != forms.text(form, "password_again", 200, strip=False):
            raise InvalidInput("两次输入的密码不一致")
        user = await service.accept_invitation(session, token, username=username, password=password)
    except AppError as exc:
        await session.rollback()
        return await _join_page(
            request, session, token, username=username, errors_=[exc.text], status_code=exc.status_code
        )
    return render(request, "wholesale/joined.html", {"username": user.username})


# ---- the owner's team and keys ----------------------------------------------------------------------


async def _team_page(
    request: Request,
    session: DbSession,
    owner: Any,
    *,
    notice: str = "",
    errors_: list[str] | None = None,
    new_key: str = "",
    status_code: int = 200,
) -> Response:
    team = await service.team(session, owner)
    profile = await service.profile(session, owner.company_id)
    return render(
        request,
        "wholesale/team.html",
        {
            "team": team,
            "company": profile.company,
            "now": clock.now(),
            "notice": notice,
            "errors": errors_ or [],
            "new_key": new_key,
        },
        status_code=status_code,
    )


@router.get("/team")
async def team_page(
    request: Request,
    session: DbSession,
    owner: CompanyOwnerUser,
    notice: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    return await _team_page(request, session, owner, notice=notice)


def _back(notice: str) -> Response:
    return RedirectResponse(forms.url("/wholesale/team", notice=notice), status_code=303)


async def _refused(request: Request, session: DbSession, owner: Any, exc: forms.Refusal) -> Response:
    messages = [exc.text] if isinstance(exc, AppError) else [str(exc)]
    return await _team_page(request, session, owner, errors_=messages, status_code=forms.error_status(exc))


@router.post("/team/invite", dependencies=[CsrfProtected])
async def invite(request: Request, session: DbSession, owner: CompanyOwnerUser) -> Response:
    form = await request.form()

    async def post() -> Response:
        sent = await service.invite(
            session, owner, name=forms.text(form, "name", 50), phone=forms.text(form, "phone", 20)
        )
        until = local_time(sent.invitation.expires_at, "%m-%d %H:%M")
        return _back(f"已向 {sent.invitation.name} 发送邀请短信，链接 {until} 前有效")

    return await forms.submit(session, post, lambda exc: _refused(request, session, owner, exc))


@router.post("/team/invitations/{invitation_id}/cancel", dependencies=[CsrfProtected])
async def cancel_invitation(
    invitation_id: int, request: Request, session: DbSession, owner: CompanyOwnerUser
) -> Response:
    await service.cancel_invitation(session, owner, invitation_id)
    return _back("邀请已撤销")


@router.post("/team/{user_id}/deactivate", dependencies=[CsrfProtected])
async def deactivate(user_id: int, request: Request, session: DbSession, owner: CompanyOwnerUser) -> Response:
    user = await service.deactivate_colleague(session, owner, user_id)
    return _back(f"已停用 {user.display_name or user.username} 的账号")


@router.post("/team/keys", dependencies=[CsrfProtected])
async def issue_key(request: Request, session: DbSession, owner: CompanyOwnerUser) -> Response:
    """The key is put into the page answering the post — shown this once, never in a redirect."""
    form = await request.form()

    async def post() -> Response:
        issued = await service.issue_key(session, owner, forms.text(form, "label", 100))
        return await _team_page(request, session, owner, new_key=issued.token, notice="API 密钥已签发")

    return await forms.submit(session, post, lambda exc: _refused(request, session, owner, exc))


@router.post("/team/keys/{key_id}/revoke", dependencies=[CsrfProtected])
async def revoke_key(key_id: int, request: Request, session: DbSession, owner: CompanyOwnerUser) -> Response:
    key = await service.revoke_key(session, owner, key_id)
    return _back(f"API 密钥 {key.prefix}… 已吊销")
