"""The dashboard's daily summary tables: one row per China-time day (and channel), rebuilt for the
days something touched (``app.county.performance.refresh_figures``), so a 30-day or a quarter's
figures add up a few dozen small rows instead of scanning every order and payment.

Only additive figures live here (counts, amounts, kilograms): distinct counts (villages and people
served) cannot be added across days and are counted from the raw rows for the period asked.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, DateTime, Integer, Numeric, SmallInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base


class DailySales(Base):
    """Orders and net sales of one channel on one China-time day (see ``app.county.performance``
    for what counts): ``sales_minor`` in ``currency`` (CNY fen; USD cents for cross-border, whose
    orders are priced in USD), ``weight_kg`` the booked load of wholesale orders (0 elsewhere)."""

    __tablename__ = "county_daily_sales"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    orders: Mapped[int] = mapped_column(Integer, nullable=False)
    sales_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    weight_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3), nullable=False, default=Decimal(0))


class DailyFlows(Base):
    """Upward (上行) and downward (下行) flow of one China-time day."""

    __tablename__ = "county_daily_flows"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # Upstream consignments from village stations.
    station_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3), nullable=False)
    station_value_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    consignments: Mapped[int] = mapped_column(Integer, nullable=False)
    # Lots received from suppliers (not the lots upstream consignments create: counted above).
    supplier_kg: Mapped[Decimal] = mapped_column(Numeric(14, 3), nullable=False)
    supplier_value_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    lots: Mapped[int] = mapped_column(Integer, nullable=False)
    # Parcels scanned in at a village station.
    parcels: Mapped[int] = mapped_column(Integer, nullable=False)


class FiguresState(Base):
    """One row: up to when the summary tables are known to be complete (the refresh's watermark)."""

    __tablename__ = "county_figures_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    days_refreshed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
