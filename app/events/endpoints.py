"""The JSON routes of farm events: the public list, buying tickets (``Idempotency-Key`` like
``POST /api/v1/orders``; payment then goes through ``POST /api/v1/orders/{number}/payments``), the
customer's tickets and refund, the PDA's check-in (online, and the offline batch), and the
centre's event administration. Thin: access, one service call, a schema."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse

from app.accounts.access import AdminUser, MaybeUser, Principal, PublicAccess, Role, TicketCheckInUser
from app.db import DbSession
from app.events import checkin, errors, schemas, service, views
from app.kit.errors import InvalidInput
from app.kit.http import client_address
from app.kit.idempotency import idempotent_json
from app.orders import access
from app.orders import views as order_views
from app.orders.access import OrderPhone
from app.orders.errors import OrderAccessDenied

router = APIRouter(prefix="/api/v1", tags=["farm events"])
pda = APIRouter(prefix="/api/v1/pda", tags=["station PDA"])
admin = APIRouter(prefix="/api/v1/admin", tags=["farm events admin"])

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="重试购票时带上同一个键，只会生成一个订单")
]
BUY_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "event_slot_not_found"},
    409: {"description": "capacity_exhausted（detail.lines：剩余名额）/ event_slot_not_on_sale"},
    422: {"description": "no_tickets_chosen / too_many_tickets / payment_provider_unavailable / validation_error"},
}
CHECKIN_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "ticket_wrong_station"},
    404: {"description": "ticket_not_found"},
    409: {"description": "ticket_already_checked_in（detail.checked_in_at）/ ticket_not_valid"},
}


@router.get("/events", response_model=list[schemas.EventOut], dependencies=[PublicAccess])
async def list_events(session: DbSession) -> list[schemas.EventOut]:
    """Upcoming events with their slots still to come: places left, prices, meeting station."""
    return await views.upcoming(session)


@router.get(
    "/events/{event_id}",
    response_model=schemas.EventOut,
    dependencies=[PublicAccess],
    responses={404: {"description": "event_not_found"}},
)
async def get_event(event_id: int, session: DbSession) -> schemas.EventOut:
    return await views.public_event(session, event_id)


@router.post("/events/tickets", status_code=status.HTTP_201_CREATED, responses=BUY_ERRORS)
async def buy_tickets(
    body: schemas.TicketsIn,
    request: Request,
    session: DbSession,
    principal: MaybeUser,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Buy ``adults`` + ``children`` tickets of a slot: one order with nothing to deliver, its
    places held while it waits for the online payment. 409 ``capacity_exhausted`` when fewer
    places are left than asked (nothing is written)."""
    if principal is not None and principal.role is not Role.customer:
        raise OrderAccessDenied("员工账号不能购票")

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

    scope = f"user:{principal.user_id}" if principal else "guest"
    return await idempotent_json(session, request, scope=scope, key=idempotency_key, body=body, work=work)


async def _customer_order(
    request: Request, session: DbSession, number: str, principal: Principal | None, phone: str | None
) -> Any:
    order = await access.visible_order(
        session, number, principal, phone, limiter=request.app.state.lookup_limiter, client_ip=client_address(request)
    )
    if not access.is_customer_view(order, principal, phone):
        raise OrderAccessDenied("门票二维码只给购票人本人")
    return order


@router.get(
    "/events/orders/{number}/tickets",
    response_model=schemas.TicketOrderOut,
    responses={404: {"description": "order_not_found / ticket_order_not_found"}},
)
async def my_tickets(
    number: str, request: Request, session: DbSession, principal: MaybeUser, phone: OrderPhone = None
) -> schemas.TicketOrderOut:
    """The order's tickets with their QR contents (only while the order is paid), for its customer."""
    order = await _customer_order(request, session, number, principal, phone)
    out = await views.ticket_order_out(session, order)
    if out is None:
        raise errors.TicketOrderNotFound()
    return out


