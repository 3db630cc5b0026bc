"""PRD delivery trips: which truck an order of a PRD city goes on, and why.

Rules:

- A route runs on its weekdays; its trip of a date is made on demand (the first time anyone asks
  about that date), once — ``(route_id, departure_date)`` is unique and the insert ignores a
  concurrent twin. Trips are made for today and later only, and only for active routes.
- A trip takes orders while it is ``planned`` and before its cut-off: a China-time clock time so
  many days before the departure date (18:00 the day before). The cut-off instant, the capacity
  and the cold chain are copied onto the trip when it is made.
- An order goes on the trip the buyer asked for when it is still open and has room for the
  order's kg *and* cases; otherwise on the next open trip with room, and the buyer is told why
  (past the cut-off, full, no truck that day). No trip in the horizon: a clear error, not a guess.
- Booking is one conditional UPDATE (``booked + x <= capacity``), so concurrent orders never
  overfill a truck; :func:`assign` chooses and books, and when a concurrent order took the last
  room between the two, chooses again (the new choice then says the trip is full).
- Status moves planned → loading → dispatched → delivered, and planned / loading → cancelled (an
  empty trip only), each a compare-and-set on the status the caller saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.kit.errors import InvalidInput
from app.kit.quantities import format_quantity
from app.supply import service as supply_service
from app.wholesale import trip_errors as errors
from app.wholesale import trip_queries as queries
from app.wholesale.trip_models import TripStatus, WholesaleRoute, WholesaleTrip
from app.wholesale.trip_schemas import RouteInput, normalise_city

# A route as an entity (the console's) or as a row (an order's look at its city's trips).
Route = TypeVar("Route", WholesaleRoute, queries.RouteRow)

WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
DEFAULT_HORIZON_DAYS = 14
MAX_HORIZON_DAYS = 60


def weekday_zh(day: date) -> str:
    return WEEKDAYS_ZH[day.weekday()]


def cutoff_instant(departure: date, cutoff_time: time, days_before: int) -> datetime:
    """The instant orders for a departure close: ``cutoff_time`` in China time on the day
    ``days_before`` days before it (an aware datetime; 18:00 the day before = 10:00 UTC)."""
    return datetime.combine(departure - timedelta(days=days_before), cutoff_time, clock.business_tz())


def cutoff_rule_zh(cutoff_time: time, days_before: int) -> str:
    """A route's cut-off in words: 前一天 18:00, 当天 06:00, 提前 2 天 18:00."""
    when = {0: "当天", 1: "前一天"}.get(days_before, f"提前 {days_before} 天")
    return f"{when} {cutoff_time:%H:%M}"


def weekdays_zh(weekdays: Sequence[int]) -> str:
    return "、".join(WEEKDAYS_ZH[d - 1] for d in sorted(weekdays))


def local_cutoff_text(cutoff_at: datetime) -> str:
    """``周一 18:00`` — what a buyer reads (China time)."""
    local = cutoff_at.astimezone(clock.business_tz())
    return f"{WEEKDAYS_ZH[local.weekday()]} {local:%H:%M}"


def departure_text(day: date) -> str:
    """``周四（12月10日）``."""
    return f"{weekday_zh(day)}（{day.month}月{day.day}日）"


def trip_number(route_code: str, departure: date) -> str:
    return f"{route_code}-{departure:%y%m%d}"


# ---- what a trip looks like to a buyer and to the board ------------------------------------------


@dataclass(frozen=True)
class TripSlot:
    """One trip with its route, as it stands now."""

    trip_id: int
    number: str
    route_code: str
    route_name: str
    cities: tuple[str, ...]
    departure_date: date
    status: TripStatus
    cold_chain: bool
    cutoff_at: datetime
    capacity_kg: Decimal
    capacity_cases: int
    booked_kg: Decimal
    booked_cases: int
    is_open: bool  # planned and before its cut-off, at the moment it was read

    @property
    def remaining_kg(self) -> Decimal:
        return self.capacity_kg - self.booked_kg

    @property
    def remaining_cases(self) -> int:
        return self.capacity_cases - self.booked_cases

    def fits(self, weight_kg: Decimal, cases: int) -> bool:
        return weight_kg <= self.remaining_kg and cases <= self.remaining_cases

    @property
    def cutoff_local(self) -> str:
        local = self.cutoff_at.astimezone(clock.business_tz())
        return f"{local:%m-%d} {WEEKDAYS_ZH[local.weekday()]} {local:%H:%M}"

    @property
    def kg_percent(self) -> int:
        return _percent(self.booked_kg, self.capacity_kg)

    @property
    def cases_percent(self) -> int:
        return _percent(Decimal(self.booked_cases), Decimal(self.capacity_cases))


