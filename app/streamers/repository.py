"""All SQL of live-stream sellers: sellers, product rules, attributions and the statement's rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Product, Variant
from app.orders.models import Order, OrderEvent, OrderLine, OrderStatus, Payment, PaymentState
from app.streamers.models import OrderAttribution, ProductRule, Seller


async def seller(session: AsyncSession, seller_id: int) -> Seller | None:
    return await session.get(Seller, seller_id)


async def seller_by_code(session: AsyncSession, code: str) -> Seller | None:
    return await session.scalar(select(Seller).where(Seller.code == code))


async def seller_of_user(session: AsyncSession, user_id: int) -> Seller | None:
    return await session.scalar(select(Seller).where(Seller.user_id == user_id))


async def sellers(session: AsyncSession) -> list[Seller]:
    return list((await session.scalars(select(Seller).order_by(Seller.active.desc(), Seller.id))).all())


async def code_taken(session: AsyncSession, code: str) -> bool:
    return (await session.scalar(select(Seller.id).where(Seller.code == code))) is not None


async def user_linked_elsewhere(session: AsyncSession, user_id: int, seller_id: int | None) -> bool:
    query = select(Seller.id).where(Seller.user_id == user_id)
    if seller_id is not None:
        query = query.where(Seller.id != seller_id)
    return (await session.scalar(query)) is not None


@dataclass(frozen=True)
class RuleRow:
    product_id: int
    product_name: str
    commission_bps: int


async def rules(session: AsyncSession, seller_id: int) -> list[RuleRow]:
    rows = await session.execute(
        select(ProductRule.product_id, Product.name_zh, ProductRule.commission_bps)
        .join(Product, Product.id == ProductRule.product_id)
        .where(ProductRule.seller_id == seller_id)
        .order_by(Product.name_zh, Product.id)
    )
    return [RuleRow(pid, name, bps) for pid, name, bps in rows.all()]


async def upsert_rule(session: AsyncSession, seller_id: int, product_id: int, bps: int) -> None:
    statement = insert(ProductRule).values(seller_id=seller_id, product_id=product_id, commission_bps=bps)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["seller_id", "product_id"], set_={"commission_bps": statement.excluded.commission_bps}
        )
    )


async def delete_rule(session: AsyncSession, seller_id: int, product_id: int) -> None:
    rule = await session.scalar(
        select(ProductRule).where(ProductRule.seller_id == seller_id, ProductRule.product_id == product_id)
    )
    if rule is not None:
        await session.delete(rule)


async def product_exists(session: AsyncSession, product_id: int) -> bool:
    return (await session.scalar(select(Product.id).where(Product.id == product_id))) is not None


async def products(session: AsyncSession) -> list[tuple[int, str]]:
    rows = await session.execute(select(Product.id, Product.name_zh).order_by(Product.name_zh, Product.id))
    return [(pid, name) for pid, name in rows.all()]


async def attribution_of(session: AsyncSession, order_id: int) -> OrderAttribution | None:
    return await session.scalar(select(OrderAttribution).where(OrderAttribution.order_id == order_id))


@dataclass(frozen=True)
class StatementLine:
    order_id: int
    number: str
    status: OrderStatus
    paid_minor: int
    refunded_minor: int
    total_minor: int
    paid_at: datetime
    completed_at: datetime | None
    product_id: int
    line_total_minor: int
    rule_bps: int | None


async def statement_lines(session: AsyncSession, seller_id: int, start: datetime, end: datetime) -> list[StatementLine]:
    """Lines of the seller's attributed orders first paid in ``[start, end)``, with each line's
    product rule (None: the seller's default) and the order's completion time if any."""
    rows = await session.execute(statement_lines_query(seller_id, start, end))
    return [StatementLine(*row) for row in rows.all()]


def statement_lines_query(seller_id: int, start: datetime, end: datetime) -> Select[Any]:
    """The statement of :func:`statement_lines`. The first payment and the completion of each
    order are grouped over the seller's orders only: PostgreSQL does not carry the outer query's
    seller into a grouped subquery, so grouped over every payment and every order event they read
    the whole platform's history for one seller's month."""
    sellers_orders = select(OrderAttribution.order_id).where(OrderAttribution.seller_id == seller_id)
    paid_at = (
        select(Payment.order_id, func.min(Payment.succeeded_at).label("paid_at"))
        .where(
            Payment.order_id.in_(sellers_orders),
            Payment.state == PaymentState.succeeded,
            Payment.succeeded_at.is_not(None),
        )
        .group_by(Payment.order_id)
        .subquery()
    )
    completed_at = (
        select(OrderEvent.order_id, func.min(OrderEvent.created_at).label("completed_at"))
        .where(OrderEvent.order_id.in_(sellers_orders), OrderEvent.to_status == OrderStatus.completed.value)
        .group_by(OrderEvent.order_id)
        .subquery()
    )
    return (
        select(
            Order.id,
            Order.number,
            Order.status,
            Order.paid_minor,
            Order.refunded_minor,
            Order.total_minor,
            paid_at.c.paid_at,
            completed_at.c.completed_at,
            Variant.product_id,
            OrderLine.line_total_minor,
            ProductRule.commission_bps,
        )
        .join(OrderAttribution, OrderAttribution.order_id == Order.id)
        .join(paid_at, paid_at.c.order_id == Order.id)
        .outerjoin(completed_at, completed_at.c.order_id == Order.id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Variant, Variant.id == OrderLine.variant_id)
        .outerjoin(ProductRule, (ProductRule.seller_id == seller_id) & (ProductRule.product_id == Variant.product_id))
        .where(OrderAttribution.seller_id == seller_id, paid_at.c.paid_at >= start, paid_at.c.paid_at < end)
        .order_by(paid_at.c.paid_at, Order.id, OrderLine.id)
    )


async def paid_months(session: AsyncSession, seller_id: int, tz: str) -> list[str]:
    """The China-time months (YYYY-MM) in which the seller's attributed orders were first paid."""
    first_paid = (
        select(func.min(Payment.succeeded_at).label("paid_at"))
        .join(OrderAttribution, OrderAttribution.order_id == Payment.order_id)
        .where(OrderAttribution.seller_id == seller_id, Payment.state == PaymentState.succeeded)
        .group_by(Payment.order_id)
        .subquery()
    )
    month = func.to_char(func.timezone(tz, first_paid.c.paid_at), "YYYY-MM")
    rows = await session.scalars(
        select(month).where(first_paid.c.paid_at.is_not(None)).group_by(month).order_by(month.desc())
    )
    return list(rows.all())


async def streamer_users(session: AsyncSession) -> list[tuple[int, str]]:
    """Sign-ins with the ``streamer`` role, for linking one to a seller."""
    from app.accounts.models import Role, User

    rows = await session.execute(
        select(User.id, User.username).where(User.role == Role.streamer).order_by(User.username)
    )
    return [(uid, name) for uid, name in rows.all()]