@router.post(
    "/events/orders/{number}/cancel",
    responses={409: {"description": "ticket_cancellation_too_late / transition_not_allowed"}},
)
async def cancel_tickets(
    number: str, request: Request, session: DbSession, principal: MaybeUser, phone: OrderPhone = None
) -> JSONResponse:
    """Cancel a ticket order before the event's deadline: refunded in full, places given back."""
    order = await _customer_order(request, session, number, principal, phone)
    order = await service.cancel_tickets(session, order, actor_user_id=principal.user_id if principal else None)
    return JSONResponse((await order_views.order_out(session, order)).model_dump(mode="json"))


# ---- check-in ---------------------------------------------------------------------------------------


def checkin_station(principal: Principal) -> int | None:
    """The station whose events this caller checks in: an operator's own, None for an admin (any)."""
    if principal.role is Role.admin:
        return None
    if principal.station_id is None:
        raise InvalidInput("该账号未绑定村站")
    return principal.station_id


def device_name(principal: Principal) -> str:
    return f"{'PDA' if principal.via == 'token' else '工作台'} {principal.username}"[:60]


@pda.post("/tickets/check-in", response_model=schemas.CheckInOut, responses=CHECKIN_ERRORS)
async def check_in(body: schemas.CheckInIn, session: DbSession, principal: TicketCheckInUser) -> schemas.CheckInOut:
    """Check a ticket in now (online): the second scan of a QR is refused with 409."""
    admitted = await checkin.check_in_online(
        session,
        scanned=body.code,
        station_id=checkin_station(principal),
        operator_id=principal.user_id,
        device=device_name(principal),
    )
    return schemas.CheckInOut(
        order_number=admitted.order_number,
        event_title=admitted.event_title,
        ticket_kind=admitted.ticket.kind,
        ticket_kind_zh=admitted.kind_zh,
        checked_in_at=admitted.checked_in_at,
    )


@pda.post("/tickets/offline-check-ins", response_model=list[schemas.SyncResultOut])
async def sync_offline(
    body: schemas.OfflineSyncIn, session: DbSession, principal: TicketCheckInUser
) -> list[schemas.SyncResultOut]:
    """Upload scans made offline; idempotent per (device_id, client_id). A ticket another device
    checked in first comes back ``duplicate`` (recorded for staff, not counted)."""
    results = await checkin.sync_offline(
        session,
        device_id=body.device_id,
        station_id=checkin_station(principal),
        operator_id=principal.user_id,
        scans=[checkin.OfflineScan(s.client_id, s.code, s.scanned_at) for s in body.scans],
    )
    return [schemas.SyncResultOut(**vars(r)) for r in results]


# ---- the centre -------------------------------------------------------------------------------------


def _data(body: schemas.EventIn) -> service.EventData:
    return service.EventData(**body.model_dump())


@admin.post("/events", response_model=schemas.EventOut, status_code=status.HTTP_201_CREATED)
async def create_event(body: schemas.EventIn, session: DbSession, principal: AdminUser) -> schemas.EventOut:
    event = await service.create_event(session, _data(body), actor_user_id=principal.user_id)
    return await views.event_out(session, event)


@admin.put("/events/{event_id}", response_model=schemas.EventOut)
async def update_event(event_id: int, body: schemas.EventIn, session: DbSession, _: AdminUser) -> schemas.EventOut:
    event = await service.update_event(session, event_id, _data(body))
    return await views.event_out(session, event)


@admin.post("/events/{event_id}/slots", response_model=schemas.EventOut, status_code=status.HTTP_201_CREATED)
async def add_slot(event_id: int, body: schemas.SlotIn, session: DbSession, _: AdminUser) -> schemas.EventOut:
    await service.add_slot(session, event_id, starts_at=body.starts_at, ends_at=body.ends_at, places=body.places)
    return await views.event_out(session, await service.event_or_404(session, event_id))


@admin.post("/events/{event_id}/cancel", response_model=schemas.CancelledOut)
async def cancel_event(
    event_id: int, body: schemas.CancelEventIn, session: DbSession, principal: AdminUser
) -> schemas.CancelledOut:
    """Cancel the event: every standing order is cancelled and refunded once."""
    count = await service.cancel_event(session, event_id, reason=body.reason, actor_user_id=principal.user_id)
    return schemas.CancelledOut(event_id=event_id, orders_cancelled=count)
