"""Harvest pre-sale pages (``app.presales``): the shop's wave page (countdown to the cut-off, what
is left, the "立即预订" form — its own checkout, never the cart), and the centre's admin pages
(create / edit / open / cancel a wave, its orders, allocation, the per-station batches).

Thin: the wave form becomes the API's ``PresaleOrderIn`` and goes through ``service.place`` under
the same idempotency scope, path and body as ``POST /api/v1/presales/{code}/orders``: one order per
rendered form, whichever way it arrives."""

from __future__ import annotations

import functools
from datetime import datetime, time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.accounts.access import AdminUser, MaybeUser, Role
from app.db import DbSession
from app.kit import clock
from app.kit.errors import AppError
from app.kit.idempotency import run_idempotent
from app.orders import views
from app.orders.errors import CapacityExhausted
from app.orders.models import OrderStatus
from app.presales import allocation, repository, schemas, service
from app.presales.models import OUTCOME_ZH, WaveStatus
from app.stations import routing
from app.web import forms
from app.web.admin import form_errors
from app.web.errors import FormError
from app.web.orders import ONLINE_METHODS, checkout_errors, remember_phone
from app.web.templating import CsrfProtected, render

router = APIRouter(include_in_schema=False)
CHINA_TZ = clock.business_tz()


def countdown_text(cutoff_at: datetime, now: datetime) -> str:
    """What the countdown reads as of ``now`` (the page's JS ticks it on from there)."""
    left = int((cutoff_at - now).total_seconds())
    if left <= 0:
        return "已截单"
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    return "距截单 " + (f"{days} 天 " if days else "") + f"{hours:02d}:{minutes:02d}:{seconds:02d}"


def wave_card(row: repository.WaveRow, now: datetime) -> dict[str, Any]:
    """A wave as the shop's pages show it (plain values: the home page memo outlives the session)."""
    wave = row.wave
    return {
        "code": wave.code,
        "title": wave.title,
        "description": wave.description,
        "product": row.product_name,
        "variant": row.variant_name,
        "price_minor": wave.price_minor,
        "left": row.left,
        "cap": row.cap,
        "cutoff_at": wave.cutoff_at,
        "cutoff_iso": wave.cutoff_at.isoformat(),
        "countdown": countdown_text(wave.cutoff_at, now),
        "harvest_from": wave.harvest_from,
        "harvest_to": wave.harvest_to,
        "taking_orders": service.taking_orders(wave, now) and row.left > 0,
        "status": wave.status,
        "max_per_order": wave.max_per_order,
        "pay_at_pickup": wave.pay_at_pickup,
        "pickup_boxes_per_phone": wave.pickup_boxes_per_phone,
    }


async def open_wave_cards(session: DbSession, *, product_slug: str | None = None) -> list[dict[str, Any]]:
    """The open waves for the home page (or a product's page)."""
    now = clock.now()
    return [wave_card(row, now) for row in await service.open_waves(session, product_slug=product_slug)]


# ---- shop ---------------------------------------------------------------------------------------

FIELDS = ("quantity", "station_code", "contact_name", "contact_phone", "payment_method", "online_method", "note")