def _percent(part: Decimal, whole: Decimal) -> int:
    """Whole percent for a load bar; a booked load shows at least 1 %, a truck short of full at most 99 %."""
    if whole <= 0 or part <= 0:
        return 0
    value = int(part * 100 / whole)
    if part >= whole:
        return 100
    return min(max(value, 1), 99)


def slot_of(trip: WholesaleTrip | queries.TripRow, route: WholesaleRoute | queries.RouteRow, now: datetime) -> TripSlot:
    return TripSlot(
        trip_id=trip.id,
        number=trip.number,
        route_code=route.code,
        route_name=route.name,
        cities=tuple(route.cities),
        departure_date=trip.departure_date,
        status=trip.status,
        cold_chain=trip.cold_chain,
        cutoff_at=trip.cutoff_at,
        capacity_kg=trip.capacity_kg,
        capacity_cases=trip.capacity_cases,
        booked_kg=trip.booked_kg,
        booked_cases=trip.booked_cases,
        is_open=trip.status is TripStatus.planned and now < trip.cutoff_at,
    )


def _trip_row(route: WholesaleRoute | queries.RouteRow, departure: date) -> dict[str, object]:
    return {
        "number": trip_number(route.code, departure),
        "route_id": route.id,
        "departure_date": departure,
        "status": TripStatus.planned,
        "cutoff_at": cutoff_instant(departure, route.cutoff_time, route.cutoff_days_before),
        "capacity_kg": route.capacity_kg,
        "capacity_cases": route.capacity_cases,
        "cold_chain": route.cold_chain,
        "booked_kg": Decimal(0),
        "booked_cases": 0,
    }


def _trip_days(routes: Sequence[Route], first: date, last: date) -> list[tuple[Route, date]]:
    """The routes' departures of ``first``..``last`` (today or later only), by day, then route code:
    the order every caller inserts missing trips in, whatever order it read the routes in, so two
    requests making the same trips lock their rows in one order (never a deadlock)."""
    days: list[tuple[Route, date]] = []
    by_code = sorted(routes, key=lambda route: route.code)
    day = max(first, clock.today())
    while day <= last:
        days.extend((route, day) for route in by_code if day.isoweekday() in route.weekdays)
        day += timedelta(days=1)
    return days


async def _ensure_trips(session: AsyncSession, routes: Sequence[WholesaleRoute], first: date, last: date) -> None:
    """Make the routes' trips of ``first``..``last`` (today or later only) that do not exist yet."""
    await queries.ensure_trips(session, [_trip_row(route, day) for route, day in _trip_days(routes, first, last)])


def _horizon(days: int) -> int:
    if not 1 <= days <= MAX_HORIZON_DAYS:
        raise InvalidInput(f"查询天数须在 1 到 {MAX_HORIZON_DAYS} 之间")
    return days


async def upcoming_trips(
    session: AsyncSession,
    city: str,
    *,
    days: int = DEFAULT_HORIZON_DAYS,
    cold_chain: bool = False,
    first: date | None = None,
) -> list[TripSlot]:
    """The trips to ``city`` departing in the next ``days`` days (from ``first``, default today),
    earliest first, made on demand; cancelled trips and trips of inactive routes are left out.
    ``cold_chain``: only refrigerated trucks."""
    name = normalise_city(city)
    start = max(first or clock.today(), clock.today())
    last = start + timedelta(days=_horizon(days) - 1)
    found = await queries.routes_to_city_with_trips(session, name, start, last, cold_chain_only=cold_chain)
    # Made on the first look at a day (every order looks): read first, and insert only when one is
    # missing, so an order's look is one statement once its horizon's trips exist.
    routes = list({route.id: route for route, _ in found}.values())
    made = {(trip.route_id, trip.departure_date) for _, trip in found if trip is not None}
    missing = [(route, day) for route, day in _trip_days(routes, start, last) if (route.id, day) not in made]
    if missing:
        await queries.ensure_trips(session, [_trip_row(route, day) for route, day in missing])
        found = await queries.routes_to_city_with_trips(session, name, start, last, cold_chain_only=cold_chain)
    now = clock.now()
    return [
        slot_of(trip, route, now)
        for route, trip in found
        if trip is not None and trip.status is not TripStatus.cancelled
    ]


