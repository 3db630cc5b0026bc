"""PRD delivery trips: the trucks that leave the county warehouse for the Pearl River Delta cities
on fixed weekdays with the wholesale orders.

A :class:`WholesaleRoute` is the timetable (which cities, which weekdays, the cut-off, the
vehicle); a :class:`WholesaleTrip` is one departure of it on one date. The trip copies the
vehicle's capacity, its cold chain and its cut-off instant when it is created, so editing a route
later never rewrites what a trip already promised its buyers. The booked kg / cases counters move
only by conditional UPDATEs (``app/wholesale/trip_queries.py``); the CHECK constraints make an
overbooked trip impossible even for code that forgets to ask.

These are not the county's village delivery routes (``app.stations.models.DeliveryRoute``): those
carry pickup parcels to village stations by van every day; these carry wholesale cases by truck.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin, TimestampMixin, enum_column
from app.kit.quantities import Quantity


class TripStatus(StrEnum):
    planned = "planned"  # taking bookings until its cut-off
    loading = "loading"  # the warehouse is picking and loading: no more bookings
    dispatched = "dispatched"  # the truck has left
    delivered = "delivered"
    cancelled = "cancelled"

    @property
    def label_zh(self) -> str:
        return {
            "planned": "待装车",
            "loading": "装车中",
            "dispatched": "已发车",
            "delivered": "已送达",
            "cancelled": "已取消",
        }[self.value]


class WholesaleRoute(IdMixin, TimestampMixin, Base):
    """A truck timetable from the county warehouse to one or more PRD cities (珠三角线路)."""

    __tablename__ = "wholesale_routes"

    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    origin_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    # City names without the 市 suffix (广州, 佛山), in the order the truck reaches them.
    cities: Mapped[list[str]] = mapped_column(ARRAY(String(20)), nullable=False)
    # ISO weekdays the truck leaves on: 1 = Monday … 7 = Sunday.
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), nullable=False)
    # Orders close at this China-time clock time, this many days before the departure date
    # (18:00 and 1: "18:00 the day before").
    cutoff_time: Mapped[time] = mapped_column(Time, nullable=False)
    cutoff_days_before: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    capacity_kg: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    capacity_cases: Mapped[int] = mapped_column(Integer, nullable=False)
    cold_chain: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    __table_args__ = (
        CheckConstraint("cardinality(cities) >= 1", name="has_cities"),
        CheckConstraint(
            "cardinality(weekdays) >= 1 AND weekdays <@ ARRAY[1,2,3,4,5,6,7]::smallint[]", name="weekdays_valid"
        ),
        CheckConstraint("cutoff_days_before BETWEEN 0 AND 6", name="cutoff_days_before_range"),
        CheckConstraint("capacity_kg > 0", name="capacity_kg_positive"),
        CheckConstraint("capacity_cases > 0", name="capacity_cases_positive"),
    )


class WholesaleTrip(IdMixin, TimestampMixin, Base):
    """One departure of a route on one date; made on demand, once (unique route and date)."""

    __tablename__ = "wholesale_trips"

    number: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("wholesale_routes.id"), nullable=False)
    departure_date: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    status: Mapped[TripStatus] = mapped_column(
        enum_column(TripStatus, "wholesale_trip_status"), nullable=False, default=TripStatus.planned
    )
    # Copied from the route when the trip is made: what this trip promised, whatever the route says later.
    cutoff_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    capacity_kg: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    capacity_cases: Mapped[int] = mapped_column(Integer, nullable=False)
    cold_chain: Mapped[bool] = mapped_column(Boolean, nullable=False)
    booked_kg: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    booked_cases: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint("route_id", "departure_date", name="uq_wholesale_trips_route_date"),
        CheckConstraint("booked_kg >= 0 AND booked_kg <= capacity_kg", name="booked_kg_within_capacity"),
        CheckConstraint("booked_cases >= 0 AND booked_cases <= capacity_cases", name="booked_cases_within_capacity"),
        # The trips that have not left: the truck-room sweep reads their orders
        # (``order_queries.ended_with_booked_load``; migration 0045).
        Index("ix_wholesale_trips_taking_load", "id", postgresql_where=text("status IN ('planned', 'loading')")),
    )
