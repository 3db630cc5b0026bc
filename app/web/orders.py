"""Consumer order pages: checkout, the order page, online payment, guest lookup, my orders.

Thin: the checkout form becomes the API's ``OrderIn`` and goes through the same
``checkout.place_and_announce`` path as ``POST /api/v1/orders`` (``app/shop``), under the same
idempotency scope; the payment form calls ``checkout.pay_order`` as the API's ``start_payment``
does. Nothing here prices, routes or reserves by itself.

A guest sees an order by its number and the phone it was placed with. Once that pair is proven
(at checkout or on the lookup page) the phone is kept in a signed cookie scoped to that order's
path, so the guest need not type it again; the cookie names the order it was issued for and is
worthless for any other.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from itsdangerous import BadData, URLSafeSerializer
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.accounts import service as accounts_service
from app.accounts.access import CustomerUser, MaybeUser, Principal, PublicAccess, Role, resolve_principal
from app.claims import views as claims_views
from app.db import DbSession
from app.kit.errors import AppError, IdempotencyKeyReused, TooManyRequests
from app.kit.http import client_address
from app.kit.idempotency import run_idempotent
from app.kit.qr import qr_svg
from app.kit.validation import field_name, zh_message
from app.orders import access, repository, schemas, service, views
from app.orders.errors import OrderNotFound
from app.orders.models import DeliveryMethod, FulfilmentStatus, Order, OrderStatus, PaymentStatus
from app.orders.notices import send_order_notice
from app.shop import checkout, delivery
from app.stations import routing
from app.stations.views import customer_pickup
from app.streamers.service import LINK_COOKIE
from app.supply.errors import InsufficientStock
from app.web import cart, forms
from app.web.errors import FormError
from app.web.templating import CsrfProtected, render

router = APIRouter(include_in_schema=False)

ORDER_NUMBER = re.compile(r"^NP[0-9]{6,18}$")
NEAR = re.compile(r"^(-?\d{1,2}(?:\.\d{1,7})?),(-?\d{1,3}(?:\.\d{1,7})?)$")
ORDER_COOKIE_PREFIX = "np_o_"
ORDER_COOKIE_MAX_AGE = 90 * 24 * 3600
STATION_COOKIE = "np_station"
STATION_COOKIE_MAX_AGE = 365 * 24 * 3600
STATION_CODE = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
IDEMPOTENCY_FIELD = forms.IDEMPOTENCY_FIELD
# The longest text kept of a checkout field (the schema refuses what is too long for its field).
TEXT_LIMIT = 300
ONLINE_METHODS = {"alipay": "支付宝", "wechat_pay": "微信支付"}

FIELD_LABELS = {
    "contact.name": "收货人姓名",
    "contact.phone": "手机号",
    "lines": "商品",
    "delivery": "收货方式",
    "delivery.method": "收货方式",
    "delivery.station_code": "自提村站",
    "delivery.address.province": "省份",
    "delivery.address.city": "城市",
    "delivery.address.township": "乡镇 / 区县",
    "delivery.address.village": "村 / 小区",
    "delivery.address.detail": "详细地址",
    "payment_method": "付款方式",
    "note": "备注",
}
PAYMENT_METHOD_ZH = {"pay_at_pickup": "到站付款", "stripe": "在线支付"}
PAYMENT_KIND_ZH = {"card": "银行卡", "alipay": "支付宝", "wechat_pay": "微信支付", "cash": "现金", "qr": "扫码"}
PAYMENT_STATE_ZH = {
    "pending": "待支付",
    "requires_action": "待完成支付",
    "processing": "处理中",
    "succeeded": "已支付",
    "failed": "失败",
    "canceled": "已撤销",
}
DELIVERY_ZH = {"station_pickup": "村站自提", "home_delivery": "送货上门"}
DONE_NOTICES = {
    "cancelled": "订单已取消。已付款项会原路退回。",
    "placed": "下单成功！",
    "claim_filed": "理赔申请已提交，审核结果会短信通知您。",
}


def _ip(request: Request) -> str:
    return client_address(request)


# ---- the guest's proven phone, per order --------------------------------------------------------


def _phone_signer(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(request.app.state.settings.secret_key.get_secret_value(), salt="np-order-phone")


def remember_phone(request: Request, response: Response, number: str, phone: str) -> None:
    response.set_cookie(
        ORDER_COOKIE_PREFIX + number,
        _phone_signer(request).dumps([number, phone]),
        path=f"/orders/{number}",
        max_age=ORDER_COOKIE_MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=bool(request.app.state.settings.session_cookie_secure),
    )


def remembered_phone(request: Request, number: str) -> str | None:
    raw = request.cookies.get(ORDER_COOKIE_PREFIX + number)
    if not raw:
        return None
    try:
        issued_for, phone = _phone_signer(request).loads(raw)
    except (BadData, ValueError, TypeError):
        return None
    return phone if issued_for == number and isinstance(phone, str) else None


async def _visible(
    request: Request,
    session: DbSession,
    number: str,
    principal: Principal | None,
    phone: str | None = None,
    *,
    for_update: bool = False,
    with_lines_and_events: bool = True,
) -> Order:
    """The order if this caller may see it (owner, staff, or the guest's proven phone), else 404."""
    number = number.strip().upper()
    if not ORDER_NUMBER.match(number):
        raise OrderNotFound()
    proven = None if phone else remembered_phone(request, number)
    return await access.visible_order(
        session,
        number,
        principal,
        phone or proven,
        limiter=request.app.state.lookup_limiter,
        client_ip=_ip(request),
        phone_proven=proven is not None,
        for_update=for_update,
        with_lines_and_events=with_lines_and_events,
    )


# ---- checkout -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StationChoice:
    code: str
    name: str
    township: str
    village: str
    villages_served: tuple[str, ...]
    address: str
    opening_hours: str
    km: float | None
    has_room: bool

    @property
    def search_text(self) -> str:
        """What the filter (server-side, and shop.js in the page) matches: names of the station,
        its township, its village and the villages it serves, and its address."""
        return " ".join((self.name, self.township, self.village, *self.villages_served, self.address, self.code))


@dataclass(frozen=True)
class TownshipGroup:
    township: str
    stations: list[StationChoice]

    @property
    def nearest_km(self) -> float | None:
        return min((s.km for s in self.stations if s.km is not None), default=None)


def _near(raw: str | None) -> tuple[float, float] | None:
    found = NEAR.match((raw or "").strip())
    if not found:
        return None
    lat, lng = float(found.group(1)), float(found.group(2))
    return (lat, lng) if -90 <= lat <= 90 and -180 <= lng <= 180 else None


async def _station_choices(session: DbSession, *, near: tuple[float, float] | None) -> list[StationChoice]:
    """Every open station, nearest first when the customer's location is known."""
    return [
        StationChoice(
            code=r.station.code,
            name=r.station.name,
            township=r.station.township,
            village=r.station.village,
            villages_served=tuple(r.station.villages_served or ()),
            address=r.station.address,
            opening_hours=r.station.opening_hours,
            km=round(r.km, 1) if r.km is not None else None,
            has_room=r.has_room,
        )
        for r in await routing.nearest_first(session, near=near)
    ]


def group_by_township(stations: list[StationChoice], *, query: str = "", keep: str = "") -> list[TownshipGroup]:
    """The stations the filter ``query`` finds (and the ``keep`` one, the current choice, always),
    grouped by township: townships in the county's order — or, when distances are known, the
    township of the nearest station first — and each township's stations in the given order."""
    needle = query.strip().casefold()
    shown = [s for s in stations if not needle or needle in s.search_text.casefold() or s.code == keep]
    groups: dict[str, list[StationChoice]] = {}
    for station in shown:
        groups.setdefault(station.township, []).append(station)
    ordered = [TownshipGroup(name, members) for name, members in groups.items()]
    if any(s.km is not None for s in shown):
        return sorted(ordered, key=lambda g: g.nearest_km if g.nearest_km is not None else float("inf"))
    return sorted(ordered, key=lambda g: _township_order(g.township))


def _township_order(name: str) -> tuple[int, str]:
    known = delivery.CountyPlace.from_settings().townships
    return (known.index(name), name) if name in known else (len(known), name)


# ---- the remembered station ---------------------------------------------------------------------


def remembered_station_cookie(request: Request) -> str:
    raw = request.cookies.get(STATION_COOKIE, "")
    return raw if STATION_CODE.match(raw) else ""


def remember_station(request: Request, response: Response, code: str) -> None:
    """The station the customer chose, for the next checkout in this browser (guests included)."""
    if STATION_CODE.match(code):
        response.set_cookie(
            STATION_COOKIE,
            code,
            path="/checkout",
            max_age=STATION_COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=bool(request.app.state.settings.session_cookie_secure),
        )


async def remembered_station(request: Request, session: DbSession, principal: Principal | None) -> str:
    """The station to pre-select for a returning customer: a signed-in customer's last chosen
    station from their orders (it follows them to another phone), else this browser's cookie."""
    if principal is not None and principal.role.value == "customer":
        code = await routing.remembered_station_code(session, principal.user_id)
        if code:
            return code
    return remembered_station_cookie(request)


def preselected_station(
    stations: list[StationChoice], *, posted: str, remembered: str, near: tuple[float, float] | None
) -> str:
    """Nothing is pre-selected for someone who has neither chosen a station before nor shared
    where they are: the first station of a list is nobody's choice. In order: what this form
    already carried (a refused submission shown again), the remembered station when it has room,
    the nearest station with room when the customer shared a location."""
    if posted:
        return posted
    open_with_room = {s.code for s in stations if s.has_room}
    if remembered in open_with_room:
        return remembered
    if near is not None:
        return next((s.code for s in stations if s.has_room), "")
    return ""


def _fee_table(subtotal_minor: int, county: delivery.CountyPlace) -> list[tuple[str, int]]:
    """Home-delivery fee per area for this subtotal, from the published rate card."""
    return [(county.area_label_zh(area), delivery.fee_for(area, subtotal_minor)) for area in delivery.AREAS]


async def _render_checkout(
    request: Request,
    session: DbSession,
    values: dict[str, Any],
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    view = await cart.cart_view(session, cart.read_cart(request))
    near = _near(values.get("near"))
    stations = await _station_choices(session, near=near)
    principal = await resolve_principal(request, session)
    remembered = await remembered_station(request, session, principal)
    values["station_code"] = preselected_station(
        stations, posted=values.get("station_code", ""), remembered=remembered, near=near
    )
    groups = group_by_township(stations, query=values.get("q", ""), keep=values["station_code"])
    county = delivery.CountyPlace.from_settings(request.app.state.settings)
    home_quote = None
    if values.get("home_township") and values.get("delivery_method") == "home_delivery":
        home_quote = delivery.quote(
            values.get("province", ""), values.get("city", ""), values["home_township"], view.subtotal_minor, county
        )
    return render(
        request,
        "shop/checkout.html",
        {
            "cart": view,
            "values": values,
            "errors": errors or [],
            "groups": groups,
            "station_count": len(stations),
            "shown_count": sum(len(g.stations) for g in groups),
            "chosen": next((s for s in stations if s.code == values["station_code"]), None),
            "remembered": remembered,
            "near": near,
            "fees": _fee_table(view.subtotal_minor, county),
            "free_from_minor": delivery.FREE_IN_COUNTY_FROM_MINOR,
            "home_quote": home_quote,
            "county_townships": county.townships,
            "online": request.app.state.payment_provider is not None,
            "online_methods": ONLINE_METHODS,
        },
        status_code=status_code,
    )


@router.get("/checkout", dependencies=[PublicAccess])
async def checkout_page(
    request: Request,
    session: DbSession,
    principal: MaybeUser,
    q: Annotated[str, Query(max_length=50)] = "",
    near: str = "",
    method: str = "",
) -> Response:
    """``q`` filters the station list (the page's script filters as one types; this is the same
    filter for a browser without it); ``near`` (lat,lng from the browser) sorts it nearest first."""
    values = {
        "q": q.strip()[:50],
        "near": near.strip()[:40] if _near(near) else "",
        "delivery_method": method if method in DELIVERY_ZH else "station_pickup",
        "payment_method": "pay_at_pickup",
        "online_method": "alipay",
        "province": request.app.state.settings.county_province,
        "city": request.app.state.settings.county_city,
        IDEMPOTENCY_FIELD: uuid4().hex,
    }
    if principal is not None and principal.role is Role.customer:
        # A signed-in customer's name and mobile, as last used (a first order remembers the name).
        known = await accounts_service.customer_contact(session, principal.user_id)
        values["contact_name"], values["contact_phone"] = known.name, known.phone
    return await _render_checkout(request, session, values)


CHECKOUT_FIELDS = (
    "contact_name",
    "contact_phone",
    "delivery_method",
    "station_code",
    "near",
    "province",
    "city",
    "home_township",
    "home_village",
    "detail",
    "payment_method",
    "online_method",
    "referral_code",
    "note",
    IDEMPOTENCY_FIELD,
)


def order_in_from_form(form: FormData, values: dict[str, str]) -> schemas.OrderIn:
    """The checkout form as the API's order body: lines are the SKUs and quantities the checkout
    page showed (never a price), the rest the buyer's choices."""
    skus, quantities = form.getlist("sku"), form.getlist("quantity")
    lines = [
        {"sku": str(sku)[:40], "quantity": str(quantity)[:20]} for sku, quantity in zip(skus, quantities, strict=False)
    ][: cart.MAX_LINES]
    method = values["delivery_method"]
    delivery_body: dict[str, Any] = {"method": method}
    if method == "station_pickup":
        near = _near(values["near"])
        delivery_body["station_code"] = values["station_code"] or None
        if near is not None:
            delivery_body.update(latitude=str(near[0]), longitude=str(near[1]))
    elif method == "home_delivery":
        delivery_body["address"] = {
            # Left blank: the county's own, filled in by the checkout service.
            "province": values["province"],
            "city": values["city"],
            "township": values["home_township"],
            "village": values["home_village"],
            "detail": values["detail"],
        }
    return schemas.OrderIn.model_validate(
        {
            "lines": lines,
            "delivery": delivery_body,
            "contact": {"name": values["contact_name"], "phone": values["contact_phone"]},
            "payment_method": values["payment_method"],
            "note": values["note"],
            "referral_code": values["referral_code"] or None,
        }
    )


def checkout_errors(exc: forms.Refusal, names: dict[str, str]) -> list[str]:
    """Chinese lines for the checkout page; short stock names each product that is short."""
    if isinstance(exc, ValidationError):
        messages = []
        for error in exc.errors():
            name = field_name(error)
            label = FIELD_LABELS.get(name) or FIELD_LABELS.get(name.split(".")[0], "")
            messages.append(f"{label}：{zh_message(error)}" if label else zh_message(error))
        return messages
    if isinstance(exc, InsufficientStock):
        lines = exc.detail.get("lines", []) if isinstance(exc.detail, dict) else []
        return [f"{exc.text}，请减少数量或移除后再提交："] + [
            f"{names.get(str(line.get('sku')), line.get('sku'))}：需要 {line.get('requested')}，"
            f"现有 {line.get('available')}"
            for line in lines
        ]
    if isinstance(exc, IdempotencyKeyReused):
        return ["这张订单表单已经提交过，内容又被改动了。请刷新结算页后重新提交。"]
    if isinstance(exc, AppError):
        lines = exc.detail.get("lines") if isinstance(exc.detail, dict) else None
        extra = [str(line["message"]) for line in lines or [] if isinstance(line, dict) and line.get("message")]
        return [exc.text, *extra]
    return [str(exc)]


@router.post("/checkout", dependencies=[CsrfProtected])
async def place_order(request: Request, session: DbSession, principal: MaybeUser) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name, TEXT_LIMIT) for name in CHECKOUT_FIELDS}
    key = values[IDEMPOTENCY_FIELD] or None
    view_names: dict[str, str] = {}
    try:
        body = order_in_from_form(form, values)
        if values["payment_method"] == "stripe" and values["online_method"] not in ONLINE_METHODS:
            raise FormError("请选择支付宝或微信支付")

        async def work() -> Any:
            order = await checkout.place_and_announce(
                session,
                body,
                principal,
                stripe_enabled=request.app.state.payment_provider is not None,
                referral_cookie=request.cookies.get(LINK_COOKIE),
            )
            if principal is not None and principal.role is Role.customer:
                await accounts_service.remember_customer_name(session, principal.user_id, body.contact.name)
            return (await views.order_out(session, order)).model_dump(mode="json")

        # The same scope, path and body as POST /api/v1/orders: one order per rendered form.
        _, payload = await run_idempotent(
            session,
            scope=f"user:{principal.user_id}" if principal else "guest",
            key=key,
            method="POST",
            path="/api/v1/orders",
            body=body.model_dump(mode="json"),
            work=work,
        )
    except forms.REFUSALS as exc:
        await session.rollback()
        if isinstance(exc, InsufficientStock):
            rows = (await cart.cart_view(session, cart.read_cart(request), with_stock=False)).rows
            view_names = {row.sku: f"{row.product_name} {row.name}" for row in rows}
        status_code = forms.error_status(exc)
        return await _render_checkout(
            request, session, values, errors=checkout_errors(exc, view_names), status_code=status_code
        )
    number = str(payload["number"])
    if payload.get("status") == OrderStatus.pending_payment.value:
        target = f"/orders/{number}/pay?method={values['online_method']}"
    else:
        target = f"/orders/{number}?done=placed"
    response = RedirectResponse(target, status_code=303)
    remember_phone(request, response, number, body.contact.phone)
    if body.delivery.station_code:
        remember_station(request, response, body.delivery.station_code)
    cart.clear_cart(request, response)
    return response


