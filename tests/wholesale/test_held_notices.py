"""SMS to the buyer about an order held over the credit limit (rolled back per test): when it is
held, approved, or lapses, the buyer who placed it and the company's owner (once each) get a short
message with the order number, the amount and — while held — the deadline in China time; with no
phone on record the company's contact phone is told. Orders within the limit send none of these."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.notifications.models import NotificationMessage, NotificationStatus
from app.wholesale import ordering
from app.wholesale.ordering import BasketLine
from tests.fixtures.builders import make_user
from tests.fixtures.wholesale_orders import SUNDAY_NOON, Buyer, buyer, supply_sku
from tests.wholesale.helpers import as_principal

pytestmark = pytest.mark.usefixtures("sunday_noon", "guangzhou_route")

OWNER_PHONE, COLLEAGUE_PHONE = "+8613800138001", "+8613800138002"
WHOLESALE_TEMPLATES = ("wholesale_order_held", "wholesale_order_approved", "wholesale_hold_lapsed")


async def messages(session: AsyncSession, number: str) -> list[NotificationMessage]:
    rows = await session.scalars(
        select(NotificationMessage)
        .where(NotificationMessage.reference == number, NotificationMessage.template.in_(WHOLESALE_TEMPLATES))
        .order_by(NotificationMessage.id)
    )
    return list(rows)


async def with_colleague(session: AsyncSession, *, credit_limit_minor: int) -> tuple[Buyer, ordering.Principal]:
    ours = await buyer(session, credit_limit_minor=credit_limit_minor)
    ours.user.phone = OWNER_PHONE
    colleague = await make_user(session, Role.buyer, company=ours.company, phone=COLLEAGUE_PHONE)
    return ours, await as_principal(session, colleague)


async def test_held_then_approved_tells_the_buyer_and_the_owner(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=1000)  # ¥200.00 a case
    ours, colleague = await with_colleague(db_session, credit_limit_minor=10_000)
    admin = await as_principal(db_session, await make_user(db_session, Role.admin))

    held = await ordering.place_order(
        db_session, colleague, [BasketLine(sausage.sku, cases=3)], address_id=ours.address.id
    )

    sent = await messages(db_session, held.order.number)
    assert [(m.template, m.recipient) for m in sent] == [
        ("wholesale_order_held", COLLEAGUE_PHONE),  # who placed it first
        ("wholesale_order_held", OWNER_PHONE),
    ]
    # Noon Sunday + 24 h, in China time; the amount in yuan.
    assert sent[0].body == (
        f"【南岭明珠】订单{held.order.number}（¥600.00）待服务中心信用审批，保留至12月7日12:00，逾期自动取消。"
    )
    assert all(m.status is NotificationStatus.queued for m in sent)

    await ordering.approve_held_order(db_session, held.order.number, actor=admin)

    approved = (await messages(db_session, held.order.number))[2:]
    assert [(m.template, m.recipient) for m in approved] == [
        ("wholesale_order_approved", COLLEAGUE_PHONE),
        ("wholesale_order_approved", OWNER_PHONE),
    ]
    assert "已获服务中心审批确认，随周二（12月8日）的车次送货" in approved[0].body
    assert "¥600.00" in approved[0].body


async def test_a_lapsed_hold_tells_the_owner_once_when_the_owner_placed_it(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=1000)
    ours, _ = await with_colleague(db_session, credit_limit_minor=10_000)

    held = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id
    )
    assert await ordering.release_lapsed_hold(db_session, now=SUNDAY_NOON + timedelta(hours=24)) == [held.order.number]

    sent = await messages(db_session, held.order.number)
    # The owner placed it: one message each time, not two; the colleague is not told.
    assert [(m.template, m.recipient) for m in sent] == [
        ("wholesale_order_held", OWNER_PHONE),
        ("wholesale_hold_lapsed", OWNER_PHONE),
    ]
    assert sent[1].body == (
        f"【南岭明珠】订单{held.order.number}（¥200.00）信用审批未按时通过，已取消并释放库存车位；如需要请联系服务中心。"
    )
    # The sweep again: nothing lapses twice, nothing is sent twice.
    assert await ordering.release_lapsed_hold(db_session, now=SUNDAY_NOON + timedelta(hours=25)) == []
    assert len(await messages(db_session, held.order.number)) == 2


async def test_without_a_phone_on_record_the_company_contact_is_told(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=1000)
    ours = await buyer(db_session, credit_limit_minor=10_000)  # its owner has no phone
    ours.company.contact_phone = "13926010099"
    await db_session.flush()

    held = await ordering.place_order(
        db_session, ours.principal, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id
    )

    assert [m.recipient for m in await messages(db_session, held.order.number)] == ["+8613926010099"]


async def test_orders_within_the_limit_send_no_credit_notice(db_session: AsyncSession) -> None:
    sausage = await supply_sku(db_session, wholesale_minor=1000)
    ours, colleague = await with_colleague(db_session, credit_limit_minor=10_000_000)

    placed = await ordering.place_order(
        db_session, colleague, [BasketLine(sausage.sku, cases=1)], address_id=ours.address.id
    )

    assert await messages(db_session, placed.order.number) == []
