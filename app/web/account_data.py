"""A customer's personal data from the account page (PIPL): download it, delete the account.

``GET /account/data`` is the same JSON attachment as ``GET /api/v1/me/data``. ``POST
/account/delete`` is a CSRF-protected form whose second step is typing 注销 (customers who signed
up by SMS have no password to type); refused with 409 while an order is under way. Both only for
the signed-in customer (``CustomerUser``: role customer with the shop scope) and only their own
data — there is no user id in either address. The rules live in ``app.orders.personal_data``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.accounts.access import SESSION_COOKIE, CustomerUser
from app.db import DbSession
from app.kit.errors import AppError
from app.orders import personal_data
from app.orders.views import data_download
from app.web.templating import CsrfProtected, render

router = APIRouter(include_in_schema=False)


@router.get("/account/data")
async def my_data(session: DbSession, principal: CustomerUser) -> Response:
    return data_download(await personal_data.export_customer_data(session, principal.user_id))


@router.post("/account/delete", dependencies=[CsrfProtected])
async def delete_account(
    request: Request,
    session: DbSession,
    principal: CustomerUser,
    confirm: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    try:
        await personal_data.erase_customer(
            session, principal.user_id, actor_user_id=principal.user_id, confirmation=confirm
        )
    except AppError as exc:
        await session.rollback()
        open_orders = exc.detail.get("orders", []) if isinstance(exc.detail, dict) else []
        return render(
            request,
            "account.html",
            {"me": principal, "delete_error": exc.text, "open_orders": open_orders, "confirm": confirm},
            status_code=exc.status_code,
        )
    request.scope["np.principal"] = None  # the page after is drawn for a visitor: the account is gone
    response = render(request, "account_deleted.html", {})
    response.delete_cookie(
        SESSION_COOKIE, httponly=True, samesite="lax", secure=bool(request.app.state.settings.session_cookie_secure)
    )
    return response
