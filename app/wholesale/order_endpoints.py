"""Wholesale ordering JSON API for buyers' purchasing systems (a buyer signed in, or the company's
API key with scope ``wholesale``): the catalog at the company's prices, placing an order with an
``Idempotency-Key``, the company's own orders (another company's order is a 404) and the order
confirmation PDF; and for the centre, approving an order held over its credit limit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.accounts.access import AdminUser, BuyerUser
from app.db import DbSession
from app.kit.idempotency import EarlyAnswer, idempotent_json
from app.kit.quantities import Unit
from app.orders.models import Order
from app.wholesale import cancelling, ordering
from app.wholesale import order_schemas as schemas
from app.wholesale.models import CreditState, WholesaleOrder
from app.wholesale.trip_models import WholesaleTrip
from app.wholesale.trips import TripSlot

router = APIRouter(prefix="/api/v1/wholesale", tags=["wholesale orders"])
admin = APIRouter(prefix="/api/v1/admin/wholesale/orders", tags=["wholesale admin"])

IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="重试下单时带上同一个键，只会生成一个订单")
]
ORDER_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "company_not_approved / company_suspended / scope_missing"},
    404: {"description": "delivery_address_not_found"},
    409: {"description": "insufficient_stock / wholesale_no_trip_with_room"},
    422: {
        "description": "basket_invalid（detail.lines = [{line, sku, code, message}]，每一行的问题一次列全："
        "unknown_sku / not_supply_sku / not_for_sale / below_minimum_order / not_case_pack_multiple / "
        "quantity_not_in_increment / invalid_quantity / insufficient_stock）/ validation_error"
    },
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "wholesale_order_not_found"}}


def order_out(
    order: Order, wholesale: WholesaleOrder, trip: WholesaleTrip | TripSlot, *, message: str = ""
) -> schemas.WholesaleOrderOut:
    """An order as the buyer's API shows it; ``trip`` as stored, or as chosen for an order just placed."""
    return schemas.WholesaleOrderOut(
        number=order.number,
        status=order.status.value,
        status_label=ordering.status_label(order, wholesale),
        credit_state=wholesale.credit_state,
        credit_state_label=CreditState(wholesale.credit_state).label_zh,
        credit_hold_until=wholesale.credit_hold_until,
        payment_method=order.payment_method.value,
        payment_due_at=order.payment_due_at,
        currency=order.currency,
        subtotal_minor=order.subtotal_minor,
        total_minor=order.total_minor,
        weight_kg=wholesale.weight_kg,
        cases=wholesale.cases,
        placed_at=order.placed_at,
        trip=schemas.TripRefOut(
            number=trip.number,
            departure_date=trip.departure_date,
            status=trip.status.value,
            status_label=trip.status.label_zh,
            reason_code=wholesale.trip_reason_code,
            reason=wholesale.trip_reason_zh,
        ),
        delivery_address=order.delivery_address,
        note=order.note,
        lines=[schemas.OrderLineOut.model_validate(line) for line in order.lines],
        events=[schemas.OrderEventOut.model_validate(e) for e in order.events],
        message=message,
    )


@router.get("/catalog", response_model=list[schemas.CatalogItemOut], responses={403: ORDER_ERRORS[403]})
async def catalog(
    session: DbSession,
    principal: BuyerUser,
    city: Annotated[str | None, Query(min_length=2, max_length=20, description="送货城市；默认企业所在城市")] = None,
) -> list[schemas.CatalogItemOut]:
    """The supply SKUs at the company's prices (its own list, else the wholesale list) with tiers,
    minimum, increment and case pack, and what each of the next open trips can be promised."""
    items = await ordering.catalog_for(session, principal, city=city)
    return [
        schemas.CatalogItemOut(
            sku=item.variant.sku,
            name=f"{item.variant.product.name_zh} {item.variant.name_zh}",
            unit=Unit(item.variant.unit).value,
            case_pack=item.variant.case_pack,
            net_weight_grams=item.variant.net_weight_grams,
            price_list=item.price.code,
            price_rule=item.price.kind.label_zh,
            unit_price_minor=item.price.item.unit_price_minor,
            currency=item.price.currency,
            min_quantity=item.price.item.min_quantity,
            increment=item.price.item.increment,
            tiers=[
                schemas.TierOut.model_validate(t) for t in sorted(item.price.item.tiers, key=lambda t: t.min_quantity)
            ],
            promisable=[
                schemas.PromiseOut(
                    trip=p.trip.number,
                    departure_date=p.trip.departure_date,
                    cutoff_at=p.trip.cutoff_at,
                    quantity=p.quantity,
                    cases=p.cases,
                )
                for p in item.promisable
            ],
        )
        for item in items
    ]


