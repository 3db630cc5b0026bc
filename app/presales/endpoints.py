"""The pre-sale JSON API: open waves with what is left, one wave, an order against a wave (with an
``Idempotency-Key``, like ``POST /api/v1/orders``), and the centre's cancel and allocate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse

from app.accounts.access import AdminUser, MaybeUser, PublicAccess
from app.db import DbSession
from app.kit.idempotency import EarlyAnswer, idempotent_json
from app.orders import schemas as order_schemas
from app.orders import views
from app.orders.models import Order
from app.presales import allocation, schemas, service

router = APIRouter(prefix="/api/v1", tags=["presales"])

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="重试下单时带上同一个键，只会生成一个订单")
]
ORDER_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "presale_wave_not_found"},
    409: {
        "description": "capacity_exhausted（已订满，detail.lines 给出剩余）/ presale_closed（已截单）/ "
        "presale_wave_not_open / presale_pay_at_pickup_not_allowed / presale_phone_limit"
    },
    422: {"description": "validation_error / presale_too_many_boxes / unknown_station / presale_wave_invalid"},
}


@router.get("/presales", response_model=list[schemas.WaveOut], dependencies=[PublicAccess])
async def open_waves(session: DbSession) -> list[schemas.WaveOut]:
    """Pre-sale waves taking orders now, soonest cut-off first, with what is left of each cap."""
    return [schemas.WaveOut.of(row) for row in await service.open_waves(session)]


@router.get(
    "/presales/{code}",
    response_model=schemas.WaveOut,
    dependencies=[PublicAccess],
    responses={404: {"description": "presale_wave_not_found"}},
)
async def get_wave(code: str, session: DbSession) -> schemas.WaveOut:
    return schemas.WaveOut.of(await service.shown_wave(session, code))


@router.post(
    "/presales/{code}/orders",
    response_model=order_schemas.OrderOut,
    status_code=status.HTTP_201_CREATED,
    responses=ORDER_ERRORS,
)
async def order_against_wave(
    code: str,
    body: schemas.PresaleOrderIn,
    request: Request,
    session: DbSession,
    principal: MaybeUser,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Order boxes of a wave (customer or guest): taken from the wave's cap at once, never over it.
    Online payment (`stripe`) then starts with `POST /api/v1/orders/{number}/payments`."""

    async def work(answer_early: EarlyAnswer) -> None:
        async def answer(order: Order) -> None:
            await answer_early((await views.new_order_out(session, order)).model_dump(mode="json"))

        customer = principal.user_id if principal and principal.role.value == "customer" else None
        await service.place(
            session,
            body.to_order(code, customer),
            stripe_enabled=request.app.state.payment_provider is not None,
            answer=answer,
        )

    scope = f"user:{principal.user_id}" if principal else "guest"
    return await idempotent_json(
        session, request, scope=scope, key=idempotency_key, body=body, work=work, answers_early=True
    )


@router.post(
    "/admin/presales/{code}/allocate",
    response_model=schemas.AllocationOut,
    responses={409: {"description": "presale_not_closed / presale_wave_state_conflict（已分配或已取消）"}},
)
async def allocate(code: str, session: DbSession, principal: AdminUser) -> schemas.AllocationOut:
    """Allocate the received harvest to the wave's orders in order of placement (once)."""
    done = await allocation.allocate(session, code, actor_user_id=principal.user_id)
    return schemas.AllocationOut(**done.__dict__)


@router.post(
    "/admin/presales/{code}/cancel",
    response_model=schemas.CancelOut,
    responses={409: {"description": "presale_wave_state_conflict（已取消或已分配）"}},
)
async def cancel(code: str, body: schemas.CancelIn, session: DbSession, principal: AdminUser) -> schemas.CancelOut:
    """Cancel the wave: every order refunded (paid) or released (pay at pickup), once."""
    count = await service.cancel_wave(session, code, reason=body.reason, actor_user_id=principal.user_id)
    return schemas.CancelOut(code=code, status="cancelled", orders_cancelled=count)
