"""Farm events on pages: the shop's events list and event page (buy N adult + M child tickets of
a slot), the ticket cancel button of the order page, the station console's check-in page and the
centre's admin pages (events, slots, tickets, attendance, duplicates, cancel).

Thin: every post is one ``app.events`` service call — the same the JSON routes make. Buying goes
through the same idempotency scope as ``POST /api/v1/events/tickets`` (one order per rendered
form), then to the order's payment page.

Check-in on the console: a USB scanner is a keyboard wedge — it types the QR's content and
presses Enter, which submits the one-field form; the page answers with the result in large type
and the field focused for the next ticket. A second scan of the same QR is refused in red.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.params import Path
from fastapi.responses import RedirectResponse, Response

from app.accounts.access import AdminUser, MaybeUser, Principal, PublicAccess, Role, StationOperator
from app.db import DbSession
from app.events import checkin, repository, schemas, service, views
from app.kit.errors import AppError, InvalidInput
from app.kit.http import client_address
from app.kit.idempotency import run_idempotent
from app.orders import access
from app.orders import views as order_views
from app.orders.errors import OrderAccessDenied
from app.stations import consignments
from app.web import forms
from app.web.orders import ORDER_NUMBER, remember_phone, remembered_phone
from app.web.stock.common import page_errors
from app.web.templating import CHINA_TZ, CsrfProtected, render

router = APIRouter(include_in_schema=False)

EventId = Annotated[int, Path(ge=1, le=2**62)]


# ---- the shop -----------------------------------------------------------------------------------------


@router.get("/events", dependencies=[PublicAccess])
async def events_page(request: Request, session: DbSession) -> Response:
    return render(request, "shop/events.html", {"events": await views.upcoming(session)})


async def _render_event(
    request: Request,
    session: DbSession,
    event_id: int,
    values: dict[str, str] | None = None,
    *,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    event = await views.public_event(session, event_id)
    values = values or {}
    values.setdefault(forms.IDEMPOTENCY_FIELD, forms.new_key())
    values.setdefault("adults", "1")
    values.setdefault("children", "0")
    open_slots = [s for s in event.slots if s.left > 0]
    values.setdefault("slot_id", str(open_slots[0].id) if open_slots else "")
    return render(
        request,
        "shop/event.html",
        {
            "event": event,
            "values": values,
            "errors": errors or [],
            "online": request.app.state.payment_provider is not None,
            "on_sale": event.status == "scheduled" and bool(open_slots),
        },
        status_code=status_code,
    )


@router.get("/events/{event_id}", dependencies=[PublicAccess])
async def event_page(request: Request, event_id: EventId, session: DbSession) -> Response:
    return await _render_event(request, session, event_id)


BUY_FIELDS = ("slot_id", "adults", "children", "contact_name", "contact_phone", forms.IDEMPOTENCY_FIELD)


def _count(raw: str, label: str) -> int:
    if not raw:
        return 0
    if not raw.isdigit() or int(raw) > service.MAX_TICKETS:
        raise InvalidInput(f"{label}请填写 0–{service.MAX_TICKETS} 之间的整数")
    return int(raw)


def _messages(exc: forms.Refusal) -> list[str]:
    if isinstance(exc, AppError) and exc.code == "capacity_exhausted":
        lines = exc.detail.get("lines", []) if isinstance(exc.detail, dict) else []
        left = lines[0].get("left") if lines else "0"
        return [f"该场次名额不足：只剩 {left} 个名额，请减少人数或选择其他场次。"]
    if isinstance(exc, AppError):
        return [exc.text]
    return page_errors(exc)


@router.post("/events/{event_id}/buy", dependencies=[CsrfProtected])
async def buy(request: Request, event_id: EventId, session: DbSession, principal: MaybeUser) -> Response:
    form = await request.form()
    values = {name: forms.text(form, name, 60) for name in BUY_FIELDS}
    try:
        if principal is not None and principal.role is not Role.customer:
            raise OrderAccessDenied("员工账号不能购票，请用顾客账号或不登录购买")
        body = schemas.TicketsIn.model_validate(
            {
                "slot_id": values["slot_id"] if values["slot_id"].isdigit() else 0,
                "adults": _count(values["adults"], "成人人数"),
                "children": _count(values["children"], "儿童人数"),
                "contact": {"name": values["contact_name"], "phone": values["contact_phone"]},
            }
        )
        slot = await repository.slot(session, body.slot_id)
        if slot is None or slot.event_id != event_id:
            raise InvalidInput("请选择场次")

        async def work() -> Any:
            order = await service.buy_tickets(
                session,
                service.TicketPurchase(
                    slot_id=body.slot_id,
                    adults=body.adults,
                    children=body.children,
                    contact_name=body.contact.name,
                    contact_phone=body.contact.phone,
                    customer_user_id=principal.user_id if principal else None,
                ),
                stripe_enabled=request.app.state.payment_provider is not None,
            )
            return (await order_views.new_order_out(session, order)).model_dump(mode="json")

        # The same scope, path and body as POST /api/v1/events/tickets: one order per rendered form.
        _, payload = await run_idempotent(
            session,
            scope=f"user:{principal.user_id}" if principal else "guest",
            key=values[forms.IDEMPOTENCY_FIELD] or None,
            method="POST",
            path="/api/v1/events/tickets",
            body=body.model_dump(mode="json"),
            work=work,
        )
    except forms.REFUSALS as exc:
        await session.rollback()
        return await _render_event(
            request, session, event_id, values, errors=_messages(exc), status_code=forms.error_status(exc)
        )
    number = str(payload["number"])
    target = f"/orders/{number}/pay?method=alipay" if payload["status"] == "pending_payment" else f"/orders/{number}"
    response = RedirectResponse(target, status_code=303)
    remember_phone(request, response, number, body.contact.phone)
    return response


@router.post("/events/orders/{number}/cancel", dependencies=[CsrfProtected])
async def cancel_tickets(request: Request, number: str, session: DbSession, principal: MaybeUser) -> Response:
    """The order page's 退票 button: refused past the event's deadline, with the reason shown."""
    number = number.strip().upper()
    if not ORDER_NUMBER.match(number):
        return RedirectResponse("/orders/lookup", status_code=303)
    phone = remembered_phone(request, number)
    order = await access.visible_order(
        session,
        number,
        principal,
        phone,
        limiter=request.app.state.lookup_limiter,
        client_ip=client_address(request),
        phone_proven=phone is not None,
    )
    try:
        if not access.is_customer_view(order, principal, phone):
            raise OrderAccessDenied("只有购票人本人可以退票")
        await service.cancel_tickets(session, order, actor_user_id=principal.user_id if principal else None)
    except AppError as exc:
        await session.rollback()
        return RedirectResponse(f"/orders/{number}?ticket_error={exc.code}", status_code=303)
    return RedirectResponse(f"/orders/{number}?done=cancelled", status_code=303)


TICKET_ERRORS = {
    "ticket_cancellation_too_late": "已过退票截止时间，不能退票。",
    "transition_not_allowed": "订单当前状态不能退票。",
    "order_access_denied": "只有购票人本人可以退票。",
}


async def order_page_tickets(session: DbSession, order: Any, *, reveal: bool) -> schemas.TicketOrderOut | None:
    """The tickets block of the order page (``app.web.orders``): QR codes only for the customer."""
    out = await views.ticket_order_out(session, order)
    if out is not None and not reveal:
        out = out.model_copy(update={"tickets": [t.model_copy(update={"qr": ""}) for t in out.tickets]})
    return out


# ---- the station console: check-in -------------------------------------------------------------------


async def _render_checkin(
    request: Request,
    session: DbSession,
    principal: Principal,
    *,
    admitted: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    if principal.station_id is None:
        raise InvalidInput("该账号未绑定村站，请联系县电商公共服务中心")
    station = await consignments.station_or_404(session, principal.station_id)
    today = await service.station_events_today(session, station.id)
    return render(
        request,
        "station/tickets.html",
        {
            "station": station,
            "admitted": admitted,
            "today": today,
            "errors": errors or [],
        },
        status_code=status_code,
    )


@router.get("/station/tickets")
async def checkin_page(request: Request, session: DbSession, principal: StationOperator) -> Response:
    return await _render_checkin(request, session, principal)


@router.post("/station/tickets", dependencies=[CsrfProtected])
async def checkin_post(request: Request, session: DbSession, principal: StationOperator) -> Response:
    """One scan: checked in (shown in large type) or refused (already used, wrong station, unpaid)."""
    form = await request.form()
    code = forms.text(form, "code", 120)
    try:
        if not code:
            raise InvalidInput("请扫描门票二维码")
        admitted = await checkin.check_in_online(
            session,
            scanned=code,
            station_id=principal.station_id,
            operator_id=principal.user_id,
            device=f"工作台 {principal.username}"[:60],
        )
    except forms.REFUSALS as exc:
        await session.rollback()
        return await _render_checkin(
            request, session, principal, errors=_messages(exc), status_code=forms.error_status(exc)
        )
    shown = {
        "title": admitted.event_title,
        "kind_zh": admitted.kind_zh,
        "order_number": admitted.order_number,
        "at": admitted.checked_in_at,
    }
    return await _render_checkin(request, session, principal, admitted=shown)


# ---- the centre's admin pages -----------------------------------------------------------------------


def _event_data(form: dict[str, str]) -> service.EventData:
    return service.EventData(
        title=form.get("title", ""),
        place=form.get("place", ""),
        meeting_station_code=form.get("station_code", ""),
        adult_price_minor=forms.parse_fen(form.get("adult_price", ""), "成人票价"),
        child_price_minor=forms.parse_fen(form.get("child_price", ""), "儿童票价"),
        cancel_hours_before=_hours(form.get("cancel_hours", "")),
        description=form.get("description", ""),
    )


def _hours(raw: str) -> int:
    if not raw.isdigit():
        raise InvalidInput("退票截止请填写活动开始前的小时数（整数）")
    return int(raw)


EVENT_FIELDS = ("title", "place", "station_code", "adult_price", "child_price", "cancel_hours", "description")


async def _render_admin_list(
    request: Request, session: DbSession, *, errors: list[str] | None = None, status_code: int = 200
) -> Response:
    events = await repository.all_events(session)
    return render(
        request,
        "admin/events.html",
        {
            "events": [await views.event_out(session, e) for e in events],
            "key": forms.new_key(),
            "errors": errors or [],
            "notice": "",
        },
        status_code=status_code,
    )


@router.get("/admin/events")
async def admin_events(request: Request, session: DbSession, _: AdminUser) -> Response:
    return await _render_admin_list(request, session)


@router.post("/admin/events", dependencies=[CsrfProtected])
async def admin_create(request: Request, session: DbSession, principal: AdminUser) -> Response:
    form = await request.form()
    typed = {k: forms.text(form, k, 4000) for k in EVENT_FIELDS}

    async def work() -> str:
        event = await service.create_event(session, _event_data(typed), actor_user_id=principal.user_id)
        return f"/admin/events/{event.id}"

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(functools.partial(_render_admin_list, request, session), _messages),
    )


async def _render_admin_event(
    request: Request,
    session: DbSession,
    event_id: int,
    *,
    errors: list[str] | None = None,
    notice: str = "",
    status_code: int = 200,
) -> Response:
    event = await service.event_or_404(session, event_id)
    out = await views.event_out(session, event)
    tickets = await repository.event_tickets(session, event_id)
    station = await repository.station(session, event.meeting_station_id)
    valid = [t for t in tickets if t.order_status in repository.VALID_ORDER_STATUSES]
    return render(
        request,
        "admin/event.html",
        {
            "event": out,
            "station_code": station.code if station else "",
            "tickets": tickets,
            "sold": len(valid),
            "attended": sum(1 for t in valid if t.ticket.checked_in_at is not None),
            "duplicates": await repository.duplicates(session, event_id),
            "key": forms.new_key(),
            "errors": errors or [],
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/admin/events/{event_id}")
async def admin_event(
    request: Request, event_id: EventId, session: DbSession, _: AdminUser, done: str = ""
) -> Response:
    notice = {"saved": "已保存", "slot": "已添加场次", "cancelled": "活动已取消，已付款的订单将原路退款"}.get(done, "")
    return await _render_admin_event(request, session, event_id, notice=notice)


def _rerender(request: Request, session: DbSession, event_id: int) -> forms.Rerender:
    return functools.partial(_render_admin_event, request, session, event_id)


@router.post("/admin/events/{event_id}", dependencies=[CsrfProtected])
async def admin_update(request: Request, event_id: EventId, session: DbSession, principal: AdminUser) -> Response:
    form = await request.form()
    typed = {k: forms.text(form, k, 4000) for k in EVENT_FIELDS}

    async def work() -> str:
        await service.update_event(session, event_id, _event_data(typed))
        return f"/admin/events/{event_id}?done=saved"

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(_rerender(request, session, event_id), _messages),
    )


def _local(raw: str, label: str) -> datetime:
    try:
        return datetime.fromisoformat(raw).replace(tzinfo=CHINA_TZ)
    except ValueError as exc:
        raise InvalidInput(f"请填写{label}（日期和时间）") from exc


@router.post("/admin/events/{event_id}/slots", dependencies=[CsrfProtected])
async def admin_add_slot(request: Request, event_id: EventId, session: DbSession, principal: AdminUser) -> Response:
    form = await request.form()

    async def work() -> str:
        places = forms.text(form, "places", 10)
        if not places.isdigit():
            raise InvalidInput("名额请填写整数")
        await service.add_slot(
            session,
            event_id,
            starts_at=_local(forms.text(form, "starts_at", 30), "开始时间"),
            ends_at=_local(forms.text(form, "ends_at", 30), "结束时间"),
            places=int(places),
        )
        return f"/admin/events/{event_id}?done=slot"

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(_rerender(request, session, event_id), _messages),
    )


@router.post("/admin/events/{event_id}/cancel", dependencies=[CsrfProtected])
async def admin_cancel(request: Request, event_id: EventId, session: DbSession, principal: AdminUser) -> Response:
    form = await request.form()

    async def work() -> str:
        reason = forms.text(form, "reason", 150)
        if not reason:
            raise InvalidInput("请填写取消原因（会发给购票顾客）")
        await service.cancel_event(session, event_id, reason=reason, actor_user_id=principal.user_id)
        return f"/admin/events/{event_id}?done=cancelled"

    return await forms.submit(
        session,
        lambda: forms.once(session, request, principal, form, work),
        forms.show_again(_rerender(request, session, event_id), _messages),
    )
