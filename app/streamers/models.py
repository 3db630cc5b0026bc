"""Live-stream sellers (主播), their commission rules, and which seller an order is attributed to.

Commission rates are basis points (1 bp = 0.01 %); money stays integer fen on the orders."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin


class AttributionVia(StrEnum):
    code = "code"  # the referral code typed at checkout / sent with the order
    link = "link"  # the first-touch cookie set by the seller's link /s/{code}


class Seller(IdMixin, Base):
    __tablename__ = "streamer_sellers"

    name: Mapped[str] = mapped_column(String(50), nullable=False)
    phone: Mapped[str | None] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(12), nullable=False, unique=True)
    commission_bps: Mapped[int] = mapped_column(Integer, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The streamer's sign-in (role ``streamer``), at most one seller per user.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (CheckConstraint("commission_bps BETWEEN 0 AND 10000", name="bps_in_range"),)


class ProductRule(IdMixin, Base):
    """A product's own rate for one seller: overrides the seller's default on that product's lines."""

    __tablename__ = "streamer_product_rules"

    seller_id: Mapped[int] = mapped_column(ForeignKey("streamer_sellers.id", ondelete="CASCADE"), nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), nullable=False)
    commission_bps: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (
        UniqueConstraint("seller_id", "product_id"),
        CheckConstraint("commission_bps BETWEEN 0 AND 10000", name="rule_bps_in_range"),
    )


class OrderAttribution(IdMixin, Base):
    """One seller per order (``order_id`` unique), written in the order's own unit of work."""

    __tablename__ = "order_attributions"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, unique=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("streamer_sellers.id"), nullable=False, index=True)
    via: Mapped[str] = mapped_column(String(10), nullable=False)
    # When the buyer met the seller: the link's first touch, or the order's time for a typed code.
    touched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

    __table_args__ = (CheckConstraint("via IN ('code', 'link')", name="via_known"),)
