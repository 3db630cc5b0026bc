from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Boolean, Numeric, String
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin, TimestampMixin


class Station(IdMixin, TimestampMixin, Base):
    """A village station: customers pick up orders here, farmers bring produce upstream."""

    __tablename__ = "stations"

    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    township: Mapped[str] = mapped_column(String(30), nullable=False, index=True)
    village: Mapped[str] = mapped_column(String(50), nullable=False)
    address: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    latitude: Mapped[Decimal] = mapped_column(Numeric(9, 6), nullable=False)
    longitude: Mapped[Decimal] = mapped_column(Numeric(9, 6), nullable=False)
    villages_served: Mapped[list[str]] = mapped_column(ARRAY(String(50)), nullable=False, default=list)
    opening_hours: Mapped[str] = mapped_column(String(100), nullable=False, default="08:00-20:00")
    shelf_capacity: Mapped[int] = mapped_column(nullable=False, default=120)
    retention_days: Mapped[int] = mapped_column(nullable=False, default=7)
    is_demonstration: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_open: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    phone: Mapped[str | None] = mapped_column(String(20))
