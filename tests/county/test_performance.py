"""The county's performance figures against the hand-computed fixture (``tests/county/fixture.py``):
every channel, either side of midnight China time, a cancelled order left out, a partial refund;
the summary tables equal the raw computation, also after a late correction (incremental refresh)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.channels import SalesChannel
from app.county import performance
from app.county.figures_models import DailySales
from app.county.performance import Flow, Performance
from app.kit import clock
from app.orders import service as order_service
from app.orders.models import OrderStatus, PaymentMethod
from app.stations.models import Parcel
from tests.county.fixture import MIDNIGHT, SAT, SUN, build, refund, shop_order

# Where the refresh looks for rows changed since its last run.
STAMPS = (
    ("orders", "updated_at"),
    ("payments", "updated_at"),
    ("pos_sales", "recorded_at"),
    ("wholesale_invoices", "created_at"),
    ("alibaba_orders", "pulled_at"),
    ("lots", "updated_at"),
    ("parcels", "updated_at"),
)
# 16:00 UTC on Sunday: midnight in China, the business date has just become Monday 7 December.
MONDAY_MIDNIGHT = datetime(2026, 12, 6, 16, 0, tzinfo=UTC)


def sales(figures: Performance) -> dict[str, tuple[int, int]]:
    return {c.channel.value: (c.orders, c.sales_minor) for c in figures.channels}


async def test_the_figures_of_each_day_equal_the_hand_computed_fixture(db_session: AsyncSession) -> None:
    made = await build(db_session)
    with clock.pinned(MONDAY_MIDNIGHT):
        assert clock.today() == date(2026, 12, 7)
        assert await performance.refresh_figures(db_session) >= 2
        saturday = await performance.performance(db_session, SAT, SAT)
        sunday = await performance.performance(db_session, SUN, SUN)
        both = await performance.performance(db_session, SAT, SUN)

    # Saturday: A paid 30 s before midnight, the counter sale a minute before, T1 at 23:30; E paid
    # that morning, then cancelled and refunded, and F, paid after its hold lapsed and refunded
    # (expired): not orders, and their money came back (¥0).
    assert sales(saturday) == {"shop": (1, 10_000), "wholesale": (0, 0), "pos": (1, 1_200), "crossborder": (1, 5_000)}
    # Sunday: B paid at 00:00:00 (placed 23:50) less its ¥50 refund, D at pickup; C (cancelled,
    # unpaid) nowhere; the invoice less Monday's credit note; the till's return; T3 (T2 unpaid).
    assert sales(sunday) == {
        "shop": (2, 15_000 + 8_000),
        "wholesale": (1, made.wholesale_net_minor),
        "pos": (1, 2_000),
        "crossborder": (1, 7_000),
    }
    assert made.wholesale_net_minor == 40 * 1_000 - 3 * 1_000
    assert sunday.wholesale_kg == made.wholesale_kg == Decimal("20.000")
    assert sales(both) == {
        "shop": (3, 33_000),
        "wholesale": (1, 37_000),
        "pos": (2, 3_200),
        "crossborder": (2, 12_000),
    }
    assert both.channel(SalesChannel.crossborder).currency == "USD"
    assert both.online_retail_minor == 33_000 + 37_000  # shop + wholesale, CNY
    assert both.sales_cny_minor == 33_000 + 37_000 + 3_200
    assert (both.crossborder_orders, both.crossborder_sales_usd_minor) == (2, 12_000)
    assert both.wholesale_minor == 37_000

    assert saturday.upward_suppliers == Flow(Decimal("50.000"), 12_340, 1)  # 10 boxes × 5 kg × ¥12.34
    assert saturday.upward_stations == Flow(Decimal(0), 0, 0)
    assert sunday.upward_suppliers == Flow(Decimal("2.500"), 0, 1)  # no purchase price: kg only
    assert sunday.upward_stations == Flow(Decimal("12.500"), 25_000, 1)  # its own lot not counted again
    assert (both.upward_kg, both.upward_value_minor) == (Decimal("65.000"), 37_340)
    assert (saturday.parcels_to_stations, sunday.parcels_to_stations) == (1, 1)
    # D's collector (P1) at 澄江村 and the person a station served (P3); G's parcel waits.
    assert (both.villages_served, both.people_served) == (1, 2)
    assert (saturday.villages_served, saturday.people_served) == (0, 0)


async def test_the_summary_tables_equal_the_direct_computation(db_session: AsyncSession) -> None:
    await build(db_session)
    with clock.pinned(MONDAY_MIDNIGHT):
        await performance.refresh_figures(db_session)
        for first, last in ((SAT, SAT), (SUN, SUN), (SAT, SUN), (date(2026, 11, 1), date(2026, 12, 31))):
            summary = await performance.performance(db_session, first, last)
            direct = await performance.performance(db_session, first, last, live=True)
            assert summary == direct, (first, last)
            assert await performance.daily_series(db_session, first, last) == await performance.daily_series(
                db_session, first, last, live=True
            )


async def test_a_late_refund_is_picked_up_by_the_next_refresh_of_only_the_days_it_touched(
    db_session: AsyncSession,
) -> None:
    made = await build(db_session)
    # The fixture was written an hour ago (its rows' change stamps), long before the last refresh.
    for table, column in STAMPS:
        await db_session.execute(text(f"UPDATE {table} SET {column} = now() - interval '1 hour'"))
    with clock.pinned(MONDAY_MIDNIGHT):
        await performance.refresh_figures(db_session)
        # Monday: a ¥20 refund of Saturday's order A, and a new order paid on Monday.
        await refund(db_session, made.order_a, 2_000)
        await shop_order(
            db_session,
            total=5_000,
            placed_at=MONDAY_MIDNIGHT + timedelta(hours=1),
            paid_at=MONDAY_MIDNIGHT + timedelta(hours=1),
        )
        # Before the refresh the summary still has Saturday's old figure (the lag the page states).
        stale = await performance.performance(db_session, SAT, SAT)
        assert stale.channel("shop").sales_minor == 10_000
        touched = await performance.refresh_figures(db_session)
        saturday = await performance.performance(db_session, SAT, SAT)
        assert touched == 2  # Saturday (A's refund) and Monday (the new order), not every day
        assert saturday.channel("shop").sales_minor == 8_000
        assert saturday == await performance.performance(db_session, SAT, SAT, live=True)
        stored = await db_session.scalar(
            select(DailySales.sales_minor).where(DailySales.day == SAT, DailySales.channel == "shop")
        )
        assert stored == 8_000


async def test_an_order_cancelled_days_after_its_payment_leaves_its_payment_days_count_at_the_next_refresh(
    db_session: AsyncSession,
) -> None:
    """Paid on Saturday, cancelled (and its cash refunded) on Monday: the cancellation changes the
    order row on Monday, and the refresh recomputes Saturday, the day the order counted on."""
    await build(db_session)
    paid = await shop_order(
        db_session,
        total=4_000,
        placed_at=MIDNIGHT - timedelta(hours=15),
        paid_at=MIDNIGHT - timedelta(hours=15),
        method=PaymentMethod.pay_at_pickup,
    )
    for table, column in STAMPS:
        await db_session.execute(text(f"UPDATE {table} SET {column} = now() - interval '1 hour'"))
    with clock.pinned(MIDNIGHT + timedelta(hours=12)):  # Sunday noon
        await performance.refresh_figures(db_session)
        saturday = await performance.performance(db_session, SAT, SAT)
    assert saturday.channel("shop").orders == 2 and saturday.channel("shop").sales_minor == 14_000

    with clock.pinned(MONDAY_MIDNIGHT + timedelta(hours=10)):  # Monday 10:00, two days later
        await order_service.cancel(db_session, paid, reason="顾客不要了", actor_user_id=None)
        assert (paid.status, paid.refunded_minor) == (OrderStatus.cancelled, 4_000)
        touched = await performance.refresh_figures(db_session)
        saturday = await performance.performance(db_session, SAT, SAT)
        assert saturday == await performance.performance(db_session, SAT, SAT, live=True)
        assert await performance.performance(db_session, SAT, SUN) == await performance.performance(
            db_session, SAT, SUN, live=True
        )
    assert touched == 1  # Saturday only
    assert (saturday.channel("shop").orders, saturday.channel("shop").sales_minor) == (1, 10_000)
    stored = await db_session.scalar(
        select(DailySales.orders).where(DailySales.day == SAT, DailySales.channel == "shop")
    )
    assert stored == 1


async def test_today_is_computed_live_without_waiting_for_the_refresh(db_session: AsyncSession) -> None:
    await build(db_session)
    # Sunday noon in China: Sunday is "today", Saturday comes from the summary.
    with clock.pinned(MIDNIGHT + timedelta(hours=12)):
        await performance.refresh_figures(db_session)
        await db_session.execute(update(Parcel).values(arrived_at=MIDNIGHT + timedelta(hours=10)))
        sunday = await performance.performance(db_session, SUN, SUN)
        saturday = await performance.performance(db_session, SAT, SAT)
    assert sunday.parcels_to_stations == 2  # both parcels now arrived on Sunday: read live
    assert saturday.parcels_to_stations == 1  # Saturday's summary row waits for the next refresh


async def test_a_full_rebuild_drops_days_that_no_longer_have_rows(db_session: AsyncSession) -> None:
    await build(db_session)
    with clock.pinned(MONDAY_MIDNIGHT):
        await performance.refresh_figures(db_session)
        db_session.add(DailySales(day=date(2020, 1, 1), channel="shop", currency="CNY", orders=9, sales_minor=9))
        await db_session.flush()
        await performance.refresh_figures(db_session, full=True)
        gone = await db_session.scalar(select(DailySales).where(DailySales.day == date(2020, 1, 1)))
    assert gone is None


def test_periods_end_today_in_china_time() -> None:
    from app.county import dashboard

    with clock.pinned(MONDAY_MIDNIGHT):
        assert dashboard.period("today") == dashboard.Period("today", "今天", date(2026, 12, 7), date(2026, 12, 7))
        week = dashboard.period("7d")
        assert (week.start, week.end, week.days) == (date(2026, 12, 1), date(2026, 12, 7), 7)
        assert dashboard.period("30d").start == date(2026, 11, 8)
        assert dashboard.period("nonsense").key == "today"


def test_the_refresh_runs_every_minute_on_the_beat() -> None:
    from app.county import tasks
    from app.worker import celery_app, configure_celery

    configure_celery(broker="memory://")
    entry = celery_app.conf.beat_schedule["county-refresh-figures"]
    assert (entry["task"], entry["schedule"]) == ("county.refresh_figures", 60.0)
    assert tasks.refresh_daily_figures.name == "county.refresh_figures"
