"""The PDA API of village stations (device tokens bound to one station) and the warehouse's
run endpoints. Every PDA call carries an ``Idempotency-Key``: a retried scan replays the first
answer and changes nothing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, TypeAdapter

from app.accounts.access import AdminUser, Principal, StaffUser, StationOperator, WarehouseUser
from app.db import DbSession
from app.kit.errors import InvalidInput
from app.kit.idempotency import EarlyAnswer, Outcome, idempotent_json
from app.stations import parcel_queries, parcels, schemas
from app.stations.views import parcel_out, parcel_view, run_out, shelf_out

pda = APIRouter(prefix="/api/v1/pda", tags=["station PDA"])
runs = APIRouter(prefix="/api/v1/admin", tags=["delivery runs"])

RequiredKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key", min_length=1, max_length=100, description="PDA 每次调用必带；重试同一扫描用同一个键"
    ),
]
PDA_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "parcel_wrong_station"},
    404: {"description": "parcel_not_found"},
    409: {"description": "parcel_wrong_state / shelf_full"},
    422: {"description": "wrong_pickup_code（detail.attempts_left）/ payment_required"},
    423: {"description": "pickup_locked"},
}


def _station(principal: Principal) -> int:
    if principal.station_id is None:
        raise InvalidInput("该账号未绑定村站")
    return principal.station_id


def device_scope(principal: Principal) -> str:
    """Whose Idempotency-Keys these are: a station operator's, on that station (every PDA route)."""
    return f"station:{principal.station_id}:user:{principal.user_id}"


@pda.post("/scan-in", response_model=schemas.ParcelOut, responses=PDA_ERRORS)
async def scan_in(
    body: schemas.ScanIn, request: Request, session: DbSession, principal: StationOperator, idempotency_key: RequiredKey
) -> JSONResponse:
    """A parcel arrives: it gets a shelf slot and a pickup code; the customer gets an SMS."""

    async def work(answer: EarlyAnswer) -> None:
        async def answer_with(shelved: parcels.Shelved) -> None:
            await answer(parcel_view(shelved.parcel, shelved.order, shelved.station_code).model_dump(mode="json"))

        # The answer is stored before the station's turn for its capacity check (it changes nothing
        # shown; a full shelf undoes the whole scan, the answer with it).
        shelved = await parcels.receive(
            session,
            station_id=_station(principal),
            tracking_number=body.tracking_number,
            actor_user_id=principal.user_id,
            before_capacity_check=answer_with,
        )
        if not answer.answered:  # scanned before: nothing was shelved now
            await answer_with(shelved)

    return await idempotent_json(
        session,
        request,
        scope=device_scope(principal),
        key=idempotency_key,
        body=body,
        work=work,
        status_code=200,
        answers_early=True,
    )


_SHELF = TypeAdapter(list[schemas.ParcelOut])


@pda.get("/shelf", response_model=list[schemas.ParcelOut])
async def shelf(session: DbSession, principal: StationOperator) -> Response:
    """Parcels on this station's shelf, by slot then arrival (serialised once, not validated again)."""
    items = await shelf_out(session, _station(principal))
    return Response(_SHELF.dump_json(items), media_type="application/json")


@pda.post("/handover", response_model=schemas.ParcelOut, responses=PDA_ERRORS)
async def handover(
    body: schemas.HandoverIn,
    request: Request,
    session: DbSession,
    principal: StationOperator,
    idempotency_key: RequiredKey,
) -> JSONResponse:
    """Hand a parcel over against its pickup code (or the order's QR); collect pay-at-pickup money.
    A wrong code is counted (and the count kept) before the 422 is returned."""

    async def work(answer: EarlyAnswer) -> None:
        async def answer_with(result: parcels.Handover) -> None:
            if result.error is not None:
                await answer(Outcome(result.error.status_code, result.error.to_body()))
            else:
                assert result.order is not None
                await answer(parcel_view(result.parcel, result.order, result.station_code).model_dump(mode="json"))

        # The answer is stored before the held stock is sold (the sale changes nothing it shows).
        result = await parcels.hand_over(
            session,
            station_id=_station(principal),
            tracking_number=body.tracking_number,
            pickup_code=body.pickup_code,
            order_qr=body.order_qr,
            collect_method=body.collect_method,
            collected_by_name=body.collected_by_name,
            proxy=body.proxy,
            actor_user_id=principal.user_id,
            before_sale=answer_with,
        )
        if not answer.answered:  # a wrong code, or a handover retried
            await answer_with(result)

    return await idempotent_json(
        session,
        request,
        scope=device_scope(principal),
        key=idempotency_key,
        body=body,
        work=work,
        status_code=200,
        answers_early=True,
    )


@runs.post(
    "/runs",
    response_model=schemas.RunOut,
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "route_not_found"}, 409: {"description": "run_already_dispatched"}},
)
async def plan_run(body: schemas.RunIn, session: DbSession, principal: WarehouseUser) -> schemas.RunOut:
    """Pack the day's pickup orders of a route into its run (again: adds only new orders)."""
    run = await parcels.plan_run(
        session, route_code=body.route_code, run_date=body.run_date, actor_user_id=principal.user_id
    )
    return await run_out(session, run)


@runs.post(
    "/runs/{number}/dispatch",
    response_model=schemas.RunOut,
    responses={404: {"description": "run_not_found"}, 409: {"description": "run_already_dispatched"}},
)
async def dispatch(number: str, session: DbSession, principal: WarehouseUser) -> schemas.RunOut:
    return await run_out(session, await parcels.dispatch_run(session, number, actor_user_id=principal.user_id))


@runs.post("/parcels/{tracking_number}/receive-return", response_model=schemas.ParcelOut)
async def receive_return(tracking_number: str, session: DbSession, principal: WarehouseUser) -> schemas.ParcelOut:
    """A parcel sent back from a station is in the warehouse again."""
    parcel = await parcels.receive_return(session, tracking_number=tracking_number, actor_user_id=principal.user_id)
    return await parcel_out(session, parcel)


class RouteOut(BaseModel):
    code: str
    name: str
    is_active: bool
    stops: list[str]


@runs.get("/routes", response_model=list[RouteOut])
async def list_routes(session: DbSession, _: StaffUser) -> list[RouteOut]:
    """Delivery routes with their stations in stop order."""
    routes = await parcel_queries.routes_with_stops(session)
    codes = await parcel_queries.station_codes(session)
    return [
        RouteOut(code=r.code, name=r.name, is_active=r.is_active, stops=[codes[s.station_id] for s in r.stops])
        for r in routes
    ]


class UnlockIn(BaseModel):
    note: str = Field(min_length=2, max_length=100, description="如何核实的身份")


@runs.post(
    "/parcels/{tracking_number}/unlock",
    response_model=schemas.ParcelOut,
    responses={404: {"description": "parcel_not_found"}, 409: {"description": "parcel_wrong_state"}},
)
async def unlock_parcel(
    tracking_number: str, body: UnlockIn, session: DbSession, principal: AdminUser
) -> schemas.ParcelOut:
    """Clear a parcel locked by wrong pickup codes, after the collector's identity was checked."""
    parcel = await parcels.unlock(
        session, tracking_number=tracking_number, actor_user_id=principal.user_id, note=body.note
    )
    return await parcel_out(session, parcel)