async def _render_wave(
    request: Request,
    session: DbSession,
    code: str,
    values: dict[str, str] | None = None,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    row = await service.shown_wave(session, code)
    card = wave_card(row, clock.now())
    stripe_enabled = request.app.state.payment_provider is not None
    stations = [r.station for r in await routing.nearest_first(session, near=None)]
    defaults = {
        "quantity": "1",
        "payment_method": "stripe" if stripe_enabled or not row.wave.pay_at_pickup else "pay_at_pickup",
        "online_method": "alipay",
    }
    return render(
        request,
        "shop/presale.html",
        {
            "wave": card,
            "stations": sorted(stations, key=lambda s: (s.township, s.code)),
            "values": {**defaults, **(values or {})},
            "stripe_enabled": stripe_enabled,
            "online_methods": ONLINE_METHODS,
            "key": (values or {}).get(forms.IDEMPOTENCY_FIELD) or forms.new_key(),
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/presales/{code}")
async def wave_page(request: Request, code: str, session: DbSession, _: MaybeUser) -> Response:
    return await _render_wave(request, session, code[:30])


def _order_body(values: dict[str, str]) -> schemas.PresaleOrderIn:
    return schemas.PresaleOrderIn.model_validate(
        {
            "quantity": values["quantity"] or "0",
            "station_code": values["station_code"],
            "contact": {"name": values["contact_name"], "phone": values["contact_phone"]},
            "payment_method": values["payment_method"],
            "note": values["note"],
        }
    )


def _wave_errors(exc: forms.Refusal) -> list[str]:
    if isinstance(exc, CapacityExhausted):
        lines = exc.detail.get("lines", []) if isinstance(exc.detail, dict) else []
        left = lines[0].get("left") if lines else "0"
        return [f"{exc.text}：本次预售只剩 {left} 份，请减少数量"]
    return checkout_errors(exc, {})


@router.post("/presales/{code}", dependencies=[CsrfProtected])
async def order_wave(request: Request, code: str, session: DbSession, principal: MaybeUser) -> Response:
    code = code[:30]
    form = await request.form()
    values = {name: forms.text(form, name, 300) for name in (*FIELDS, forms.IDEMPOTENCY_FIELD)}
    try:
        body = _order_body(values)
        if body.payment_method == "stripe" and values["online_method"] not in ONLINE_METHODS:
            raise FormError("请选择支付宝或微信支付")
        customer = principal.user_id if principal is not None and principal.role is Role.customer else None

        async def work() -> Any:
            order = await service.place(
                session,
                body.to_order(code, customer),
                stripe_enabled=request.app.state.payment_provider is not None,
            )
            return (await views.order_out(session, order)).model_dump(mode="json")

        _, payload = await run_idempotent(
            session,
            scope=f"user:{principal.user_id}" if principal else "guest",
            key=values[forms.IDEMPOTENCY_FIELD] or None,
            method="POST",
            path=f"/api/v1/presales/{code}/orders",
            body=body.model_dump(mode="json"),
            work=work,
        )
    except forms.REFUSALS as exc:
        await session.rollback()
        return await _render_wave(
            request, session, code, values, errors=_wave_errors(exc), status_code=forms.error_status(exc)
        )
    number = str(payload["number"])
    if payload.get("status") == OrderStatus.pending_payment.value:
        target = f"/orders/{number}/pay?method={values['online_method']}"
    else:
        target = f"/orders/{number}?done=placed"
    response = RedirectResponse(target, status_code=303)
    remember_phone(request, response, number, body.contact.phone)
    return response


# ---- admin --------------------------------------------------------------------------------------

WAVE_FIELDS = (
    "title",
    "description",
    "sku",
    "price",
    "cap",
    "cutoff_date",
    "cutoff_time",
    "harvest_from",
    "harvest_to",
    "max_per_order",
    "pay_at_pickup",
    "pickup_boxes_per_phone",
)


def _count(raw: str, label: str) -> int:
    if not raw.isdigit():
        raise FormError(f"{label}：请填写正整数")
    return int(raw)


def _wave_input(values: dict[str, str]) -> service.WaveInput:
    cutoff_day = forms.parse_required_date(values["cutoff_date"], "截单日期")
    try:
        cutoff_clock = time.fromisoformat(values["cutoff_time"] or "20:00")
    except ValueError as exc:
        raise FormError("截单时间：格式应为 时:分，例如 20:00") from exc
    return service.WaveInput(
        title=forms.required(values["title"], "预售名称"),
        description=values["description"],
        sku=forms.required(values["sku"], "商品规格"),
        price_minor=forms.parse_fen(forms.required(values["price"], "每份价格"), "每份价格"),
        cap=_count(values["cap"], "预售总量"),
        cutoff_at=datetime.combine(cutoff_day, cutoff_clock, CHINA_TZ),
        harvest_from=forms.parse_required_date(values["harvest_from"], "预计采收开始"),
        harvest_to=forms.parse_required_date(values["harvest_to"], "预计采收结束"),
        max_per_order=_count(values["max_per_order"] or "5", "每单上限"),
        pay_at_pickup=values["pay_at_pickup"] == "1",
        pickup_boxes_per_phone=_count(values["pickup_boxes_per_phone"] or "2", "每个手机号到站付款上限"),
    )


def _admin_errors(exc: forms.Refusal) -> list[str]:
    if isinstance(exc, ValidationError | AppError):
        return form_errors(exc)
    return [str(exc)]


async def _render_list(
    request: Request,
    session: DbSession,
    values: dict[str, str] | None = None,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    today = clock.today()
    return render(
        request,
        "admin/presales.html",
        {
            "waves": await repository.wave_rows(session),
            "variants": await repository.presale_variants(session),
            "values": values or {"cutoff_time": "20:00", "max_per_order": "5", "pickup_boxes_per_phone": "2"},
            "today": today,
            "key": forms.new_key(),
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/admin/presales")
async def waves_page(request: Request, session: DbSession, _: AdminUser) -> Response:
    return await _render_list(request, session)


@router.post("/admin/presales", dependencies=[CsrfProtected])
async def create_wave(request: Request, session: DbSession, principal: AdminUser) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name, 2000) for name in WAVE_FIELDS}

    async def work() -> str:
        wave = await service.create_wave(session, _wave_input(values))
        return f"/admin/presales/{wave.code}"

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(functools.partial(_render_list, request, session, values), _admin_errors),
    )


def _values_of(row: repository.WaveRow) -> dict[str, str]:
    wave = row.wave
    local = wave.cutoff_at.astimezone(CHINA_TZ)
    return {
        "title": wave.title,
        "description": wave.description,
        "sku": row.sku,
        "price": f"{wave.price_minor / 100:.2f}",
        "cap": str(int(row.cap)),
        "cutoff_date": local.date().isoformat(),
        "cutoff_time": local.strftime("%H:%M"),
        "harvest_from": wave.harvest_from.isoformat(),
        "harvest_to": wave.harvest_to.isoformat(),
        "max_per_order": str(wave.max_per_order),
        "pay_at_pickup": "1" if wave.pay_at_pickup else "",
        "pickup_boxes_per_phone": str(wave.pickup_boxes_per_phone),
    }


async def _render_wave_admin(
    request: Request,
    session: DbSession,
    code: str,
    values: dict[str, str] | None = None,
    *,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    row = await repository.wave_row(session, code)
    if row is None:
        return await _render_list(request, session, errors=["找不到该预售活动"], status_code=404)
    now = clock.now()
    orders = await repository.orders_of_wave(session, row.wave.id)
    return render(
        request,
        "admin/presale.html",
        {
            "row": row,
            "wave": row.wave,
            "card": wave_card(row, now),
            "orders": orders,
            "batches": await repository.batches(session, row.wave.id),
            "outcome_zh": OUTCOME_ZH,
            "editable": row.wave.status in (WaveStatus.draft, WaveStatus.open),
            "can_allocate": row.wave.status is WaveStatus.open and now >= row.wave.cutoff_at,
            "variants": await repository.presale_variants(session),
            "values": values or _values_of(row),
            "keys": {k: forms.new_key() for k in ("edit", "open", "cancel", "allocate")},
            "errors": errors or [],
            "notice": notice or _notice(request.query_params.get("done", "")),
        },
        status_code=status_code,
    )


def _notice(done: str) -> str:
    return {
        "opened": "预售已开放预订，顾客在网店首页和预售页可以看到。",
        "saved": "已保存。",
        "cancelled": "预售已取消：每笔订单已退款或释放，并已短信通知顾客。",
        "allocated": "已按下单顺序分配到货：配到的订单随各村站线路发车，不足部分已退款或减免，并已通知顾客。",
    }.get(done, "")


@router.get("/admin/presales/{code}")
async def wave_admin_page(request: Request, code: str, session: DbSession, _: AdminUser) -> Response:
    return await _render_wave_admin(request, session, code[:30])


def _post(name: str, action: Any) -> Any:
    """A wave admin button/form: ``action(session, code, values, principal)`` then back to the wave page."""

    async def route(request: Request, code: str, session: DbSession, principal: AdminUser) -> Response:
        code = code[:30]
        form = await request.form()
        values = {field: forms.text(form, field, 2000) for field in (*WAVE_FIELDS, "reason")}

        async def work() -> str:
            await action(session, code, values, principal.user_id)
            return f"/admin/presales/{code}?done={name}"

        return await forms.submit(
            session,
            lambda: forms.once(session, request, principal, form, work),
            forms.show_again(
                functools.partial(_render_wave_admin, request, session, code, values if name == "saved" else None),
                _admin_errors,
            ),
        )

    route.__name__ = f"presale_{name}"
    return route


async def _edit(session: DbSession, code: str, values: dict[str, str], _: int) -> None:
    await service.edit_wave(session, code, _wave_input(values))


async def _open(session: DbSession, code: str, values: dict[str, str], _: int) -> None:
    await service.open_wave(session, code)


async def _cancel(session: DbSession, code: str, values: dict[str, str], actor: int) -> None:
    await service.cancel_wave(session, code, reason=forms.required(values["reason"], "取消原因"), actor_user_id=actor)


async def _allocate(session: DbSession, code: str, values: dict[str, str], actor: int) -> None:
    await allocation.allocate(session, code, actor_user_id=actor)


router.add_api_route("/admin/presales/{code}", _post("saved", _edit), methods=["POST"], dependencies=[CsrfProtected])
router.add_api_route(
    "/admin/presales/{code}/open", _post("opened", _open), methods=["POST"], dependencies=[CsrfProtected]
)
router.add_api_route(
    "/admin/presales/{code}/cancel", _post("cancelled", _cancel), methods=["POST"], dependencies=[CsrfProtected]
)
router.add_api_route(
    "/admin/presales/{code}/allocate", _post("allocated", _allocate), methods=["POST"], dependencies=[CsrfProtected]
)
