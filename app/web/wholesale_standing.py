"""The buyer portal's standing orders (/wholesale/standing): the company's weekly repeat orders
with their next week, skip / undo the next week, pause / resume, change the lines, delete; a new
one from a pasted list, or from an order's page (每周重复). Owner and colleagues alike; another
company's standing order is a 404.

Every action is a form post run once per rendered form (its idempotency key), then back to the list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from app.accounts.access import BuyerUser, Principal
from app.db import DbSession
from app.kit.errors import AppError
from app.web import forms
from app.web.templating import CsrfProtected, render
from app.web.wholesale_portal import basket_lines, parse_pasted
from app.wholesale import errors as wholesale_errors
from app.wholesale import ordering, service, standing, standing_errors, trips

router = APIRouter(prefix="/wholesale/standing", include_in_schema=False)
PAGE = "/wholesale/standing"
Work = Callable[[], Awaitable[str]]


def _messages(exc: forms.Refusal) -> list[str]:
    if not isinstance(exc, AppError):
        return ["提交的内容无法读取"]
    lines = exc.detail.get("lines") if isinstance(exc.detail, dict) else None
    return [str(p["message"]) for p in lines] if lines else [exc.text]


async def _page(
    request: Request,
    session: DbSession,
    principal: Principal,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    typed: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    company = await service.ordering_company(session, principal)
    profile = await service.profile(session, company.id)
    return render(
        request,
        "wholesale/portal_standing.html",
        {
            "views": await standing.company_standing(session, principal),
            "addresses": profile.addresses,
            "weekdays": list(enumerate(trips.WEEKDAYS_ZH, start=1)),
            "typed": typed or {},
            "notice": notice,
            "errors": errors or [],
            "new_key": forms.new_key,
        },
        status_code=status_code,
    )


@router.get("")
async def standing_page(
    request: Request, session: DbSession, principal: BuyerUser, notice: Annotated[str, Query(max_length=300)] = ""
) -> Response:
    return await _page(request, session, principal, notice=notice)


def _lines(text: str, known: set[str]) -> list[ordering.BasketLine]:
    """``SKU, 箱数`` per line (as the order grid's paste box reads it)."""
    typed = parse_pasted(text, known)
    if typed.errors:
        raise wholesale_errors.BasketInvalid(
            detail={"lines": [{"line": i, "message": m} for i, m in enumerate(typed.errors)]}
        )
    lines = basket_lines(typed)
    if not lines:
        raise standing_errors.StandingOrderInvalid("请填写商品：每行“SKU, 箱数”")
    return lines


async def _known(session: DbSession, principal: Principal) -> set[str]:
    return {item.variant.sku for item in await ordering.catalog_for(session, principal)}


@router.post("", dependencies=[CsrfProtected])
async def create(request: Request, session: DbSession, principal: BuyerUser) -> Response:
    form = await request.form()
    typed = {name: forms.text(form, name, 5000) for name in ("lines", "address_id", "weekday", "note")}

    async def work() -> str:
        address, weekday = typed["address_id"], typed["weekday"]
        if not address.isdigit():
            raise wholesale_errors.DeliveryAddressNotFound()
        if not weekday.isdigit():
            raise standing_errors.StandingOrderInvalid("请选择星期几")
        made = await standing.create(
            session,
            principal,
            _lines(typed["lines"], await _known(session, principal)),
            address_id=int(address),
            weekday=int(weekday),
            note=typed["note"][:200],
        )
        return forms.url(PAGE, notice=f"已设置每周重复订单 #{made.id}")

    async def refused(exc: forms.Refusal) -> Response:
        return await _page(
            request, session, principal, errors=_messages(exc), typed=typed, status_code=forms.error_status(exc)
        )

    return await forms.submit(session, lambda: forms.once(session, request, principal, form, work), refused)


@router.post("/from-order/{number}", dependencies=[CsrfProtected])
async def from_order(request: Request, session: DbSession, principal: BuyerUser, number: str) -> Response:
    """每周重复 on an order's page: a standing order of that order's lines, address and weekday."""
    form = await request.form()

    async def work() -> str:
        made = await standing.from_order(session, principal, number)
        return forms.url(PAGE, notice=f"已按订单 {number} 设置每周{trips.WEEKDAYS_ZH[made.weekday - 1]}重复")

    return await _action(request, session, principal, form, work)


async def _action(request: Request, session: DbSession, principal: Principal, form: FormData, work: Work) -> Response:
    async def refused(exc: forms.Refusal) -> Response:
        return await _page(request, session, principal, errors=_messages(exc), status_code=forms.error_status(exc))

    return await forms.submit(session, lambda: forms.once(session, request, principal, form, work), refused)


async def _skip(session: DbSession, principal: Principal, standing_id: int, form: FormData) -> str:
    week = await standing.skip_next(session, principal, standing_id)
    return f"已跳过{week.departure_zh}这一周"


async def _unskip(session: DbSession, principal: Principal, standing_id: int, form: FormData) -> str:
    day = forms.parse_date(forms.text(form, "trip_date", 10), "日期")
    if day is None:
        raise standing_errors.NotSkipped()
    await standing.unskip(session, principal, standing_id, day)
    return f"{trips.departure_text(day)}照常下单"


async def _pause(session: DbSession, principal: Principal, standing_id: int, form: FormData) -> str:
    await standing.set_active(session, principal, standing_id, False)
    return f"每周重复订单 #{standing_id} 已暂停"


async def _resume(session: DbSession, principal: Principal, standing_id: int, form: FormData) -> str:
    await standing.set_active(session, principal, standing_id, True)
    return f"每周重复订单 #{standing_id} 已恢复"


async def _edit_lines(session: DbSession, principal: Principal, standing_id: int, form: FormData) -> str:
    lines = _lines(forms.text(form, "lines", 5000), await _known(session, principal))
    await standing.edit_lines(session, principal, standing_id, lines)
    return f"每周重复订单 #{standing_id} 的商品已修改"


async def _delete(session: DbSession, principal: Principal, standing_id: int, form: FormData) -> str:
    await standing.delete(session, principal, standing_id)
    return f"每周重复订单 #{standing_id} 已删除"


# What each button of a standing order does; each answers with the notice the list shows.
ACTIONS: dict[str, Callable[[DbSession, Principal, int, FormData], Awaitable[str]]] = {
    "skip": _skip,
    "unskip": _unskip,
    "pause": _pause,
    "resume": _resume,
    "lines": _edit_lines,
    "delete": _delete,
}


@router.post("/{standing_id}/{action}", dependencies=[CsrfProtected])
async def act(request: Request, session: DbSession, principal: BuyerUser, standing_id: int, action: str) -> Response:
    """One of a standing order's buttons (see ``ACTIONS``); an unknown action is a 404."""
    handler = ACTIONS.get(action)
    form = await request.form()

    async def work() -> str:
        if handler is None:
            raise standing_errors.StandingOrderNotFound()
        return forms.url(PAGE, notice=await handler(session, principal, standing_id, form))

    return await _action(request, session, principal, form, work)