# ---- choosing the trip of an order ---------------------------------------------------------------


class Reason:
    """Why an order goes on the trip it goes on (``TripChoice.reason_code``)."""

    as_requested = "as_requested"  # the buyer's date: open and with room
    earliest = "earliest"  # no date asked: the first open trip with room
    after_cutoff = "after_cutoff"  # the asked trip's cut-off has passed (or its date has)
    trip_closed = "trip_closed"  # the warehouse closed the asked trip early (loading, dispatched)
    trip_full = "trip_full"  # the asked trip has no room for this load
    no_trip_that_day = "no_trip_that_day"  # no truck to the city on the asked date


@dataclass(frozen=True)
class TripChoice:
    trip: TripSlot
    reason_code: str
    reason_zh: str  # "" when the order goes where the buyer asked

    @property
    def moved(self) -> bool:
        return self.reason_code not in (Reason.as_requested, Reason.earliest)


def _check_load(weight_kg: Decimal, cases: int) -> None:
    if weight_kg < 0 or cases < 0 or (weight_kg == 0 and cases == 0):
        raise errors.InvalidTripLoad(detail={"weight_kg": str(weight_kg), "cases": cases})


async def choose_trip(
    session: AsyncSession,
    *,
    city: str,
    weight_kg: Decimal,
    cases: int,
    requested_date: date | None = None,
    cold_chain: bool = False,
    days: int = DEFAULT_HORIZON_DAYS,
    exclude: frozenset[int] = frozenset(),
) -> TripChoice:
    """The trip an order of ``weight_kg`` and ``cases`` to ``city`` goes on, and why.

    The trip of ``requested_date`` when it is open and has room; else the next open trip with room
    after it (or the first one from today when no date is asked). ``exclude``: trips a concurrent
    order filled after they were read (see :func:`assign`)."""
    _check_load(weight_kg, cases)
    name = normalise_city(city)
    today = clock.today()
    start = requested_date if requested_date is not None and requested_date > today else today
    slots = await upcoming_trips(session, name, days=days, cold_chain=cold_chain, first=start)
    if not slots:
        kind = "冷链" if cold_chain else ""
        raise errors.NoTripForCity(
            f"{days} 天内没有发往{name}的{kind}车次", detail={"city": name, "cold_chain": cold_chain}
        )
    if all(weight_kg > s.capacity_kg or cases > s.capacity_cases for s in slots):
        raise errors.LoadTooLargeForTrip(
            detail={"weight_kg": str(weight_kg), "cases": cases, "capacity_kg": str(max(s.capacity_kg for s in slots))}
        )

    def usable(slot: TripSlot) -> bool:
        return slot.is_open and slot.trip_id not in exclude and slot.fits(weight_kg, cases)

    asked = [s for s in slots if s.departure_date == requested_date] if requested_date is not None else []
    for slot in asked:
        if usable(slot):
            return TripChoice(slot, Reason.as_requested, "")
    later = [s for s in slots if requested_date is None or s.departure_date > requested_date]
    chosen = next((s for s in later if usable(s)), None)
    if chosen is None:
        raise errors.NoTripWithRoom(f"{days} 天内发往{name}的车次都已满或已截单，请联系运营中心", detail={"city": name})
    if requested_date is None:
        return TripChoice(chosen, Reason.earliest, "")
    code, why = _why_not(asked, requested_date, name, today=today, now=clock.now(), exclude=exclude)
    skipped_full = [s for s in later if s.departure_date < chosen.departure_date and s.is_open and not usable(s)]
    moved = f"{why}，改为{departure_text(chosen.departure_date)}的车次"
    if skipped_full:
        moved += "（" + "、".join(departure_text(s.departure_date) for s in skipped_full) + "的车次也已满）"
    return TripChoice(chosen, code, moved)


