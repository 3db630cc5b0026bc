"""PRD delivery trips: on-demand trips, China-time cut-offs, the choice of trip with its reason,
capacity snapshots and status transitions (rolled back per test).

The week of 7 December 2026: Mon 7, Tue 8, Wed 9, Thu 10, Fri 11, Sat 12. The demo-like route
runs Tue / Thu / Sat with an 18:00-the-day-before cut-off: Tuesday's trip closes Monday 18:00 in
China, which is Monday 10:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.wholesale import trip_errors, trip_queries, trips
from app.wholesale.trip_models import TripStatus, WholesaleTrip
from app.wholesale.trip_schemas import RouteInput
from tests.fixtures.trips import make_prd_route

TUE, WED, THU, SAT = date(2026, 12, 8), date(2026, 12, 9), date(2026, 12, 10), date(2026, 12, 12)
SUNDAY_NOON = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # 12:00 Sunday in China


def at(day: int, hour: int, minute: int) -> datetime:
    """An instant in UTC on ``day`` December 2026."""
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


async def _trip_count(session: AsyncSession, route_id: int) -> int:
    return int(
        await session.scalar(select(func.count()).select_from(WholesaleTrip).where(WholesaleTrip.route_id == route_id))
        or 0
    )


def test_cutoff_instant_is_china_time() -> None:
    # 18:00 the day before a Tuesday trip: Monday 18:00 in China = Monday 10:00 UTC.
    assert trips.cutoff_instant(TUE, time(18, 0), 1) == at(7, 10, 0)
    # Midnight at the start of the departure day: Monday 16:00 UTC, still Monday by the UTC date.
    assert trips.cutoff_instant(TUE, time(0, 0), 0) == at(7, 16, 0)
    assert trips.cutoff_rule_zh(time(18, 0), 1) == "前一天 18:00"
    assert trips.cutoff_rule_zh(time(6, 30), 0) == "当天 06:30"
    assert trips.cutoff_rule_zh(time(12, 0), 2) == "提前 2 天 12:00"


async def test_upcoming_trips_are_made_once_from_the_weekdays(db_session: AsyncSession) -> None:
    route = await make_prd_route(db_session, cities=("广州", "佛山"), weekdays=(2, 4, 6))
    await make_prd_route(db_session, cities=("深圳",), weekdays=(1, 3, 5))
    with clock.pinned(SUNDAY_NOON):
        first = await trips.upcoming_trips(db_session, "广州市", days=7)
        again = await trips.upcoming_trips(db_session, "广州", days=7)

    assert [(s.departure_date, s.number) for s in first] == [
        (TUE, f"{route.code}-261208"),
        (THU, f"{route.code}-261210"),
        (SAT, f"{route.code}-261212"),
    ]
    assert [s.trip_id for s in again] == [s.trip_id for s in first]
    assert await _trip_count(db_session, route.id) == 3
    tuesday = first[0]
    assert tuesday.cutoff_at == at(7, 10, 0)
    assert tuesday.cutoff_local == "12-07 周一 18:00"
    assert tuesday.is_open is True
    assert (tuesday.remaining_kg, tuesday.remaining_cases) == (Decimal("12000.000"), 400)
    assert tuesday.cities == ("广州", "佛山")


async def test_a_trip_is_one_row_per_route_and_date(db_session: AsyncSession) -> None:
    """The unique (route_id, departure_date) is what makes on-demand creation safe to race."""
    route = await make_prd_route(db_session)
    with clock.pinned(SUNDAY_NOON):
        await trips.upcoming_trips(db_session, "广州", days=3)
    twin = WholesaleTrip(
        number="TWIN-1",
        route_id=route.id,
        departure_date=TUE,
        cutoff_at=at(7, 10, 0),
        capacity_kg=Decimal(1),
        capacity_cases=1,
        cold_chain=False,
    )
    db_session.add(twin)
    with pytest.raises(IntegrityError, match="uq_wholesale_trips_route_date"):
        await db_session.flush()


async def test_inactive_routes_and_cancelled_trips_are_not_offered(db_session: AsyncSession) -> None:
    route = await make_prd_route(db_session, cities=("东莞",), weekdays=(2, 4))
    await make_prd_route(db_session, cities=("东莞",), weekdays=(3,), is_active=False)
    with clock.pinned(SUNDAY_NOON):
        assert [s.departure_date for s in await trips.upcoming_trips(db_session, "东莞", days=7)] == [TUE, THU]
        await trips.cancel(db_session, f"{route.code}-261208", actor_user_id=None)
        offered = await trips.upcoming_trips(db_session, "东莞", days=7)
    assert [s.departure_date for s in offered] == [THU]


async def test_requested_trip_before_the_cutoff_at_0959_utc(db_session: AsyncSession) -> None:
    await make_prd_route(db_session)
    with clock.pinned(at(7, 9, 59)):  # 17:59 Monday in China
        choice = await trips.choose_trip(
            db_session, city="广州", weight_kg=Decimal("500"), cases=20, requested_date=TUE
        )
    assert (choice.trip.departure_date, choice.reason_code, choice.reason_zh) == (TUE, "as_requested", "")
    assert choice.moved is False


async def test_requested_trip_after_the_cutoff_at_1001_utc_moves_to_thursday(db_session: AsyncSession) -> None:
    await make_prd_route(db_session)
    with clock.pinned(at(7, 10, 1)):  # 18:01 Monday in China
        choice = await trips.choose_trip(
            db_session, city="广州", weight_kg=Decimal("500"), cases=20, requested_date=TUE
        )
        offered = await trips.upcoming_trips(db_session, "广州", days=3)
    assert choice.trip.departure_date == THU
    assert choice.reason_code == "after_cutoff"
    assert choice.reason_zh == "已过截单时间（周一 18:00），改为周四（12月10日）的车次"
    assert choice.moved is True
    assert [(s.departure_date, s.is_open) for s in offered] == [(TUE, False)]


async def test_a_midnight_cutoff_follows_china_time_not_the_utc_date(db_session: AsyncSession) -> None:
    """Cut-off 00:00 on the departure day: at 15:59 UTC Monday it is 23:59 in China and Tuesday's
    trip is open; at 16:00 UTC (still Monday by the UTC date) it is Tuesday 00:00 and closed."""
    await make_prd_route(db_session, cities=("中山",), cutoff=time(0, 0), days_before=0)
    with clock.pinned(at(7, 15, 59)):
        before = await trips.choose_trip(db_session, city="中山", weight_kg=Decimal(1), cases=1, requested_date=TUE)
    with clock.pinned(at(7, 16, 0)):
        after = await trips.choose_trip(db_session, city="中山", weight_kg=Decimal(1), cases=1, requested_date=TUE)
        today_first = await trips.upcoming_trips(db_session, "中山", days=1)
    assert (before.trip.departure_date, before.reason_code) == (TUE, "as_requested")
    assert (after.trip.departure_date, after.reason_code) == (THU, "after_cutoff")
    assert after.reason_zh == "已过截单时间（周二 00:00），改为周四（12月10日）的车次"
    # The business day is already Tuesday: the one-day horizon is Tuesday's trip, now closed.
    assert [(s.departure_date, s.is_open) for s in today_first] == [(TUE, False)]


async def test_an_18h_cutoff_across_midnight_china_time(db_session: AsyncSession) -> None:
    """15:59 / 16:00 UTC on Tuesday are 23:59 Tuesday / 00:00 Wednesday in China. Tuesday's trip
    closed Monday 18:00 and the new business day does not reopen it; Thursday's (cut-off Wednesday
    18:00) is the earliest open trip either side; from Wednesday on, Tuesday's trip is not upcoming."""
    await make_prd_route(db_session, cities=("江门",))
    with clock.pinned(at(8, 15, 59)):
        late_tuesday = await trips.choose_trip(db_session, city="江门", weight_kg=Decimal(1), cases=1)
        asked_tuesday = await trips.choose_trip(
            db_session, city="江门", weight_kg=Decimal(1), cases=1, requested_date=TUE
        )
    with clock.pinned(at(8, 16, 0)):
        early_wednesday = await trips.choose_trip(db_session, city="江门", weight_kg=Decimal(1), cases=1)
        upcoming = await trips.upcoming_trips(db_session, "江门", days=6)  # Wednesday to Monday
    assert (late_tuesday.trip.departure_date, late_tuesday.reason_code) == (THU, "earliest")
    assert asked_tuesday.reason_zh == "已过截单时间（周一 18:00），改为周四（12月10日）的车次"
    assert (early_wednesday.trip.departure_date, early_wednesday.trip.is_open) == (THU, True)
    # From Wednesday in China, Tuesday's trip is no longer upcoming.
    assert [s.departure_date for s in upcoming] == [THU, SAT]


