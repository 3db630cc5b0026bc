"""Farm-event tickets through the services, in one rolled-back transaction per test: pricing and
ticket issue, check-in once only (online), offline duplicates flagged on sync, the cancellation
deadline, the centre cancelling an event, and the plan's agritourism target."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.county import targets
from app.county.models import Target, TargetMetric
from app.events import checkin, errors, repository
from app.events.models import CheckIn, Ticket
from app.kit import clock
from app.notifications.models import NotificationMessage
from app.orders.models import Capacity, DeliveryMethod, Order, OrderStatus, Refund
from tests.events.builders import ADULT, CHILD, Setup, buy, make_event, pay
from tests.fixtures.builders import make_station


async def _used(session: AsyncSession, capacity_id: int) -> Decimal:
    capacity = await session.get(Capacity, capacity_id, populate_existing=True)
    assert capacity is not None
    return capacity.used


async def _tickets(session: AsyncSession, order_id: int) -> list[Ticket]:
    return await repository.tickets_of_order(session, order_id)


async def test_an_order_is_priced_by_the_event_and_issues_one_ticket_per_person(db_session: AsyncSession) -> None:
    setup = await make_event(db_session)
    order = await buy(db_session, setup, adults=2, children=1)
    assert order.total_minor == 2 * ADULT + CHILD
    assert order.delivery_method is DeliveryMethod.none
    assert order.station_id is None and order.reservation_reference is None
    assert order.status is OrderStatus.pending_payment
    assert [(line.sku, int(line.quantity)) for line in order.lines] == [("EVENT-ADULT", 2), ("EVENT-CHILD", 1)]
    tickets = await _tickets(db_session, order.id)
    assert sorted(t.kind for t in tickets) == ["adult", "adult", "child"]
    assert len({t.token for t in tickets}) == 3 and all(len(t.token) >= 22 for t in tickets)
    assert await _used(db_session, setup.slot.capacity_id) == 3

    with pytest.raises(errors.NoTicketsChosen):
        await buy(db_session, setup, adults=0, children=0)


async def test_a_ticket_is_checked_in_once_and_the_second_scan_is_refused(db_session: AsyncSession) -> None:
    setup = await make_event(db_session, starts_in=timedelta(hours=1))  # check-in opens 2 h before
    order = await buy(db_session, setup, adults=1)
    token = (await _tickets(db_session, order.id))[0].token

    # Unpaid: not a valid ticket yet.
    with pytest.raises(errors.TicketNotValid):
        await checkin.check_in_online(
            db_session, scanned=checkin.qr_content(token), station_id=setup.station.id, operator_id=1, device="t"
        )
    await pay(db_session, order)
    assert order.status is OrderStatus.confirmed
    # The paid notice of a ticket order speaks of tickets and links the order page (its QRs).
    sent = await db_session.scalar(
        select(NotificationMessage)
        .where(NotificationMessage.reference == order.number)
        .order_by(NotificationMessage.id.desc())
    )
    assert sent is not None and sent.template == "tickets_paid" and "门票已出票" in sent.body

    from app.accounts.models import Role
    from tests.fixtures.builders import make_user

    operator = await make_user(db_session, Role.station_operator, station_id=setup.station.id)
    other_station = await make_station(db_session)
    with pytest.raises(errors.TicketWrongStation):
        await checkin.check_in_online(
            db_session,
            scanned=checkin.qr_content(token),
            station_id=other_station.id,
            operator_id=operator.id,
            device="t",
        )

    admitted = await checkin.check_in_online(
        db_session,
        scanned=checkin.qr_content(token),
        station_id=setup.station.id,
        operator_id=operator.id,
        device="PDA 1",
    )
    assert admitted.order_number == order.number and admitted.kind_zh == "成人票"
    with pytest.raises(errors.TicketAlreadyCheckedIn) as second:
        await checkin.check_in_online(
            db_session,
            scanned=checkin.qr_content(token),
            station_id=setup.station.id,
            operator_id=operator.id,
            device="PDA 2",
        )
    assert second.value.status_code == 409
    ticket = (await _tickets(db_session, order.id))[0]
    await db_session.refresh(ticket)
    assert ticket.checked_in_at == admitted.checked_in_at and ticket.checked_in_device == "PDA 1"
    with pytest.raises(errors.TicketNotFound):
        await checkin.check_in_online(
            db_session, scanned="NPT-not-a-ticket-at-all-xx", station_id=None, operator_id=operator.id, device="t"
        )


async def test_offline_check_ins_of_one_ticket_on_two_devices_count_once_and_flag_the_later(
    db_session: AsyncSession,
) -> None:
    from app.accounts.models import Role
    from tests.fixtures.builders import make_user

    setup = await make_event(db_session, starts_in=timedelta(hours=1))  # check-in opens 2 h before
    order = await buy(db_session, setup, adults=2)
    await pay(db_session, order)
    first, second = await _tickets(db_session, order.id)
    operator = await make_user(db_session, Role.station_operator, station_id=setup.station.id)
    now = clock.now()

    def scan(client_id: str, token: str, minutes_ago: int) -> checkin.OfflineScan:
        return checkin.OfflineScan(client_id, checkin.qr_content(token), now - timedelta(minutes=minutes_ago))

    batch_a = [scan("a-1", first.token, 30), scan("a-2", second.token, 29)]
    results_a = await checkin.sync_offline(
        db_session, device_id="PDA-A", station_id=setup.station.id, operator_id=operator.id, scans=batch_a
    )
    assert [r.outcome for r in results_a] == ["counted", "counted"]
    # Device B scanned the first ticket too while both were offline; it syncs later.
    results_b = await checkin.sync_offline(
        db_session,
        device_id="PDA-B",
        station_id=setup.station.id,
        operator_id=operator.id,
        scans=[scan("b-1", first.token, 25)],
    )
    assert [r.outcome for r in results_b] == ["duplicate"]
    assert "PDA-A" in results_b[0].message_zh
    # The first upload sent again (its answer was lost): the same outcomes, nothing recorded twice.
    again = await checkin.sync_offline(
        db_session, device_id="PDA-A", station_id=setup.station.id, operator_id=operator.id, scans=batch_a
    )
    assert [r.outcome for r in again] == ["counted", "counted"]
    rows = await db_session.scalar(select(func.count()).select_from(CheckIn).where(CheckIn.event_id == setup.event.id))
    assert rows == 3
    attended = await db_session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.event_id == setup.event.id, Ticket.checked_in_at.is_not(None))
    )
    assert attended == 2
    duplicates = await repository.duplicates(db_session, setup.event.id)
    assert [(d.device_id, d.client_id) for d in duplicates] == [(f"{setup.station.id}/PDA-B", "b-1")]
    # The ticket keeps the first device's scan time.
    await db_session.refresh(first)
    assert first.checked_in_at == now - timedelta(minutes=30) and first.checked_in_device == f"{setup.station.id}/PDA-A"
    # Online, the same ticket is refused too.
    with pytest.raises(errors.TicketAlreadyCheckedIn):
        await checkin.check_in_online(
            db_session, scanned=first.token, station_id=setup.station.id, operator_id=operator.id, device="t"
        )


async def test_a_cancellation_past_the_deadline_is_refused_and_changes_nothing(db_session: AsyncSession) -> None:
    setup = await make_event(db_session, starts_in=timedelta(hours=30), cancel_hours=24)
    order = await buy(db_session, setup, adults=2)
    await pay(db_session, order)
    from app.events import service

    with clock.pinned(clock.now() + timedelta(hours=7)):  # 23 h before the start: past the 24 h rule
        with pytest.raises(errors.CancellationTooLate) as refused:
            await service.cancel_tickets(db_session, order, actor_user_id=None)
    assert refused.value.status_code == 409
    await db_session.refresh(order)
    assert order.status is OrderStatus.confirmed and order.refunded_minor == 0
    assert await _used(db_session, setup.slot.capacity_id) == 2
    refunds = await db_session.scalar(select(func.count()).select_from(Refund).where(Refund.order_id == order.id))
    assert refunds == 0


async def test_a_cancellation_before_the_deadline_refunds_in_full_and_gives_the_places_back_once(
    db_session: AsyncSession,
) -> None:
    from app.events import service
    from app.orders import errors as order_errors
    from app.orders import service as orders

    setup = await make_event(db_session, starts_in=timedelta(hours=30), cancel_hours=24)
    order = await buy(db_session, setup, adults=1, children=1)
    await pay(db_session, order)
    # The orders' own cancel path refuses a ticket order: the deadline is the events domain's rule.
    with pytest.raises(order_errors.TransitionNotAllowed):
        await orders.cancel(db_session, order, reason="x", actor_user_id=None)
    order = await service.cancel_tickets(db_session, order, actor_user_id=None)
    assert order.status is OrderStatus.cancelled
    refunds = list(await db_session.scalars(select(Refund).where(Refund.order_id == order.id)))
    assert [r.amount_minor for r in refunds] == [ADULT + CHILD]
    assert await _used(db_session, setup.slot.capacity_id) == 0
    with pytest.raises(order_errors.TransitionNotAllowed):
        await service.cancel_tickets(db_session, order, actor_user_id=None)
    assert await _used(db_session, setup.slot.capacity_id) == 0
    assert await db_session.scalar(select(func.count()).select_from(Refund).where(Refund.order_id == order.id)) == 1


async def test_the_centre_cancelling_an_event_refunds_every_paid_order_once(db_session: AsyncSession) -> None:
    from app.events import service

    setup = await make_event(db_session)
    paid = await buy(db_session, setup, adults=2)
    await pay(db_session, paid)
    unpaid = await buy(db_session, setup, adults=1)
    assert await service.cancel_event(db_session, setup.event.id, reason="暴雨", actor_user_id=None) == 2
    with pytest.raises(errors.EventAlreadyCancelled):
        await service.cancel_event(db_session, setup.event.id, reason="暴雨", actor_user_id=None)
    for order in (paid, unpaid):
        await db_session.refresh(order)
        assert order.status is OrderStatus.cancelled
    refunds = list(await db_session.scalars(select(Refund).where(Refund.order_id.in_([paid.id, unpaid.id]))))
    assert [(r.order_id, r.amount_minor) for r in refunds] == [(paid.id, 2 * ADULT)]
    assert await _used(db_session, setup.slot.capacity_id) == 0
    with pytest.raises(errors.SlotNotOnSale):
        await buy(db_session, setup)


async def test_the_agritourism_target_counts_events_with_a_check_in(db_session: AsyncSession) -> None:
    held = await make_event(db_session, starts_in=timedelta(hours=-2))  # started two hours ago
    order = await buy_started(db_session, held)
    await pay(db_session, order)
    await make_event(db_session, starts_in=timedelta(hours=-1))  # nobody came: not counted
    token = (await _tickets(db_session, order.id))[0].token
    await checkin.check_in_online(
        db_session, scanned=token, station_id=None, operator_id=await _admin(db_session), device="t"
    )
    today = clock.today()
    target = Target(
        code=f"agri-{order.id}",
        section="三(四)3",
        title="农旅结合活动",
        unit="场",
        planned=2,
        period_start=today - timedelta(days=30),
        period_end=today + timedelta(days=30),
        metric=TargetMetric.agritourism_events,
        position=99,
        note="",
    )
    db_session.add(target)
    await db_session.flush()
    assert await targets.measure(db_session, target, today) == 1
    target.period_end = date(2021, 12, 31)
    target.period_start = date(2021, 11, 1)
    assert await targets.measure(db_session, target, today) == 0


async def buy_started(db_session: AsyncSession, setup: Setup) -> Order:
    """Tickets of a slot already under way are not on sale: write them as bought the day before."""
    with clock.pinned(clock.now() - timedelta(days=1)):
        return await buy(db_session, setup)


async def _admin(db_session: AsyncSession) -> int:
    from app.accounts.models import Role
    from tests.fixtures.builders import make_user

    return (await make_user(db_session, Role.admin)).id


async def test_a_paid_ticket_order_waiting_for_its_event_is_not_a_stuck_order(db_session: AsyncSession) -> None:
    from app.county import dashboard

    setup = await make_event(db_session, starts_in=timedelta(days=10))
    paid = await buy(db_session, setup, adults=1)
    await pay(db_session, paid)
    unpaid = await buy(db_session, setup, adults=1)
    found = await dashboard.attention(db_session, now=clock.now() + timedelta(days=3))
    numbers = {row["number"] for row in found["stuck_orders"].rows}
    assert unpaid.number in numbers  # still waiting for its money after three days: stuck
    assert paid.number not in numbers  # confirmed and waiting for the event, not for packing


async def test_a_ticket_is_admitted_only_around_its_own_slot(db_session: AsyncSession) -> None:
    """From 2 hours before its slot starts until it ends; another day (online or an offline scan
    made then) is refused with ``ticket_not_for_now`` and nothing is checked in."""
    from app.accounts.models import Role
    from tests.fixtures.builders import make_user

    setup = await make_event(db_session, starts_in=timedelta(days=1))
    order = await buy(db_session, setup, adults=2)
    await pay(db_session, order)
    first, second = await _tickets(db_session, order.id)
    operator = await make_user(db_session, Role.station_operator, station_id=setup.station.id)

    async def online(token: str) -> checkin.Admitted:
        return await checkin.check_in_online(
            db_session,
            scanned=checkin.qr_content(token),
            station_id=setup.station.id,
            operator_id=operator.id,
            device="t",
        )

    with pytest.raises(errors.TicketNotForNow):
        await online(first.token)  # a day early
    with clock.pinned(setup.slot.starts_at - timedelta(hours=2, minutes=1)), pytest.raises(errors.TicketNotForNow):
        await online(first.token)
    with clock.pinned(setup.slot.ends_at + timedelta(minutes=1)), pytest.raises(errors.TicketNotForNow):
        await online(first.token)
    with clock.pinned(setup.slot.ends_at + timedelta(hours=1)):
        # Uploaded after the slot, scanned a day before it: refused; scanned during it: counted.
        results = await checkin.sync_offline(
            db_session,
            device_id="PDA-A",
            station_id=setup.station.id,
            operator_id=operator.id,
            scans=[
                checkin.OfflineScan("a", checkin.qr_content(second.token), setup.slot.starts_at - timedelta(days=1)),
                checkin.OfflineScan("b", checkin.qr_content(first.token), setup.slot.starts_at + timedelta(hours=1)),
            ],
        )
    assert [(r.client_id, r.outcome) for r in results] == [("a", "refused"), ("b", "counted")]
    assert "开始前 2 小时" in results[0].message_zh
    with clock.pinned(setup.slot.starts_at - timedelta(hours=2)):
        assert (await online(second.token)).ticket.id == second.id
