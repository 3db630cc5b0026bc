"""The till's own enrol page (/pos/enrol): the browser of a store's counter PC or tablet trades
the one-time code shown in the ops console (typed, or the QR scanned, which opens this page with
``?code=``) for the till's device token, kept in an HttpOnly cookie (``np_till``) that the POS
API reads when a clerk signs in (``POST /api/v1/pos/session``). Script on the page never sees
the token. The code is counted per client address like every enrolment
(``DEVICE_ENROL_RATE_LIMIT``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.accounts import devices
from app.accounts.access import PublicAccess
from app.accounts.ratelimit import EnrolmentLimiter
from app.db import DbSession
from app.kit.errors import AppError
from app.kit.http import client_address
from app.pos import repository, sessions
from app.pos.models import Store
from app.web import forms
from app.web.admin import form_errors
from app.web.templating import CsrfProtected, render

router = APIRouter(include_in_schema=False)


def _form(request: Request, code: str, label: str, errors: list[str] | None = None, status_code: int = 200) -> Response:
    ttl = request.app.state.settings.device_enrolment_ttl_minutes
    context = {"code": code, "label": label, "errors": errors or [], "ttl_minutes": ttl}
    return render(request, "pos/enrol.html", context, status_code=status_code)


@router.get("/pos/enrol", dependencies=[PublicAccess])
async def enrol_page(request: Request, code: Annotated[str, Query(max_length=300)] = "") -> Response:
    return _form(request, devices.normalise_code(code) if code else "", "")


@router.post("/pos/enrol", dependencies=[PublicAccess, CsrfProtected])
async def enrol(request: Request, session: DbSession) -> Response:
    form = await request.form()
    code, label = forms.text(form, "code", 300), forms.text(form, "label", 100) or "收银机"
    limiter: EnrolmentLimiter = request.app.state.enrolment_limiter
    try:
        issued = await devices.redeem(session, limiter, code=code, label=label, client_ip=client_address(request))
    except AppError as exc:
        await session.rollback()
        return _form(request, code, label, form_errors(exc), exc.status_code)
    record = issued.record
    if record.till_id is None:
        # A station PDA's code typed into a till's browser: the PDA token is not kept here.
        await session.rollback()
        return _form(request, "", label, ["这是村站 PDA 的登记码，不能用于收银机"], 422)
    till = await repository.till_by_id(session, record.till_id)
    store = await session.get(Store, record.store_id)
    response = render(request, "pos/enrolled.html", {"till": till, "store": store, "label": record.label})
    settings = request.app.state.settings
    response.set_cookie(
        sessions.TILL_COOKIE,
        issued.token,
        httponly=True,
        samesite="strict",
        secure=bool(settings.session_cookie_secure),
        max_age=settings.device_token_ttl_days * 86400,
        path="/",
    )
    return response
