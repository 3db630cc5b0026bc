"""Wholesale ordering through the service (rolled back per test): the company's prices, tiers,
every bad basket line named at once, the 60 % shelf-life rule on the trip's date, the trip and its
reason, prepay, and credit holds with their approval and lapse.

Sunday 6 December 2026, noon in China; the route to 广州 runs Tue / Thu / Sat with an
18:00-the-day-before cut-off, so the first trip is Tuesday 8 December."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import PaymentTerms, Role
from app.orders import repository as orders_repository
from app.orders.models import OrderStatus, PaymentMethod
from app.supply import stock
from app.wholesale import errors, ordering, trip_queries
from app.wholesale.models import CreditState
from app.wholesale.ordering import BasketLine
from app.wholesale.trip_models import TripStatus
from tests.fixtures.builders import age_lot, ensure_warehouse, make_user, receive
from tests.fixtures.wholesale_orders import SUNDAY_NOON, buyer, own_price, supply_sku
from tests.wholesale.helpers import as_principal

TUE, THU = date(2026, 12, 8), date(2026, 12, 10)

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")


def _codes(exc: errors.BasketInvalid) -> list[tuple[int, str]]:
    return [(int(p["line"]), str(p["code"])) for p in exc.detail["lines"]]


async def test_the_companys_own_price_beats_the_wholesale_list(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=3800)
    tea = await supply_sku(db_session, wholesale_minor=5000)
    ours = await buyer(db_session)
    await own_price(db_session, ours.company, sausage, 3450)

    placed = await ordering.place_order(
        db_session,
        ours.principal,
        [BasketLine(sausage.sku, cases=10), BasketLine(tea.sku, quantity="40")],
        address_id=ours.address.id,
    )

    lines = {line.sku: line for line in placed.order.lines}
    assert lines[sausage.sku].quantity == Decimal(200)
    assert lines[sausage.sku].unit_price_minor == 3450  # ¥34.50, not the list's ¥38.00
    assert lines[sausage.sku].line_total_minor == 690_000
    assert lines[sausage.sku].price_list == f"co-{ours.company.id}"
    assert lines[tea.sku].unit_price_minor == 5000  # no own price: the wholesale list
    assert placed.order.total_minor == 690_000 + 200_000
    assert placed.order.status is OrderStatus.confirmed
    assert placed.order.payment_method is PaymentMethod.bank_transfer
    assert placed.wholesale.credit_state == CreditState.clear.value


async def test_tier_prices_apply_from_their_threshold(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=3800, tiers=[("200", 3500), ("400", 3300)])
    ours = await buyer(db_session)

    small = await ordering.check_basket(db_session, ours.company, [BasketLine(sausage.sku, cases=9)])
    at_tier = await ordering.check_basket(db_session, ours.company, [BasketLine(sausage.sku, cases=10)])

    assert small.lines[0].priced.unit_price_minor == 3800
    assert at_tier.lines[0].priced.unit_price_minor == 3500
    assert at_tier.lines[0].priced.rule.tier_min_quantity == Decimal(200)
    assert at_tier.total_minor == 700_000
    assert at_tier.cases == 10 and at_tier.weight_kg == Decimal(100)


async def test_every_bad_line_is_named_at_once(db_session: AsyncSession) -> None:
    good = await supply_sku(db_session)
    moq = await supply_sku(db_session, min_quantity="100")
    packed = await supply_sku(db_session, case_pack=12)
    retail_only = await supply_sku(db_session, is_supply_sku=False)
    ours = await buyer(db_session)

    with pytest.raises(errors.BasketInvalid) as caught:
        await ordering.check_basket(
            db_session,
            ours.company,
            [
                BasketLine(good.sku, cases=2),
                BasketLine(moq.sku, cases=2),  # 40 pieces, minimum 100
                BasketLine(packed.sku, quantity="30"),  # cases of 12
                BasketLine("NO-SUCH-SKU", cases=1),
                BasketLine(retail_only.sku, cases=1),
                BasketLine(good.sku, quantity="abc"),
            ],
        )

    assert caught.value.code == "basket_invalid" and caught.value.status_code == 422
    assert _codes(caught.value) == [
        (1, "below_minimum_order"),
        (2, "not_case_pack_multiple"),
        (3, "unknown_sku"),
        (4, "not_supply_sku"),
        (5, "invalid_quantity"),
    ]
    messages = {int(p["line"]): str(p["message"]) for p in caught.value.detail["lines"]}
    assert moq.sku in messages[1] and "100" in messages[1]
    assert packed.sku in messages[2] and "每箱 12" in messages[2]
    assert {p["sku"] for p in caught.value.detail["lines"]} == {
        moq.sku,
        packed.sku,
        "NO-SUCH-SKU",
        retail_only.sku,
        good.sku,
    }


async def test_a_near_expiry_lot_is_not_promised_to_a_trip(db_session: AsyncSession) -> None:
    # Shelf life 10 days: Tuesday's truck needs lots good until 14 December (60 % left on the 8th).
    sausage = await supply_sku(db_session, stock="0", shelf_life_days=10)
    fresh = await receive(db_session, sausage, "40")
    await age_lot(db_session, fresh, best_before=date(2026, 12, 15))
    tired = await receive(db_session, sausage, "100")
    await age_lot(db_session, tired, best_before=date(2026, 12, 12))
    ours = await buyer(db_session)

    with pytest.raises(errors.BasketInvalid) as caught:
        await ordering.check_basket(db_session, ours.company, [BasketLine(sausage.sku, cases=3)], trip_date=TUE)
    assert _codes(caught.value) == [(0, "insufficient_stock")]
    assert "可供 40" in str(caught.value.detail["lines"][0]["message"])

    placed = await ordering.place_order(
        db_session,
        ours.principal,
        [BasketLine(sausage.sku, cases=2)],
        address_id=ours.address.id,
        requested_trip_date=TUE,
    )
    warehouse = await ensure_warehouse(db_session)
    assert placed.trip.trip.departure_date == TUE
    assert await stock.available_in_level(db_session, warehouse.id, fresh.id) == Decimal(0)
    assert await stock.available_in_level(db_session, warehouse.id, tired.id) == Decimal(100)


async def test_the_trip_and_its_reason_are_recorded(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    ours = await buyer(db_session)

    # Wednesday: no truck to 广州; the order goes on Thursday's and says why.
    placed = await ordering.place_order(
        db_session,
        ours.principal,
        [BasketLine(sausage.sku, cases=1)],
        address_id=ours.address.id,
        requested_trip_date=date(2026, 12, 9),
    )

    assert placed.trip.trip.departure_date == THU
    assert placed.trip.reason_code == "no_trip_that_day"
    order = await orders_repository.order_by_number(db_session, placed.order.number)
    assert order is not None
    event = next(e for e in order.events if e.kind == "trip_assigned")
    assert "改为周四（12月10日）的车次" in event.message_zh
    assert placed.wholesale.trip_reason_zh == placed.trip.reason_zh
    trip = await trip_queries.trip_by_id(db_session, placed.trip.trip.trip_id)
    assert trip is not None and trip.booked_cases == 1 and trip.booked_kg == Decimal(10)
    assert order.delivery_address is not None and order.delivery_address["receiving_hours"] == "06:00–10:00"


async def test_another_companys_address_is_refused(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    ours, theirs = await buyer(db_session), await buyer(db_session)
    with pytest.raises(errors.DeliveryAddressNotFound):
        await ordering.place_order(
            db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=theirs.address.id
        )


async def test_a_prepay_company_waits_for_its_bank_transfer(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session)
    ours = await buyer(db_session, terms=PaymentTerms.prepay, credit_limit_minor=0)

    placed = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id
    )

    assert placed.order.status is OrderStatus.pending_payment
    assert placed.order.payment_due_at == SUNDAY_NOON + timedelta(hours=48)
    assert placed.wholesale.credit_state == CreditState.clear.value
    assert "银行转账" in placed.message_zh


async def test_over_the_limit_the_order_is_held_then_approved(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=1000)  # ¥200.00 a case
    ours = await buyer(db_session, credit_limit_minor=50_000)  # ¥500
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))

    first = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=2)], address_id=ours.address.id
    )
    second = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id
    )

    assert first.order.status is OrderStatus.confirmed  # ¥400 of ¥500
    assert second.order.status is OrderStatus.pending_payment  # ¥600 > ¥500: held
    assert second.order.payment_due_at is None
    assert second.wholesale.credit_state == CreditState.held.value
    assert second.wholesale.credit_hold_until == SUNDAY_NOON + timedelta(hours=24)
    assert second.wholesale.exposure_minor == 60_000
    assert "超出贵司信用额度" in second.message_zh and "需服务中心审批" in second.message_zh
    warehouse = await ensure_warehouse(db_session)
    held = await orders_repository.order_by_number(db_session, second.order.number)
    assert held is not None and any(e.kind == "credit_hold" for e in held.events)

    approved = await ordering.approve_held_order(db_session, second.order.number, actor=admin)
    assert approved.order.status is OrderStatus.confirmed
    assert approved.wholesale.credit_state == CreditState.approved.value
    with pytest.raises(errors.OrderNotHeld):
        await ordering.approve_held_order(db_session, second.order.number, actor=admin)
    # Approved: nothing lapses at the deadline, and the stock stays held.
    assert await ordering.release_lapsed_hold(db_session, now=SUNDAY_NOON + timedelta(days=2)) == []
    level = sum(
        [
            await stock.available_in_level(db_session, warehouse.id, lot_id)
            for lot_id in await _lots(db_session, sausage.id)
        ],
        Decimal(0),
    )
    assert level == Decimal(400 - 60)


async def _lots(session: AsyncSession, variant_id: int) -> list[int]:
    from sqlalchemy import select

    from app.supply.models import Lot

    return list(await session.scalars(select(Lot.id).where(Lot.variant_id == variant_id)))


async def test_a_held_order_not_approved_in_time_releases_stock_and_truck_room(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=1000)
    ours = await buyer(db_session, credit_limit_minor=10_000)
    held = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=3)], address_id=ours.address.id
    )
    assert held.wholesale.credit_state == CreditState.held.value
    warehouse = await ensure_warehouse(db_session)
    (lot_id,) = await _lots(db_session, sausage.id)
    assert await stock.available_in_level(db_session, warehouse.id, lot_id) == Decimal(340)

    assert await ordering.release_lapsed_hold(db_session, now=SUNDAY_NOON + timedelta(hours=23)) == []
    assert await ordering.release_lapsed_hold(db_session, now=SUNDAY_NOON + timedelta(hours=24)) == [held.order.number]

    order = await orders_repository.order_by_number(db_session, held.order.number)
    assert order is not None and order.status is OrderStatus.expired
    assert any(e.kind == "credit_hold_lapsed" and "未获批准" in e.message_zh for e in order.events)
    assert await stock.available_in_level(db_session, warehouse.id, lot_id) == Decimal(400)
    trip = await trip_queries.trip_by_id(db_session, held.wholesale.trip_id)
    assert trip is not None and trip.booked_cases == 0 and trip.booked_kg == Decimal(0)
    assert await ordering.release_lapsed_hold(db_session, now=SUNDAY_NOON + timedelta(hours=25)) == []
    assert await ordering.release_freed_trip_room(db_session) == []  # its load came off once


def test_the_beat_sweeps_lapsed_credit_holds() -> None:
    from app.wholesale import tasks
    from app.worker import celery_app, configure_celery

    configure_celery(broker="memory://")
    schedule = celery_app.conf.beat_schedule["release-lapsed-credit-holds"]
    assert schedule["task"] == tasks.release_lapsed_credit_holds.name == "wholesale.release_lapsed_credit_holds"
    assert schedule["schedule"] <= 3600


async def test_a_prepaid_order_expired_unpaid_gives_its_truck_room_back(db_session: AsyncSession) -> None:
    from app.orders.expiry import expire_unpaid

    sausage = await supply_sku(db_session)
    ours = await buyer(db_session, terms=PaymentTerms.prepay, credit_limit_minor=0)
    placed = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=4)], address_id=ours.address.id
    )
    trip_id = placed.wholesale.trip_id
    assert await ordering.sweep(db_session) == []  # still waiting for its transfer

    assert await expire_unpaid(db_session, now=SUNDAY_NOON + timedelta(hours=49)) == [placed.order.number]
    assert await ordering.sweep(db_session) == [placed.order.number]
    assert await ordering.sweep(db_session) == []

    trip = await trip_queries.trip_by_id(db_session, trip_id)
    assert trip is not None and trip.booked_cases == 0 and trip.booked_kg == Decimal(0)


@pytest.mark.parametrize(("trip_status", "given_back"), [(TripStatus.loading, True), (TripStatus.dispatched, False)])
async def test_the_truck_room_sweep_reads_the_trips_that_have_not_left(
    db_session: AsyncSession, trip_status: TripStatus, given_back: bool
) -> None:
    """An order that ended while its trip loads gives its room back; once the truck has left there
    is no room to give back, and the sweep does not read it (it reads the trips still planned or
    loading: ``order_queries.ENDED_WITH_BOOKED_LOAD``)."""
    from app.orders.expiry import expire_unpaid

    sausage = await supply_sku(db_session)
    ours = await buyer(db_session, terms=PaymentTerms.prepay, credit_limit_minor=0)
    placed = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=4)], address_id=ours.address.id
    )
    trip_id = placed.wholesale.trip_id
    assert await expire_unpaid(db_session, now=SUNDAY_NOON + timedelta(hours=49)) == [placed.order.number]
    for before, after in ((TripStatus.planned, TripStatus.loading), (TripStatus.loading, trip_status)):
        if before is not after:
            moved = await trip_queries.set_status(
                db_session, trip_id, expected=before, new=after, actor_user_id=None, now=SUNDAY_NOON
            )
            assert moved

    assert await ordering.release_freed_trip_room(db_session) == ([placed.order.number] if given_back else [])
    trip = await trip_queries.trip_by_id(db_session, trip_id)
    assert trip is not None and trip.booked_cases == (0 if given_back else 4)