# ---- guest lookup -------------------------------------------------------------------------------

LOOKUP_FAILED = "没有找到与该手机号匹配的订单，请核对订单号和下单手机号。"


@router.get("/orders/lookup", dependencies=[PublicAccess])
async def lookup_page(request: Request) -> Response:
    return render(request, "shop/lookup.html", {"number": "", "error": None})


@router.post("/orders/lookup", dependencies=[CsrfProtected])
async def lookup(
    request: Request,
    session: DbSession,
    principal: MaybeUser,
    number: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    number = number.strip().upper()
    try:
        if not phone.strip():
            raise OrderNotFound()
        # The phone must match even for a signed-in visitor: this page proves the pair.
        order = await _visible(request, session, number, None, phone.strip())
    except OrderNotFound:
        return render(request, "shop/lookup.html", {"number": number, "error": LOOKUP_FAILED}, status_code=404)
    except TooManyRequests as exc:
        return render(request, "shop/lookup.html", {"number": number, "error": exc.text}, status_code=429)
    response = RedirectResponse(f"/orders/{order.number}", status_code=303)
    remember_phone(request, response, order.number, order.contact_phone)
    return response


# ---- the order page -----------------------------------------------------------------------------


def cancellable(order: schemas.OrderOut) -> bool:
    """The order page's cancel button; event tickets have their own (``app.web.events``)."""
    return (
        order.status in (OrderStatus.confirmed, OrderStatus.pending_payment)
        and order.fulfilment_status == FulfilmentStatus.unfulfilled
        and order.delivery_method != DeliveryMethod.none.value
    )


def order_labels() -> dict[str, Any]:
    return {
        "payment_status_zh": {s.value: s.label_zh for s in PaymentStatus},
        "fulfilment_zh": {s.value: s.label_zh for s in FulfilmentStatus},
        "status_zh": {s.value: s.label_zh for s in OrderStatus},
        "payment_method_zh": PAYMENT_METHOD_ZH,
        "payment_kind_zh": PAYMENT_KIND_ZH,
        "payment_state_zh": PAYMENT_STATE_ZH,
        "delivery_zh": {**DELIVERY_ZH, "none": "活动门票（无需配送）"},
    }


async def _render_order(
    request: Request,
    session: DbSession,
    order: Order,
    *,
    notice: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    principal = await resolve_principal(request, session)
    phone = remembered_phone(request, order.number)
    reveal = access.is_customer_view(order, principal, phone)
    out = await views.order_out(
        session,
        order,
        pickup=await customer_pickup(session, order) if reveal else None,
        view=access.contact_view(order, principal, phone),
    )
    from app.web.events import TICKET_ERRORS, order_page_tickets

    tickets = await order_page_tickets(session, order, reveal=reveal)
    ticket_error = TICKET_ERRORS.get(request.query_params.get("ticket_error", ""))
    return render(
        request,
        "shop/order.html",
        {
            **await claims_views.order_page_claims(session, order, customer=reveal),
            "order": out,
            "pickup_qr": qr_svg(out.pickup.qr, label=f"取货二维码，订单 {out.number}") if out.pickup else None,
            "cancellable": cancellable(out),
            "tickets": tickets,
            "ticket_qrs": [
                qr_svg(t.qr, label=f"门票二维码 {i}，{t.kind_zh}") if t.qr else None
                for i, t in enumerate(tickets.tickets if tickets else [], start=1)
            ],
            "notice": notice,
            "errors": [*(errors or []), *([ticket_error] if ticket_error else [])],
            **order_labels(),
        },
        status_code=status_code,
    )


@router.get("/orders/{number}")
async def order_page(
    request: Request,
    number: str,
    session: DbSession,
    principal: MaybeUser,
    done: str = "",
    t: Annotated[str, Query(max_length=80, description="通知短信里的订单链接签名")] = "",
) -> Response:
    # A guest proves the phone on the look-up form (a POST) or by the signed link of a notice —
    # never by a phone in the address, which ends up in access logs and browser history.
    if t and ORDER_NUMBER.match(number.strip().upper()):
        number = number.strip().upper()
        if access.order_link_valid(number, t):
            linked = await repository.order_by_number(session, number)
            if linked is not None:
                response: Response = RedirectResponse(f"/orders/{number}", status_code=303)
                remember_phone(request, response, number, linked.contact_phone)
                return response
    try:
        order = await _visible(request, session, number, principal)
    except OrderNotFound:
        # The link in an SMS opens in a browser that has not proven the phone yet: ask for it, with
        # the number filled in. The same page for an order that does not exist, so it tells nothing.
        shown = number.strip().upper()
        return render(
            request,
            "shop/lookup.html",
            {"number": shown if ORDER_NUMBER.match(shown) else "", "error": None, "from_link": True},
            status_code=404,
        )
    return await _render_order(request, session, order, notice=DONE_NOTICES.get(done, ""))


@router.get("/orders/{number}/status")
async def order_status(request: Request, number: str, session: DbSession, principal: MaybeUser) -> JSONResponse:
    """What the payment page polls while a QR code is shown: the order's status, nothing more."""
    order = await _visible(request, session, number, principal, with_lines_and_events=False)
    return JSONResponse(
        {"status": order.status.value, "payment_status": order.payment_status.value},
        headers={"Cache-Control": "no-store"},
    )


@router.post("/orders/{number}/cancel", dependencies=[CsrfProtected])
async def cancel_order(request: Request, number: str, session: DbSession, principal: MaybeUser) -> Response:
    order = await _visible(request, session, number, principal)
    if principal is not None and principal.role.value != "customer":
        # Staff cancel from the ops console (admins only); this button is the customer's.
        return await _render_order(request, session, order, errors=["员工请在运营后台取消订单"], status_code=403)
    if not cancellable(await views.order_out(session, order)):
        return await _render_order(request, session, order, errors=["订单已发货或已结束，不能取消"], status_code=409)
    try:
        order = await service.cancel(
            session, order, reason="顾客取消", actor_user_id=principal.user_id if principal else None
        )
        await send_order_notice(session, order, "order_cancelled")
    except AppError as exc:
        await session.rollback()
        order = await _visible(request, session, number, principal)
        return await _render_order(request, session, order, errors=[exc.text], status_code=exc.status_code)
    return RedirectResponse(f"/orders/{order.number}?done=cancelled", status_code=303)


# ---- online payment -----------------------------------------------------------------------------


async def _render_pay(
    request: Request,
    session: DbSession,
    order: Order,
    *,
    method: str = "",
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    out = await views.order_out(session, order)
    latest = out.payments[-1] if out.payments else None
    qr = (
        latest.next_action
        if latest and latest.next_action and latest.next_action.get("type") == "qr" and latest.state != "failed"
        else None
    )
    return render(
        request,
        "shop/pay.html",
        {
            "order": out,
            "method": method if method in ONLINE_METHODS else (latest.method if latest else "alipay"),
            "online": request.app.state.payment_provider is not None,
            "online_methods": ONLINE_METHODS,
            "qr": qr,
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/orders/{number}/pay")
async def pay_page(
    request: Request, number: str, session: DbSession, principal: MaybeUser, method: str = ""
) -> Response:
    order = await _visible(request, session, number, principal)
    if order.status is not OrderStatus.pending_payment:
        return RedirectResponse(f"/orders/{order.number}", status_code=303)
    return await _render_pay(request, session, order, method=method)


@router.post("/orders/{number}/pay", dependencies=[CsrfProtected])
async def pay(
    request: Request,
    number: str,
    session: DbSession,
    principal: MaybeUser,
    method: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    # Locked until the payment attempt is stored: two payment starts at once take turns.
    order = await _visible(request, session, number, principal, for_update=True)
    if method not in ONLINE_METHODS:
        return await _render_pay(request, session, order, errors=["请选择支付宝或微信支付"], status_code=422)
    try:
        answer = await checkout.pay_order(
            session,
            order,
            schemas.PaymentIn(method=method),
            provider=request.app.state.payment_provider,
            base_url=request.app.state.settings.public_base_url,
        )
    except AppError as exc:
        await session.rollback()
        order = await _visible(request, session, number, principal)
        return await _render_pay(request, session, order, method=method, errors=[exc.text], status_code=exc.status_code)
    payload = json.loads(bytes(answer.body))
    if answer.status_code >= 400:
        order = await _visible(request, session, number, principal)
        return await _render_pay(
            request, session, order, method=method, errors=[str(payload.get("message"))], status_code=answer.status_code
        )
    latest = (payload.get("payments") or [{}])[-1]
    action = latest.get("next_action") or {}
    if action.get("type") == "redirect" and str(action.get("url", "")).startswith(("https://", "http://")):
        return RedirectResponse(str(action["url"]), status_code=303)
    # A QR code (WeChat Pay) is shown by the payment page; a confirmed payment lands on the order.
    if payload.get("status") == OrderStatus.pending_payment.value:
        return RedirectResponse(f"/orders/{order.number}/pay?method={method}", status_code=303)
    return RedirectResponse(f"/orders/{order.number}", status_code=303)


# ---- my orders ----------------------------------------------------------------------------------


@router.get("/account/orders")
async def my_orders(request: Request, session: DbSession, principal: CustomerUser) -> Response:
    orders = await repository.list_orders(session, customer_user_id=principal.user_id, limit=100)
    return render(request, "shop/my_orders.html", {"orders": orders, **order_labels()})
