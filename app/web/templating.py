"""Jinja2 set-up for every page, and the CSRF token pages put in their forms.

CSRF: a signed random token lives in the ``np_csrf`` cookie and in a hidden ``csrf_token`` field
of every form; a form post is accepted only when both are present, equal and correctly signed
(double-submit, with the session cookie also ``SameSite=Lax``).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from app.accounts.access import CSRF_COOKIE, CSRF_FORM_FIELD
from app.accounts.security import csrf_token_valid, new_csrf_token
from app.kit import clock
from app.kit.errors import CsrfFailed
from app.kit.money import format_minor
from app.kit.quantities import UNIT_LABELS_ZH, Unit, format_quantity
from app.web.assets import asset

CHINA_TZ = clock.business_tz()


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Times are stored in UTC; people in Shixing read them in China time."""
    return value.astimezone(CHINA_TZ).strftime(fmt) if value else ""


def quantity_text(value: Decimal | str | int) -> str:
    """``qty()`` in templates: listing dicts carry quantities as JSON strings, models as Decimals."""
    return format_quantity(value if isinstance(value, Decimal) else Decimal(str(value)))


def brand(request: Request) -> Any:
    """``brand(request)`` in templates: the county and brand names from the settings."""
    return request.app.state.settings


def cart_count(request: Request) -> int:
    """Lines in the visitor's cart cookie, for the header link (no database read)."""
    from app.web.cart import read_cart

    return len(read_cart(request))


TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "storefront" / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals.update(asset=asset, money=format_minor, qty=quantity_text, cart_count=cart_count, brand=brand)
templates.env.filters["local_time"] = local_time
templates.env.filters["unit_zh"] = lambda u: UNIT_LABELS_ZH.get(Unit(u), str(u)) if u else ""


def _secret(request: Request) -> str:
    return str(request.app.state.settings.secret_key.get_secret_value())


def csrf_token(request: Request) -> str:
    """The request's CSRF token: the cookie's when valid, else a new one (set on the response)."""
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and csrf_token_valid(_secret(request), existing):
        return existing
    token: str | None = request.scope.get("np.new_csrf")
    if token is None:
        token = new_csrf_token(_secret(request))
        request.scope["np.new_csrf"] = token
    return token


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> Response:
    ctx = {
        "request": request,
        "csrf_token": csrf_token(request),
        "principal": request.scope.get("np.principal"),
        **(context or {}),
    }
    response: HTMLResponse = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    set_csrf_cookie(request, response)
    return response


def error_page(request: Request, status_code: int, code: str, message: str) -> Response:
    """The page a browser gets for an error (the kit's error handlers call it for HTML requests)."""
    return render(
        request, "error.html", {"status_code": status_code, "code": code, "message": message}, status_code=status_code
    )


def set_csrf_cookie(request: Request, response: Response) -> None:
    new = request.scope.get("np.new_csrf")
    if new:
        response.set_cookie(
            CSRF_COOKIE,
            new,
            httponly=True,
            samesite="lax",
            secure=bool(request.app.state.settings.session_cookie_secure),
        )


async def verify_form_csrf(request: Request) -> None:
    form = await request.form()
    submitted = form.get(CSRF_FORM_FIELD)
    cookie = request.cookies.get(CSRF_COOKIE)
    if (
        not isinstance(submitted, str)
        or not cookie
        or submitted != cookie
        or not csrf_token_valid(_secret(request), submitted)
    ):
        raise CsrfFailed()


verify_form_csrf.csrf_protected = True  # type: ignore[attr-defined]
CsrfProtected = Depends(verify_form_csrf)