async def test_a_full_trip_moves_the_order_to_the_next_with_room(db_session: AsyncSession) -> None:
    route = await make_prd_route(db_session, cities=("佛山",), capacity_kg="3000", capacity_cases=100)
    with clock.pinned(SUNDAY_NOON):
        slots = await trips.upcoming_trips(db_session, "佛山", days=7)
        tuesday, thursday = slots[0], slots[1]
        assert await trips.book(db_session, tuesday.trip_id, Decimal("2900"), 60)
        assert await trips.book(db_session, thursday.trip_id, Decimal("100"), 95)
        choice = await trips.choose_trip(
            db_session, city="佛山", weight_kg=Decimal("150"), cases=10, requested_date=TUE
        )
    assert choice.trip.departure_date == SAT
    assert choice.trip.number == f"{route.code}-261212"
    assert choice.reason_code == "trip_full"
    assert choice.reason_zh == (
        "该车次已满（剩余 100 千克 / 40 箱），改为周六（12月12日）的车次（周四（12月10日）的车次也已满）"
    )


async def test_no_truck_on_the_requested_day(db_session: AsyncSession) -> None:
    await make_prd_route(db_session, cities=("惠州",))
    with clock.pinned(SUNDAY_NOON):
        choice = await trips.choose_trip(db_session, city="惠州", weight_kg=Decimal(1), cases=1, requested_date=WED)
    assert (choice.trip.departure_date, choice.reason_code) == (THU, "no_trip_that_day")
    assert choice.reason_zh == "周三（12月9日）没有发往惠州的车次，改为周四（12月10日）的车次"


