"""Standing orders (每周重复订单) through the service (rolled back per test): placed once per week
inside the lead window before the trip's cut-off (China time), a skipped week places nothing and
the next week is placed, a refusal is recorded and the buyer told, another company's is a 404.

Sunday 6 December 2026, noon in China; the route to 广州 runs Tue / Thu / Sat with an
18:00-the-day-before cut-off: Tuesday 8 December's trip closes Monday 18:00, so with the default
24 hours' lead its week is placed from Sunday 18:00."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.kit import clock
from app.notifications.models import NotificationMessage
from app.orders.models import Order, OrderStatus
from app.wholesale import errors, ordering, standing, standing_errors
from app.wholesale.ordering import BasketLine
from app.wholesale.standing_models import OccurrenceStatus, StandingOccurrence
from tests.fixtures.wholesale_orders import buyer, supply_sku

TUE, NEXT_TUE = date(2026, 12, 8), date(2026, 12, 15)
# Monday 7 December 18:00 China time = 10:00 UTC: the cut-off of Tuesday's trip.
MONDAY_CUTOFF = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
WINDOW_OPENS = MONDAY_CUTOFF - timedelta(hours=24)  # Sunday 18:00 China time

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")


async def _generate(session: AsyncSession, standing_id: int, at: datetime) -> standing.Generated | None:
    with clock.pinned(at):
        return await standing.generate_for(session, standing_id)


async def _orders_of(session: AsyncSession, company_id: int) -> int:
    return int(await session.scalar(select(func.count(Order.id)).where(Order.company_id == company_id)) or 0)


async def _weeks(session: AsyncSession, standing_id: int) -> list[StandingOccurrence]:
    return list(
        (
            await session.scalars(
                select(StandingOccurrence)
                .where(StandingOccurrence.standing_order_id == standing_id)
                .order_by(StandingOccurrence.trip_date)
                .execution_options(populate_existing=True)
            )
        ).all()
    )


async def _sms(session: AsyncSession, template: str) -> list[NotificationMessage]:
    return list(
        (await session.scalars(select(NotificationMessage).where(NotificationMessage.template == template))).all()
    )


async def test_placed_once_inside_the_window_before_the_cut_off(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=1000)
    ours = await buyer(db_session)
    made = await standing.create(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=2)], address_id=ours.address.id, weekday=2
    )

    week = await standing.next_week(db_session, made)
    assert week is not None and week.trip_date == TUE and not week.skipped
    # A minute before the window opens (Sunday 17:59 China time): nothing yet.
    assert await _generate(db_session, made.id, WINDOW_OPENS - timedelta(minutes=1)) is None
    assert await _orders_of(db_session, ours.company.id) == 0

    done = await _generate(db_session, made.id, WINDOW_OPENS + timedelta(minutes=1))
    assert done is not None and done.status is OccurrenceStatus.placed and done.trip_date == TUE
    # Run again (and again, up to the cut-off): the week is recorded, nothing more is placed.
    assert await _generate(db_session, made.id, WINDOW_OPENS + timedelta(minutes=2)) is None
    assert await _generate(db_session, made.id, MONDAY_CUTOFF - timedelta(minutes=1)) is None
    assert await _orders_of(db_session, ours.company.id) == 1

    [week_row] = await _weeks(db_session, made.id)
    assert week_row.status == "placed" and week_row.order_number == done.order_number
    assert week_row.total_minor == 2 * 20 * 1000
    view = await ordering.order_for(db_session, ours.principal, str(done.order_number))
    assert view.trip.departure_date == TUE
    assert view.order.status is OrderStatus.confirmed
    assert view.order.customer_user_id == ours.user.id
    [sms] = await _sms(db_session, "wholesale_standing_placed")
    assert str(done.order_number) in sms.body and "12月8日" in sms.body and "¥400.00" in sms.body
    # The page's next week is now the Tuesday after.
    week = await standing.next_week(db_session, made)
    assert week is not None and week.trip_date == NEXT_TUE


async def test_a_skipped_week_places_nothing_and_the_next_week_is_placed(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    ours = await buyer(db_session)
    made = await standing.create(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id, weekday=2
    )
    skipped = await standing.skip_next(db_session, ours.principal, made.id)
    assert skipped.trip_date == TUE
    with pytest.raises(standing_errors.AlreadySkipped):  # one week at a time
        await standing.skip_next(db_session, ours.principal, made.id)

    done = await _generate(db_session, made.id, WINDOW_OPENS + timedelta(minutes=1))
    assert done is not None and done.status is OccurrenceStatus.skipped
    assert await _generate(db_session, made.id, WINDOW_OPENS + timedelta(minutes=2)) is None
    assert await _orders_of(db_session, ours.company.id) == 0

    # The Tuesday after: its window opens Sunday 13 December 18:00.
    done = await _generate(db_session, made.id, WINDOW_OPENS + timedelta(days=7, minutes=1))
    assert done is not None and done.status is OccurrenceStatus.placed and done.trip_date == NEXT_TUE
    assert await _orders_of(db_session, ours.company.id) == 1
    assert [(w.trip_date, w.status) for w in await _weeks(db_session, made.id)] == [
        (TUE, "skipped"),
        (NEXT_TUE, "placed"),
    ]


async def test_unskip_and_pause(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    ours = await buyer(db_session)
    made = await standing.create(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id, weekday=2
    )
    await standing.skip_next(db_session, ours.principal, made.id)
    await standing.unskip(db_session, ours.principal, made.id, TUE)
    with pytest.raises(standing_errors.NotSkipped):
        await standing.unskip(db_session, ours.principal, made.id, TUE)
    await standing.set_active(db_session, ours.principal, made.id, False)
    assert await _generate(db_session, made.id, WINDOW_OPENS + timedelta(minutes=1)) is None
    await standing.set_active(db_session, ours.principal, made.id, True)
    done = await _generate(db_session, made.id, WINDOW_OPENS + timedelta(minutes=1))
    assert done is not None and done.status is OccurrenceStatus.placed


async def test_not_enough_stock_is_recorded_and_the_buyer_told(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, stock="20")  # one case
    ours = await buyer(db_session)
    made = await standing.create(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=3)], address_id=ours.address.id, weekday=2
    )
    done = await _generate(db_session, made.id, WINDOW_OPENS + timedelta(minutes=1))
    assert done is not None and done.status is OccurrenceStatus.failed
    assert "库存不足" in done.reason_zh
    assert await _orders_of(db_session, ours.company.id) == 0
    [week_row] = await _weeks(db_session, made.id)
    assert week_row.status == "failed" and "库存不足" in week_row.reason_zh and week_row.order_id is None
    [sms] = await _sms(db_session, "wholesale_standing_failed")
    assert "库存不足" in sms.body and "12月8日" in sms.body
    # Not tried again that week.
    assert await _generate(db_session, made.id, WINDOW_OPENS + timedelta(hours=1)) is None


async def test_the_basket_is_checked_when_written_but_not_its_stock(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, stock="0")
    ours = await buyer(db_session)
    made = await standing.create(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id, weekday=4
    )
    assert made.lines == [{"sku": sausage.sku, "cases": 1}]
    with pytest.raises(errors.BasketInvalid):
        await standing.edit_lines(db_session, ours.principal, made.id, [BasketLine(sausage.sku, quantity="7")])
    with pytest.raises(standing_errors.NoTripOnWeekday):  # no truck to 广州 on Mondays
        await standing.create(
            db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id, weekday=1
        )


async def test_repeat_an_order_weekly(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    ours = await buyer(db_session)
    placed = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=3)], address_id=ours.address.id
    )
    made = await standing.from_order(db_session, ours.principal, placed.order.number)
    assert made.weekday == TUE.isoweekday()
    assert made.lines == [{"sku": sausage.sku, "cases": 3}]
    assert made.delivery_address_id == ours.address.id
    assert made.source_order_number == placed.order.number


async def test_another_companys_standing_order_is_not_found(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    ours, theirs = await buyer(db_session), await buyer(db_session)
    made = await standing.create(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id, weekday=2
    )
    assert await standing.company_standing(db_session, theirs.principal) == []
    for attempt in (
        standing.skip_next(db_session, theirs.principal, made.id),
        standing.set_active(db_session, theirs.principal, made.id, False),
        standing.delete(db_session, theirs.principal, made.id),
    ):
        with pytest.raises(standing_errors.StandingOrderNotFound):
            await attempt
    # Nor can another company's address be used.
    with pytest.raises(errors.DeliveryAddressNotFound):
        await standing.create(
            db_session, theirs.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id, weekday=2
        )
    [view] = await standing.company_standing(db_session, ours.principal)
    assert view.week is not None and view.week.trip_date == TUE


async def test_over_the_credit_limit_the_order_is_held_as_any_other(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=1000)
    ours = await buyer(db_session, credit_limit_minor=10_000)  # ¥100; a case is ¥200
    made = await standing.create(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id, weekday=2
    )
    done = await _generate(db_session, made.id, WINDOW_OPENS + timedelta(minutes=1))
    assert done is not None and done.status is OccurrenceStatus.placed
    view = await ordering.order_for(db_session, ours.principal, str(done.order_number))
    assert view.wholesale.credit_state == "held"
    [sms] = await _sms(db_session, "wholesale_standing_placed")
    assert "待服务中心审批" in sms.body


async def test_a_suspended_company_is_refused_and_told(db_session: AsyncSession) -> None:
    from app.accounts.models import CompanyStatus

    sausage = await supply_sku(db_session)
    ours = await buyer(db_session)
    made = await standing.create(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id, weekday=2
    )
    ours.company.status = CompanyStatus.suspended
    await db_session.flush()
    done = await _generate(db_session, made.id, WINDOW_OPENS + timedelta(minutes=1))
    assert done is not None and done.status is OccurrenceStatus.failed and "暂停合作" in done.reason_zh
    assert len(await _sms(db_session, "wholesale_standing_failed")) == 1


def test_the_beat_generates_standing_orders() -> None:
    from app.wholesale import tasks
    from app.worker import celery_app, configure_celery

    configure_celery(broker="memory://")
    schedule = celery_app.conf.beat_schedule["generate-standing-orders"]
    assert schedule["task"] == tasks.generate_standing_orders.name == "wholesale.generate_standing_orders"
    assert schedule["schedule"] <= 3600