@router.post(
    "/orders", response_model=schemas.WholesaleOrderOut, status_code=status.HTTP_201_CREATED, responses=ORDER_ERRORS
)
async def place_order(
    body: schemas.WholesaleOrderIn,
    request: Request,
    session: DbSession,
    principal: BuyerUser,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Place an order for the caller's company: prices from its list (prices sent are ignored), the
    trip (with the reason when it is not the one asked for), stock held with ≥ 60 % shelf life. Over
    the credit limit the order is created but held for the centre's approval (``credit_state`` =
    ``held``, ``message`` says why and until when)."""

    async def work(answer: EarlyAnswer) -> None:
        async def answer_placed(placed: ordering.PlacedOrder) -> None:
            out = order_out(placed.order, placed.wholesale, placed.trip.trip, message=placed.message_zh)
            await answer(out.model_dump(mode="json"))

        # The answer is stored before the company's and the truck's turns (see ``place_order``).
        await ordering.place_order(
            session,
            principal,
            [ordering.BasketLine(line.sku, cases=line.cases, quantity=line.quantity) for line in body.lines],
            address_id=body.address_id,
            requested_trip_date=body.trip_date,
            note=body.note,
            answer=answer_placed,
        )

    return await idempotent_json(
        session,
        request,
        scope=f"wholesale:{principal.company_id}",
        key=idempotency_key,
        body=body,
        work=work,
        answers_early=True,
    )


@router.get("/orders", response_model=list[schemas.OrderSummaryOut])
async def list_orders(
    session: DbSession,
    principal: BuyerUser,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before_id: Annotated[int | None, Query(ge=1)] = None,
) -> list[schemas.OrderSummaryOut]:
    """The company's own orders, newest first."""
    rows = await ordering.company_orders(session, principal, limit=limit, before_id=before_id)
    return [
        schemas.OrderSummaryOut(
            number=order.number,
            status=order.status.value,
            status_label=ordering.status_label(order, wholesale),
            credit_state=wholesale.credit_state,
            total_minor=order.total_minor,
            currency=order.currency,
            placed_at=order.placed_at,
            trip=trip.number,
            departure_date=trip.departure_date,
            cases=wholesale.cases,
            weight_kg=wholesale.weight_kg,
        )
        for order, wholesale, trip in rows
    ]


@router.get("/orders/{number}", response_model=schemas.WholesaleOrderOut, responses=NOT_FOUND)
async def get_order(number: str, session: DbSession, principal: BuyerUser) -> schemas.WholesaleOrderOut:
    """One of the company's orders with its lines, trip and history; another company's is a 404."""
    view = await ordering.order_for(session, principal, number)
    return order_out(view.order, view.wholesale, view.trip)


@router.get(
    "/orders/{number}/confirmation.pdf",
    response_class=Response,
    responses={**NOT_FOUND, 200: {"content": {"application/pdf": {}}}},
)
async def confirmation(number: str, session: DbSession, principal: BuyerUser) -> Response:
    """订货确认单 (A4 PDF) of one of the company's orders."""
    # reportlab is imported when a PDF is made: a web worker does not carry it (issue 15).
    from app.wholesale.confirmation_pdf import confirmation_pdf

    view = await ordering.order_for(session, principal, number)
    data = await ordering.confirmation(session, view)
    pdf = await run_in_threadpool(confirmation_pdf, data)
    headers = {"Content-Disposition": f'inline; filename="confirmation-{view.order.number}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.post(
    "/orders/{number}/cancel",
    response_model=schemas.WholesaleOrderOut,
    responses={
        **NOT_FOUND,
        409: {
            "description": "wholesale_order_not_cancellable / wholesale_order_packed / "
            "wholesale_cancel_after_cutoff（已过截单时间：请致电服务中心）/ order_state_conflict"
        },
    },
)
async def cancel(
    number: str,
    request: Request,
    session: DbSession,
    principal: BuyerUser,
    body: schemas.CancelIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Cancel one of the company's orders before it is packed and before its trip's cut-off: its
    stock and truck room are released. Any buyer of the company may; another company's is a 404."""
    chosen = body or schemas.CancelIn()

    async def work() -> Any:
        view = await cancelling.cancel_order(session, principal, number, reason=chosen.reason)
        return order_out(view.order, view.wholesale, view.trip, message="订单已取消").model_dump(mode="json")

    return await idempotent_json(
        session,
        request,
        scope=f"wholesale:{principal.company_id}",
        key=idempotency_key,
        body=chosen,
        work=work,
        status_code=status.HTTP_200_OK,
    )


@admin.post(
    "/{number}/approve",
    response_model=schemas.WholesaleOrderOut,
    responses={**NOT_FOUND, 409: {"description": "order_not_held / order_state_conflict"}},
)
async def approve(
    number: str, session: DbSession, actor: AdminUser, body: schemas.ApproveIn | None = None
) -> schemas.WholesaleOrderOut:
    """Approve an order held over its company's credit limit: it is confirmed and keeps its stock."""
    view = await ordering.approve_held_order(session, number, actor=actor, note=body.note if body else "")
    return order_out(view.order, view.wholesale, view.trip)
