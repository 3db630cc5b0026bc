"""Pre-sale waves, the orders placed against them, and the pay-at-pickup allowance per phone.

A wave owns one :class:`~app.orders.models.Capacity` (kind ``presale_wave``, cap = the wave's
quantity cap): orders take boxes from it, never stock, until the harvest is allocated to them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin, TimestampMixin, enum_column
from app.kit.quantities import Quantity


class WaveStatus(StrEnum):
    draft = "draft"  # being set up: not shown in the shop, no orders
    open = "open"  # shown and taking orders until its cut-off
    allocated = "allocated"  # the harvest was allocated to its orders (once)
    cancelled = "cancelled"  # weather, failed harvest: every order refunded or released (once)

    @property
    def label_zh(self) -> str:
        return WAVE_STATUS_ZH[self]


WAVE_STATUS_ZH = {
    WaveStatus.draft: "草稿",
    WaveStatus.open: "预订中",
    WaveStatus.allocated: "已分配到货",
    WaveStatus.cancelled: "已取消",
}


class Outcome(StrEnum):
    """What allocation (or the wave's cancellation) did to one pre-sale order."""

    waiting = "waiting"  # placed, not allocated yet
    filled = "filled"  # every box allocated
    partial = "partial"  # some boxes allocated, the rest refunded / no longer owed
    unfilled = "unfilled"  # none allocated: the order cancelled and refunded
    released = "released"  # the wave was cancelled, or the order was cancelled / expired before allocation


OUTCOME_ZH = {
    Outcome.waiting: "待到货",
    Outcome.filled: "全部配货",
    Outcome.partial: "部分配货",
    Outcome.unfilled: "未配到，已退款",
    Outcome.released: "已取消",
}


class Wave(IdMixin, TimestampMixin, Base):
    __tablename__ = "presale_waves"

    code: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False)
    capacity_id: Mapped[int] = mapped_column(ForeignKey("capacities.id"), nullable=False, unique=True)
    price_minor: Mapped[int] = mapped_column(Integer, nullable=False)  # per box, fen
    status: Mapped[WaveStatus] = mapped_column(
        enum_column(WaveStatus, "presale_wave_status"), nullable=False, default=WaveStatus.draft
    )
    cutoff_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    harvest_from: Mapped[date] = mapped_column(Date, nullable=False)
    harvest_to: Mapped[date] = mapped_column(Date, nullable=False)
    max_per_order: Mapped[int] = mapped_column(Integer, nullable=False, default=5)
    # Pay at pickup only if the centre allows it for this wave; then at most this many boxes per phone.
    pay_at_pickup: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    pickup_boxes_per_phone: Mapped[int] = mapped_column(Integer, nullable=False, default=2)
    cancel_reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    allocated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("price_minor > 0", name="wave_price_positive"),
        CheckConstraint("harvest_from <= harvest_to", name="wave_harvest_window"),
        CheckConstraint("max_per_order > 0", name="wave_max_per_order_positive"),
        CheckConstraint("pickup_boxes_per_phone > 0", name="wave_pickup_limit_positive"),
    )


class WaveOrder(IdMixin, Base):
    """One order placed against a wave (the order holds its place in the wave's capacity). Its
    ``outcome`` moves from ``waiting`` once, by compare-and-set: allocation and cancellation each
    settle an order exactly once."""

    __tablename__ = "presale_orders"

    wave_id: Mapped[int] = mapped_column(ForeignKey("presale_waves.id"), nullable=False, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), nullable=False)
    phone: Mapped[str] = mapped_column(String(20), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    filled: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    refund_minor: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    outcome: Mapped[Outcome] = mapped_column(
        enum_column(Outcome, "presale_outcome"), nullable=False, default=Outcome.waiting
    )
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("quantity > 0", name="presale_order_quantity_positive"),
        CheckConstraint("filled >= 0 AND filled <= quantity", name="presale_order_filled_within"),
    )


class PhoneAllowance(Base):
    """Boxes a phone number has ordered pay-at-pickup from one wave: raised only by a conditional
    upsert that keeps it within the wave's ``pickup_boxes_per_phone``, so concurrent orders from
    one number can never pass the limit."""

    __tablename__ = "presale_phone_allowances"

    wave_id: Mapped[int] = mapped_column(ForeignKey("presale_waves.id"), primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    boxes: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (CheckConstraint("boxes >= 0", name="presale_allowance_not_negative"),)