async def test_clear_errors_when_no_trip_can_take_the_order(db_session: AsyncSession) -> None:
    await make_prd_route(db_session, cities=("珠海",), cold_chain=False, capacity_kg="100", capacity_cases=10)
    with clock.pinned(SUNDAY_NOON):
        with pytest.raises(trip_errors.NoTripForCity) as unknown:
            await trips.choose_trip(db_session, city="汕头", weight_kg=Decimal(1), cases=1)
        with pytest.raises(trip_errors.NoTripForCity) as no_cold:
            await trips.choose_trip(db_session, city="珠海", weight_kg=Decimal(1), cases=1, cold_chain=True)
        with pytest.raises(trip_errors.LoadTooLargeForTrip):
            await trips.choose_trip(db_session, city="珠海", weight_kg=Decimal(1), cases=11)
        with pytest.raises(trip_errors.InvalidTripLoad):
            await trips.choose_trip(db_session, city="珠海", weight_kg=Decimal(-1), cases=1)
        for slot in await trips.upcoming_trips(db_session, "珠海", days=14):
            assert await trips.book(db_session, slot.trip_id, Decimal(95), 1)
        with pytest.raises(trip_errors.NoTripWithRoom):
            await trips.choose_trip(db_session, city="珠海", weight_kg=Decimal(10), cases=1)
    assert unknown.value.status_code == 422 and unknown.value.text == "14 天内没有发往汕头的车次"
    assert no_cold.value.text == "14 天内没有发往珠海的冷链车次"