def _why_not(
    asked: Sequence[TripSlot], requested: date, city: str, *, today: date, now: datetime, exclude: frozenset[int]
) -> tuple[str, str]:
    """Why the asked date's trip cannot take the order, in the buyer's words."""
    if requested < today:
        return Reason.after_cutoff, f"{departure_text(requested)}已经过去"
    if not asked:
        return Reason.no_trip_that_day, f"{departure_text(requested)}没有发往{city}的车次"
    open_ones = [s for s in asked if s.is_open]
    if not open_ones:
        first = asked[0]
        if now >= first.cutoff_at:
            return Reason.after_cutoff, f"已过截单时间（{local_cutoff_text(first.cutoff_at)}）"
        return Reason.trip_closed, f"该车次{first.status.label_zh}，不再接单"
    trip = open_ones[0]
    if trip.trip_id in exclude:
        return Reason.trip_full, "该车次刚刚被订满"
    return Reason.trip_full, f"该车次已满（剩余 {format_quantity(trip.remaining_kg)} 千克 / {trip.remaining_cases} 箱）"


# ---- booking -------------------------------------------------------------------------------------


async def book(session: AsyncSession, trip_id: int, weight_kg: Decimal, cases: int) -> bool:
    """Put a load on a trip if it is still open and the load fits; False otherwise (nothing changed)."""
    _check_load(weight_kg, cases)
    return await queries.book(session, trip_id, weight_kg, cases, now=clock.now())


async def release(session: AsyncSession, trip_id: int, weight_kg: Decimal, cases: int) -> bool:
    """Take a load off a trip that has not left (an order cancelled or moved); False when the trip
    does not hold that much (nothing changed)."""
    _check_load(weight_kg, cases)
    return await queries.release(session, trip_id, weight_kg, cases)


async def assign(
    session: AsyncSession,
    *,
    city: str,
    weight_kg: Decimal,
    cases: int,
    requested_date: date | None = None,
    cold_chain: bool = False,
    days: int = DEFAULT_HORIZON_DAYS,
) -> TripChoice:
    """Choose the order's trip and book its load there, in one go.

    Between reading a trip's room and booking it a concurrent order may take it; the booking then
    fails (never overfills) and the choice is made again without that trip, so the buyer is told it
    filled up. Each retry excludes one more trip, so this ends within the horizon's trips."""
    exclude: frozenset[int] = frozenset()
    while True:
        choice = await choose_trip(
            session,
            city=city,
            weight_kg=weight_kg,
            cases=cases,
            requested_date=requested_date,
            cold_chain=cold_chain,
            days=days,
            exclude=exclude,
        )
        if await book(session, choice.trip.trip_id, weight_kg, cases):
            return choice
        exclude = exclude | {choice.trip.trip_id}


# ---- routes --------------------------------------------------------------------------------------


def _route_values(data: RouteInput) -> dict[str, object]:
    """The route's columns from the form (the code is the key: set once, on creation)."""
    return data.model_dump(exclude={"code"})


async def create_route(session: AsyncSession, data: RouteInput) -> WholesaleRoute:
    """A new route from the county warehouse (409 ``wholesale_route_code_taken`` for a used code)."""
    origin = await supply_service.warehouse(session)
    route = await queries.insert_route(
        session, {"code": data.code, "origin_location_id": origin.id, **_route_values(data)}
    )
    if route is None:
        raise errors.WholesaleRouteCodeTaken(f"线路编号 {data.code} 已被使用", detail={"field": "code"})
    return route


async def route_or_404(session: AsyncSession, code: str) -> WholesaleRoute:
    route = await queries.route_by_code(session, code)
    if route is None:
        raise errors.WholesaleRouteNotFound(detail={"route": code})
    return route


async def update_route(session: AsyncSession, code: str, data: RouteInput) -> WholesaleRoute:
    """Edit a route (its code stays). Trips already made keep their capacity, cold chain and
    cut-off: the change applies to trips made from now on."""
    route = await route_or_404(session, code)
    for key, value in _route_values(data).items():
        setattr(route, key, value)
    await session.flush()
    return route


async def list_routes(session: AsyncSession) -> list[WholesaleRoute]:
    return await queries.list_routes(session)


# ---- the trip board ------------------------------------------------------------------------------


