"""Sign-in and sign-out pages (cookie sessions) and the account page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts import service
from app.accounts.access import SESSION_COOKIE, AnyUser, MaybeUser, PublicAccess, Role
from app.accounts.errors import InvalidCredentials, LoginRateLimited
from app.db import DbSession
from app.kit.http import client_address
from app.web.templating import CsrfProtected, render

router = APIRouter(include_in_schema=False)

ROLE_HOME = {Role.admin: "/admin", Role.warehouse: "/admin/stock", Role.station_operator: "/station"}


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
    raw = await service.start_web_session(session, user)
    target = safe_next(next) or ROLE_HOME.get(Role(user.role), "/account")
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