async def test_trips_keep_the_capacity_and_cutoff_they_were_made_with(db_session: AsyncSession) -> None:
    route = await make_prd_route(db_session, cities=("肇庆",), weekdays=(2, 4), capacity_kg="12000", capacity_cases=400)
    with clock.pinned(SUNDAY_NOON):
        await trips.upcoming_trips(db_session, "肇庆", days=3)  # Tuesday's trip only
        edit = RouteInput(
            code=route.code,
            name=route.name,
            cities=["肇庆"],
            weekdays=[2, 4],
            cutoff_time=time(12, 0),
            cutoff_days_before=2,
            capacity_kg="8000",
            capacity_cases=250,
            cold_chain=False,
        )
        await trips.update_route(db_session, route.code, edit)
        slots = await trips.upcoming_trips(db_session, "肇庆", days=7)
    tuesday, thursday = slots
    assert (tuesday.capacity_kg, tuesday.capacity_cases, tuesday.cold_chain) == (Decimal("12000.000"), 400, True)
    assert tuesday.cutoff_at == at(7, 10, 0)
    assert (thursday.capacity_kg, thursday.capacity_cases, thursday.cold_chain) == (Decimal("8000.000"), 250, False)
    assert thursday.cutoff_at == at(8, 4, 0)  # Tuesday 12:00 in China


async def test_book_and_release_move_the_counters_and_refuse_what_does_not_fit(db_session: AsyncSession) -> None:
    await make_prd_route(db_session, cities=("清远",), capacity_kg="1000", capacity_cases=50)
    with clock.pinned(SUNDAY_NOON):
        trip = (await trips.upcoming_trips(db_session, "清远", days=3))[0]
        assert await trips.book(db_session, trip.trip_id, Decimal("600.5"), 30) is True
        assert await trips.book(db_session, trip.trip_id, Decimal("400"), 10) is False  # 1000.5 kg
        assert await trips.book(db_session, trip.trip_id, Decimal("100"), 21) is False  # 51 cases
        assert await trips.release(db_session, trip.trip_id, Decimal("0.5"), 31) is False  # never held 31
        assert await trips.release(db_session, trip.trip_id, Decimal("100.5"), 10) is True
        after = (await trips.upcoming_trips(db_session, "清远", days=3))[0]
    assert (after.booked_kg, after.booked_cases) == (Decimal("500.000"), 20)
    assert (after.kg_percent, after.cases_percent) == (50, 40)


async def test_no_booking_after_the_cutoff_or_once_loading(db_session: AsyncSession) -> None:
    route = await make_prd_route(db_session, cities=("韶关",))
    with clock.pinned(SUNDAY_NOON):
        tuesday, thursday, _ = await trips.upcoming_trips(db_session, "韶关", days=7)
        await trips.start_loading(db_session, thursday.number, actor_user_id=None)
        assert await trips.book(db_session, thursday.trip_id, Decimal(1), 1) is False
    with clock.pinned(at(7, 10, 0)):  # Monday 18:00 in China: Tuesday's cut-off itself
        assert await trips.book(db_session, tuesday.trip_id, Decimal(1), 1) is False
    with clock.pinned(at(7, 9, 59)):
        assert await trips.book(db_session, tuesday.trip_id, Decimal(1), 1) is True
    assert route.code in tuesday.number


async def test_status_moves_by_compare_and_set(db_session: AsyncSession) -> None:
    await make_prd_route(db_session, cities=("河源",))
    with clock.pinned(SUNDAY_NOON):
        tuesday, thursday, saturday = await trips.upcoming_trips(db_session, "河源", days=7)
        with pytest.raises(trip_errors.TripTransitionNotAllowed):
            await trips.dispatch(db_session, tuesday.number, expected=TripStatus.planned, actor_user_id=None)
        loading = await trips.start_loading(db_session, tuesday.number, actor_user_id=None)
        assert loading.status is TripStatus.loading
        # A second "装车" from a stale page: the trip is no longer planned.
        with pytest.raises(trip_errors.TripStatusConflict) as stale:
            await trips.start_loading(db_session, tuesday.number, actor_user_id=None)
        dispatched = await trips.dispatch(db_session, tuesday.number, actor_user_id=None)
        assert dispatched.status is TripStatus.dispatched and dispatched.status_changed_at == SUNDAY_NOON
        delivered = await trips.mark_delivered(db_session, tuesday.number, actor_user_id=None)
        assert delivered.status is TripStatus.delivered

        assert await trips.book(db_session, thursday.trip_id, Decimal(10), 1)
        with pytest.raises(trip_errors.TripHasBookings):
            await trips.cancel(db_session, thursday.number, actor_user_id=None)
        cancelled = await trips.cancel(db_session, saturday.number, actor_user_id=None)
        assert cancelled.status is TripStatus.cancelled
        with pytest.raises(trip_errors.TripNotFound):
            await trips.cancel(db_session, "NOPE-261208", actor_user_id=None)
    assert stale.value.status_code == 409 and "装车中" in stale.value.text
    thursday_now = await db_session.scalar(select(WholesaleTrip).where(WholesaleTrip.id == thursday.trip_id))
    assert thursday_now is not None and thursday_now.status is TripStatus.planned