async def trips_of_day(session: AsyncSession, day: date) -> list[TripSlot]:
    """Every trip departing ``day`` (cancelled ones too), made on demand for today and later."""
    routes = [r for r in await queries.active_routes(session) if day.isoweekday() in r.weekdays]
    await _ensure_trips(session, routes, day, day)
    now = clock.now()
    return [slot_of(trip, route, now) for trip, route in await queries.trips_on(session, day)]


# Which status each board action expects and gives: one function per transition, the table here.
TRANSITIONS: dict[str, tuple[frozenset[TripStatus], TripStatus]] = {
    "loading": (frozenset({TripStatus.planned}), TripStatus.loading),
    "dispatched": (frozenset({TripStatus.loading}), TripStatus.dispatched),
    "delivered": (frozenset({TripStatus.dispatched}), TripStatus.delivered),
    "cancelled": (frozenset({TripStatus.planned, TripStatus.loading}), TripStatus.cancelled),
}


async def _transition(
    session: AsyncSession, number: str, action: str, *, expected: TripStatus, actor_user_id: int | None
) -> WholesaleTrip:
    allowed, new = TRANSITIONS[action]
    trip = await queries.trip_by_number(session, number)
    if trip is None:
        raise errors.TripNotFound(detail={"trip": number})
    if expected not in allowed:
        raise errors.TripTransitionNotAllowed(
            f"车次{expected.label_zh}时不能改为{new.label_zh}", detail={"trip": number, "status": expected.value}
        )
    empty_only = new is TripStatus.cancelled
    changed = await queries.set_status(
        session,
        trip.id,
        expected=expected,
        new=new,
        actor_user_id=actor_user_id,
        now=clock.now(),
        require_empty=empty_only,
    )
    if not changed:
        current = await queries.trip_by_id(session, trip.id)
        assert current is not None  # trips are never deleted
        if current.status is expected and empty_only:
            raise errors.TripHasBookings(
                detail={"trip": number, "booked_kg": str(current.booked_kg), "booked_cases": current.booked_cases}
            )
        raise errors.TripStatusConflict(
            f"车次 {number} 现在是“{current.status.label_zh}”，请刷新后重试",
            detail={"trip": number, "status": current.status.value},
        )
    refreshed = await queries.trip_by_id(session, trip.id)
    assert refreshed is not None
    return refreshed


async def start_loading(
    session: AsyncSession, number: str, *, expected: TripStatus = TripStatus.planned, actor_user_id: int | None
) -> WholesaleTrip:
    """The warehouse starts picking and loading: the trip takes no more orders."""
    return await _transition(session, number, "loading", expected=expected, actor_user_id=actor_user_id)


async def dispatch(
    session: AsyncSession, number: str, *, expected: TripStatus = TripStatus.loading, actor_user_id: int | None
) -> WholesaleTrip:
    """The truck leaves the county warehouse: refused (409 ``trip_has_unpacked_orders``) while an
    order on it is not packed; its orders' stock is sold for what was packed
    (``app.wholesale.packing.dispatch_trip``)."""
    from app.wholesale import packing  # packing builds on this module

    return await packing.dispatch_trip(session, number, expected=expected, actor_user_id=actor_user_id)


async def change_status(
    session: AsyncSession, number: str, action: str, *, expected: TripStatus, actor_user_id: int | None
) -> WholesaleTrip:
    """The bare status change of ``action`` (a key of ``TRANSITIONS``), compare-and-set on ``expected``."""
    return await _transition(session, number, action, expected=expected, actor_user_id=actor_user_id)


async def mark_delivered(
    session: AsyncSession, number: str, *, expected: TripStatus = TripStatus.dispatched, actor_user_id: int | None
) -> WholesaleTrip:
    """Every stop of the trip has received its goods."""
    return await _transition(session, number, "delivered", expected=expected, actor_user_id=actor_user_id)


async def cancel(
    session: AsyncSession, number: str, *, expected: TripStatus = TripStatus.planned, actor_user_id: int | None
) -> WholesaleTrip:
    """Call off a trip that has not left and carries nothing (409 ``trip_has_bookings`` otherwise)."""
    return await _transition(session, number, "cancelled", expected=expected, actor_user_id=actor_user_id)
