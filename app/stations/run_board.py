"""The run board of the ops console (/admin/runs): which pickup orders wait for a delivery run on
each route, the runs of a chosen day, and the two steps that move them — pack a route's waiting
orders into its run of the day, and dispatch the run.

The day is a China-time business date (``clock.today()`` by default). An order waiting since
yesterday waits today too, so the waiting orders do not depend on the day: the day chooses which
run they go into. Runs are planned for today or a later day only; a past day's runs are shown as
they went. Packing goes through ``parcels.plan_run`` and dispatch through ``parcels.dispatch_run``
— the very functions of the runs API — so the board and the API cannot disagree.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.orders.models import Order
from app.stations import admin_queries, errors, parcels, run_queries
from app.stations.labels import amount_due, mask_name
from app.stations.models import DispatchRun, ParcelStatus, RunStatus, Station


@dataclass(frozen=True)
class WaitingOrder:
    number: str
    station_code: str
    station_name: str
    recipient: str  # masked, as on the label
    amount_due_minor: int  # collected at the station (pay at pickup)
    placed_at: datetime


@dataclass(frozen=True)
class RunSummary:
    number: str
    status: RunStatus
    parcels: int
    stations: int
    amount_due_minor: int
    by_status: dict[ParcelStatus, int]  # parcels by status (statuses with none left out)
    created_at: datetime
    dispatched_at: datetime | None

    @property
    def dispatched(self) -> bool:
        return self.status is RunStatus.dispatched


@dataclass(frozen=True)
class RouteBoard:
    code: str
    name: str
    is_active: bool
    stops: Sequence[Station]
    waiting: list[WaitingOrder] = field(default_factory=list)
    run: RunSummary | None = None

    @property
    def waiting_due_minor(self) -> int:
        return sum(o.amount_due_minor for o in self.waiting)


@dataclass(frozen=True)
class Board:
    day: date
    today: date
    routes: list[RouteBoard]
    off_route: list[WaitingOrder]  # waiting for a station that is on no route: no run can take them

    @property
    def plannable(self) -> bool:
        return self.day >= self.today

    @property
    def waiting(self) -> int:
        return sum(len(r.waiting) for r in self.routes) + len(self.off_route)

    @property
    def runs(self) -> list[RouteBoard]:
        return [r for r in self.routes if r.run is not None]

    @property
    def dispatched_runs(self) -> int:
        return sum(1 for r in self.routes if r.run is not None and r.run.dispatched)


def _waiting(order: Order, station: Station) -> WaitingOrder:
    return WaitingOrder(
        number=order.number,
        station_code=station.code,
        station_name=station.name,
        recipient=mask_name(order.contact_name),
        amount_due_minor=amount_due(order),
        placed_at=order.created_at,
    )


async def board(session: AsyncSession, day: date) -> Board:
    routes = await admin_queries.list_routes(session)
    route_of_station = {station.id: route.code for route, stations in routes for station in stations}
    waiting: dict[str, list[WaitingOrder]] = defaultdict(list)
    off_route: list[WaitingOrder] = []
    for order, station in await run_queries.orders_awaiting_dispatch(session):
        code = route_of_station.get(station.id)
        (waiting[code] if code is not None else off_route).append(_waiting(order, station))
    runs = {route.code: run for run, route in await run_queries.runs_on(session, day)}
    summaries = await _summaries(session, list(runs.values()))
    return Board(
        day=day,
        today=clock.today(),
        routes=[
            RouteBoard(
                code=route.code,
                name=route.name,
                is_active=route.is_active,
                stops=stations,
                waiting=waiting.get(route.code, []),
                run=summaries.get(runs[route.code].id) if route.code in runs else None,
            )
            for route, stations in routes
        ],
        off_route=off_route,
    )


async def _summaries(session: AsyncSession, runs: Sequence[DispatchRun]) -> dict[int, RunSummary]:
    contents = defaultdict(list)
    for parcel, order in await run_queries.parcels_of_runs(session, [run.id for run in runs]):
        contents[parcel.run_id].append((parcel, order))
    result = {}
    for run in runs:
        items = contents.get(run.id, [])
        statuses = Counter(ParcelStatus(parcel.status) for parcel, _ in items)
        result[run.id] = RunSummary(
            number=run.number,
            status=RunStatus(run.status),
            parcels=len(items),
            stations=len({parcel.station_id for parcel, _ in items}),
            amount_due_minor=sum(amount_due(order) for _, order in items),
            by_status={status: statuses[status] for status in ParcelStatus if statuses[status]},
            created_at=run.created_at,
            dispatched_at=run.dispatched_at,
        )
    return result


@dataclass(frozen=True)
class Packed:
    run: DispatchRun
    added: int  # parcels this call packed


async def pack(session: AsyncSession, *, route_code: str, run_date: date, actor_user_id: int) -> Packed:
    """Pack the route's waiting orders into its run of ``run_date`` (made the first time). Refused
    for a past day, and when nothing is waiting — the board makes no empty runs."""
    if run_date < clock.today():
        raise errors.RunDateInPast(detail={"run_date": run_date.isoformat(), "today": clock.today().isoformat()})
    before = await run_queries.parcels_in_run(session, route_code=route_code, day=run_date)
    run = await parcels.plan_run(session, route_code=route_code, run_date=run_date, actor_user_id=actor_user_id)
    added = await run_queries.parcels_in_run(session, route_code=route_code, day=run_date) - before
    if added == 0:
        raise errors.NothingToPack(detail={"route": route_code})
    return Packed(run, added)


async def dispatch(session: AsyncSession, run_number: str, *, actor_user_id: int) -> RunSummary:
    """Dispatch a packed run; its parcels are on their way (orders cancelled since packing stay)."""
    run = await parcels.dispatch_run(session, run_number, actor_user_id=actor_user_id)
    return (await _summaries(session, [run]))[run.id]