async def test_route_codes_are_unique_and_cities_normalised(db_session: AsyncSession) -> None:
    route = await make_prd_route(db_session, code="SX-GZ", cities=("广州市", "佛山", "广州"))
    assert route.cities == ["广州", "佛山"]
    assert route.weekdays == [2, 4, 6]
    with pytest.raises(trip_errors.WholesaleRouteCodeTaken):
        await make_prd_route(db_session, code="SX-GZ")


async def test_a_trip_closed_early_moves_the_order_with_its_own_reason(db_session: AsyncSession) -> None:
    await make_prd_route(db_session, cities=("云浮",))
    with clock.pinned(SUNDAY_NOON):
        tuesday = (await trips.upcoming_trips(db_session, "云浮", days=3))[0]
        await trips.start_loading(db_session, tuesday.number, actor_user_id=None)
        choice = await trips.choose_trip(db_session, city="云浮", weight_kg=Decimal(1), cases=1, requested_date=TUE)
        past = await trips.choose_trip(
            db_session, city="云浮", weight_kg=Decimal(1), cases=1, requested_date=date(2026, 12, 5)
        )
    assert (choice.trip.departure_date, choice.reason_code) == (THU, "trip_closed")
    assert choice.reason_zh == "该车次装车中，不再接单，改为周四（12月10日）的车次"
    assert (past.trip.departure_date, past.reason_code) == (THU, "after_cutoff")
    assert past.reason_zh == "周六（12月5日）已经过去，改为周四（12月10日）的车次"


async def test_missing_trips_are_made_in_one_order_whatever_the_horizons_start(
    db_session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two orders to one city looking from different days make the same missing trips in one
    order — by day, then route code — so their multi-row inserts never wait on each other's rows
    in opposite orders (a deadlock). The routes are read sorted by their first trip, which differs
    with the start."""
    monday_route = await make_prd_route(db_session, code="RT-A", cities=("广州",), weekdays=(1, 4))
    tuesday_route = await make_prd_route(db_session, code="RT-B", cities=("广州",), weekdays=(2, 4))
    made: list[list[tuple[date, str]]] = []
    ensure = trip_queries.ensure_trips
    codes = {monday_route.id: monday_route.code, tuesday_route.id: tuesday_route.code}

    async def recording(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        made.append([(row["departure_date"], codes[row["route_id"]]) for row in rows])
        await ensure(session, rows)

    monkeypatch.setattr(trip_queries, "ensure_trips", recording)
    with clock.pinned(SUNDAY_NOON):
        await trips.upcoming_trips(db_session, "广州", days=2, first=date(2026, 12, 7))  # Mon 7, Tue 8
        await trips.upcoming_trips(db_session, "广州", days=4, first=date(2026, 12, 8))  # Tue 8 .. Fri 11
        await trips.upcoming_trips(db_session, "广州", days=4, first=date(2026, 12, 7))  # nothing missing
    assert made == [
        [(date(2026, 12, 7), "RT-A"), (TUE, "RT-B")],
        [(THU, "RT-A"), (THU, "RT-B")],  # RT-B's first trip comes first in what was read
    ]
