"""Sign-in and sign-out pages (cookie sessions) and the account page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts import service, sms_login
from app.accounts.access import SESSION_COOKIE, AnyUser, MaybeUser, PublicAccess, Role
from app.accounts.errors import InvalidCredentials, LoginRateLimited
from app.accounts.models import User
from app.accounts.sms_login import CodeSent
from app.db import DbSession
from app.kit.errors import AppError
from app.kit.http import client_address
from app.kit.phones import mask_phone
from app.web.templating import CsrfProtected, render

router = APIRouter(include_in_schema=False)

ROLE_HOME = {
    Role.admin: "/admin",
    Role.warehouse: "/admin/stock",
    Role.station_operator: "/station",
    Role.clerk: "/pos",
    # The stores the manager runs, with today's figures and what waits for them.
    Role.store_manager: "/admin/pos",
    Role.county_official: "/admin",
    Role.streamer: "/streamer",
}


def safe_next(next_url: str | None) -> str | None:
    """Only same-site paths: ``//evil.example`` and absolute URLs are ignored (open redirect)."""
    if next_url and next_url.startswith("/") and not next_url.startswith("//") and "\\" not in next_url:
        return next_url
    return None


@router.get("/login", dependencies=[PublicAccess])
async def login_page(request: Request, principal: MaybeUser, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next) or "", "error": None, "username": ""})


@router.post("/login", dependencies=[PublicAccess, CsrfProtected])
async def login(
    request: Request,
    session: DbSession,
    username: Annotated[str, Form(max_length=50)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    client = client_address(request)
    try:
        user = await service.authenticate(
            session, request.app.state.login_limiter, username=username, password=password, client_ip=client
        )
    except (InvalidCredentials, LoginRateLimited) as exc:
        return render(
            request,
            "login.html",
            {"next": safe_next(next) or "", "error": exc.text, "username": username},
            status_code=exc.status_code,
        )
    return await _signed_in(request, session, user, next)


async def _signed_in(request: Request, session: DbSession, user: User, next_url: str) -> Response:
    """Start the cookie session and go where the visitor was heading (same-site only)."""
    raw = await service.start_web_session(session, user)
    target = safe_next(next_url) or ROLE_HOME.get(Role(user.role), "/account")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.settings.session_cookie_secure),
        max_age=request.app.state.settings.session_ttl_hours * 3600,
    )
    return response


# ---- customers: mobile number + one-time SMS code (sign-in and sign-up in one) -------------------


def _sms_page(
    request: Request,
    *,
    next_url: str,
    phone: str = "",
    sent: CodeSent | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "login_sms.html",
        {
            "next": safe_next(next_url) or "",
            "phone": phone,
            "sent": sent,
            "phone_masked": mask_phone(sent.phone) if sent else "",
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/login/sms", dependencies=[PublicAccess])
async def sms_login_page(request: Request, principal: MaybeUser, next: str | None = None) -> Response:
    return _sms_page(request, next_url=next or "")


@router.post("/login/sms/code", dependencies=[PublicAccess, CsrfProtected])
async def sms_send_code(
    request: Request,
    session: DbSession,
    phone: Annotated[str, Form(max_length=20)] = "",
    next: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    try:
        sent = await sms_login.send_code(
            session, request.app.state.sms_login_limiter, phone=phone, client_ip=client_address(request)
        )
    except AppError as exc:
        await session.rollback()
        return _sms_page(request, next_url=next, phone=phone, error=exc.text, status_code=exc.status_code)
    return _sms_page(request, next_url=next, phone=phone, sent=sent)


@router.post("/login/sms", dependencies=[PublicAccess, CsrfProtected])
async def sms_sign_in(
    request: Request,
    session: DbSession,
    phone: Annotated[str, Form(max_length=20)] = "",
    code: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    try:
        user = await sms_login.sign_in_with_code(
            session, request.app.state.sms_login_limiter, phone=phone, code=code, client_ip=client_address(request)
        )
    except AppError as exc:
        await session.rollback()
        # The code field stays: a mistyped code is typed again, a new one asked for with the button.
        sent = CodeSent(phone=phone, ttl_minutes=request.app.state.settings.sms_login_code_ttl_minutes)
        keep = exc.code in ("sms_code_invalid", "sms_code_expired", "sms_code_rate_limited")
        return _sms_page(
            request,
            next_url=next,
            phone=phone,
            sent=sent if keep else None,
            error=exc.text,
            status_code=exc.status_code,
        )
    return await _signed_in(request, session, user, next)


@router.post("/logout", dependencies=[PublicAccess, CsrfProtected])
async def logout(request: Request, session: DbSession) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        await service.end_web_session(session, raw)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=bool(request.app.state.settings.session_cookie_secure)
    )
    return response


@router.get("/account")
async def account(request: Request, principal: AnyUser) -> Response:
    return render(request, "account.html", {"me": principal})
