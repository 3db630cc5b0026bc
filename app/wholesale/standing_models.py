"""A company's standing orders (每周重复订单): the same basket on the same weekday's trip every
week, placed as an ordinary wholesale order before each trip's cut-off, and one row per week it
was (or was not) placed."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin, TimestampMixin


class StandingOrder(IdMixin, TimestampMixin, Base):
    """The basket (``lines``: ``[{"sku": ..., "cases": n}]`` or ``{"sku", "quantity"}`` as
    ``ordering.BasketLine``), where it goes, on which weekday's trip (ISO 1 = Monday), placed on
    behalf of the buyer who made it. ``skipped_dates``: trip dates the buyer skipped (one week)."""

    __tablename__ = "wholesale_standing_orders"

    company_id: Mapped[int] = mapped_column(ForeignKey("buyer_companies.id"), nullable=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    delivery_address_id: Mapped[int] = mapped_column(ForeignKey("company_delivery_addresses.id"), nullable=False)
    weekday: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    skipped_dates: Mapped[list[date]] = mapped_column(ARRAY(Date), nullable=False, default=list)
    source_order_number: Mapped[str | None] = mapped_column(String(40))

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_iso"),
        Index("ix_wholesale_standing_orders_company", "company_id"),
    )


class OccurrenceStatus(StrEnum):
    placed = "placed"  # an order was placed (confirmed, held over credit or awaiting transfer)
    failed = "failed"  # placing was refused (stock, basket, company); the reason is kept
    skipped = "skipped"  # the buyer skipped that week

    @property
    def label_zh(self) -> str:
        return {"placed": "已下单", "failed": "未能下单", "skipped": "已跳过"}[self.value]


class StandingOccurrence(IdMixin, TimestampMixin, Base):
    """One week of a standing order: at most one per trip date (the unique key is what makes the
    generator idempotent, even when two workers run it at once)."""

    __tablename__ = "wholesale_standing_occurrences"

    standing_order_id: Mapped[int] = mapped_column(
        ForeignKey("wholesale_standing_orders.id", ondelete="CASCADE"), nullable=False
    )
    trip_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    order_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("orders.id"))
    order_number: Mapped[str | None] = mapped_column(String(40))
    total_minor: Mapped[int | None] = mapped_column(BigInteger)
    reason_zh: Mapped[str] = mapped_column(String(1000), nullable=False, default="")

    __table_args__ = (
        UniqueConstraint("standing_order_id", "trip_date", name="uq_wholesale_standing_occurrences_week"),
        CheckConstraint("status IN ('placed', 'failed', 'skipped')", name="status_known"),
    )
