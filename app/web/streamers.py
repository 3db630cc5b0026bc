"""Live-stream sellers (主播带货): the public link ``/s/{code}``, the centre's admin pages (sellers,
product rules, monthly statements with XLSX) and a streamer's own page ``/streamer``.

A streamer's routes take no seller id: they read the seller linked to the signed-in user, so a
streamer can never open another seller's figures (the admin routes refuse the role: 403)."""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.accounts.access import AdminUser, PublicAccess, StreamerUser
from app.config import get_settings
from app.db import DbSession
from app.kit.qr import qr_svg
from app.streamers import errors, repository, service, statements
from app.streamers.models import Seller
from app.web import forms
from app.web.auth import safe_next
from app.web.stock.common import page_errors
from app.web.templating import CsrfProtected, render

router = APIRouter(include_in_schema=False)


def seller_link(request: Request, seller: Seller) -> str:
    return str(request.base_url).rstrip("/") + f"/s/{seller.code}"


@router.get("/s/{code}", dependencies=[PublicAccess])
async def follow_link(
    request: Request, code: str, session: DbSession, next: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    """A seller's link: first-touch attribution cookie (signed), then the shop (or a same-site ``next``)."""
    response = RedirectResponse(safe_next(next) or "/", status_code=303)
    value = await service.follow_link(session, code[:20], request.cookies.get(service.LINK_COOKIE))
    if value is not None:
        response.set_cookie(
            service.LINK_COOKIE,
            value,
            max_age=get_settings().streamer_attribution_days * 86400,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def _bps(raw: str, label: str = "佣金比例") -> int:
    """A percentage typed as ``5`` or ``5.25`` → basis points."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(forms.required(raw, label))
    except InvalidOperation as exc:
        raise errors.SellerInvalid(f"{label}请填写 0–100 之间的数字") from exc
    bps = value * 100
    if bps != bps.to_integral_value() or not 0 <= bps <= 10000:
        raise errors.SellerInvalid(f"{label}请填写 0–100 之间的数字（最多两位小数）")
    return int(bps)


def _seller_input(form: dict[str, str]) -> service.SellerInput:
    user = form.get("user_id", "")
    return service.SellerInput(
        name=form.get("name", ""),
        phone=form.get("phone") or None,
        commission_bps=_bps(form.get("commission_pct", "")),
        active=form.get("active") == "1",
        user_id=int(user) if user.isdigit() else None,
    )


async def _render_list(
    request: Request, session: DbSession, *, errors: list[str] | None = None, status_code: int = 200
) -> Response:
    return render(
        request,
        "admin/streamers.html",
        {
            "sellers": await repository.sellers(session),
            "users": await repository.streamer_users(session),
            "key": forms.new_key(),
            "errors": errors or [],
            "notice": "",
        },
        status_code=status_code,
    )


@router.get("/admin/streamers")
async def sellers_page(request: Request, session: DbSession, _: AdminUser) -> Response:
    return await _render_list(request, session)


@router.post("/admin/streamers", dependencies=[CsrfProtected])
async def create_seller(request: Request, session: DbSession, principal: AdminUser) -> Response:
    form = await request.form()
    typed = {k: forms.text(form, k, 50) for k in ("name", "phone", "commission_pct", "active", "user_id")}

    async def work() -> str:
        seller = await service.create_seller(session, _seller_input(typed))
        return f"/admin/streamers/{seller.id}"

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(functools.partial(_render_list, request, session), page_errors),
    )


async def _render_seller(
    request: Request, session: DbSession, seller_id: int, *, errors: list[str] | None = None, status_code: int = 200
) -> Response:
    seller = await service.get_seller(session, seller_id)
    link = seller_link(request, seller)
    return render(
        request,
        "admin/streamers_seller.html",
        {
            "seller": seller,
            "link": link,
            "qr": qr_svg(link, label=f"{seller.name} 的带货链接"),
            "attribution_days": get_settings().streamer_attribution_days,
            "rules": await repository.rules(session, seller.id),
            "products": await repository.products(session),
            "users": await repository.streamer_users(session),
            "months": await statements.months(session, seller),
            "keys": {"edit": forms.new_key(), "rule": forms.new_key()},
            "errors": errors or [],
            "notice": "",
        },
        status_code=status_code,
    )


@router.get("/admin/streamers/{seller_id}")
async def seller_page(request: Request, seller_id: int, session: DbSession, _: AdminUser) -> Response:
    return await _render_seller(request, session, seller_id)


@router.post("/admin/streamers/{seller_id}", dependencies=[CsrfProtected])
async def edit_seller(request: Request, seller_id: int, session: DbSession, principal: AdminUser) -> Response:
    form = await request.form()
    typed = {k: forms.text(form, k, 50) for k in ("name", "phone", "commission_pct", "active", "user_id")}

    async def work() -> str:
        await service.update_seller(session, seller_id, _seller_input(typed))
        return f"/admin/streamers/{seller_id}"

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(functools.partial(_render_seller, request, session, seller_id), page_errors),
    )


@router.post("/admin/streamers/{seller_id}/rules", dependencies=[CsrfProtected])
async def set_rule(request: Request, seller_id: int, session: DbSession, principal: AdminUser) -> Response:
    """A product's own rate for this seller (an empty rate removes the rule)."""
    form = await request.form()
    product, pct = forms.text(form, "product_id", 12), forms.text(form, "commission_pct", 10)

    async def work() -> str:
        if not product.isdigit():
            raise errors.SellerInvalid("请选择商品")
        if pct:
            await service.set_rule(session, seller_id, int(product), _bps(pct, "商品佣金比例"))
        else:
            await service.remove_rule(session, seller_id, int(product))
        return f"/admin/streamers/{seller_id}"

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(functools.partial(_render_seller, request, session, seller_id), page_errors),
    )


Month = Annotated[str, Query(max_length=7)]


async def _render_statement(request: Request, session: DbSession, seller: Seller, month: str, *, own: bool) -> Response:
    year, number = statements.parse_month(month)
    st = await statements.statement(session, seller, year, number)
    return render(
        request,
        "admin/streamers_statement.html",
        {
            "st": st,
            "own": own,
            "months": await statements.months(session, seller),
            "xlsx": ("/streamer/statement.xlsx" if own else f"/admin/streamers/{seller.id}/statement.xlsx")
            + f"?month={st.month}",
            "claim_days": get_settings().claim_window_days,
        },
    )


def _xlsx(st: statements.Statement) -> Response:
    return Response(
        statements.statement_xlsx(st),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="streamer-{st.seller.code}-{st.month}.xlsx"'},
    )


@router.get("/admin/streamers/{seller_id}/statement")
async def statement_page(
    request: Request, seller_id: int, session: DbSession, _: AdminUser, month: Month = ""
) -> Response:
    return await _render_statement(request, session, await service.get_seller(session, seller_id), month, own=False)


@router.get("/admin/streamers/{seller_id}/statement.xlsx")
async def statement_xlsx(seller_id: int, session: DbSession, _: AdminUser, month: Month = "") -> Response:
    seller = await service.get_seller(session, seller_id)
    return _xlsx(await statements.statement(session, seller, *statements.parse_month(month)))


async def _own_seller(session: DbSession, user_id: int) -> Seller:
    seller = await repository.seller_of_user(session, user_id)
    if seller is None:
        raise errors.SellerNotFound("您的账号尚未关联主播档案，请联系运营中心")
    return seller


@router.get("/streamer")
async def own_page(request: Request, session: DbSession, principal: StreamerUser, month: Month = "") -> Response:
    """The streamer's own link, QR and monthly statement (only the seller linked to this user)."""
    seller = await _own_seller(session, principal.user_id)
    year, number = statements.parse_month(month)
    link = seller_link(request, seller)
    return render(
        request,
        "streamer/home.html",
        {
            "seller": seller,
            "link": link,
            "qr": qr_svg(link, label=f"{seller.name} 的带货链接"),
            "attribution_days": get_settings().streamer_attribution_days,
            "st": await statements.statement(session, seller, year, number),
            "months": await statements.months(session, seller),
            "claim_days": get_settings().claim_window_days,
        },
    )


@router.get("/streamer/statement.xlsx")
async def own_statement_xlsx(session: DbSession, principal: StreamerUser, month: Month = "") -> Response:
    seller = await _own_seller(session, principal.user_id)
    return _xlsx(await statements.statement(session, seller, *statements.parse_month(month)))
