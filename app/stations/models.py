from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.kit.models import Base, IdMixin, TimestampMixin, enum_column


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
    # Shelf layout: shelves × layers slots; a parcel scanned in goes to the least loaded slot.
    shelves: Mapped[int] = mapped_column(Integer, nullable=False, default=5, server_default="5")
    layers_per_shelf: Mapped[int] = mapped_column(Integer, nullable=False, default=4, server_default="4")


class DeliveryRoute(IdMixin, TimestampMixin, Base):
    """A delivery run's path (下行路线): an ordered list of stations from the county warehouse."""

    __tablename__ = "delivery_routes"

    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    stops: Mapped[list[RouteStop]] = relationship(lazy="raise", order_by="RouteStop.position")


class RouteStop(IdMixin, Base):
    __tablename__ = "route_stops"

    route_id: Mapped[int] = mapped_column(ForeignKey("delivery_routes.id", ondelete="CASCADE"), nullable=False)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), nullable=False, unique=True)
    position: Mapped[int] = mapped_column(Integer, nullable=False)

    __table_args__ = (UniqueConstraint("route_id", "position", name="uq_route_stops_route_position"),)


class RunStatus(StrEnum):
    packing = "packing"
    dispatched = "dispatched"


class DispatchRun(IdMixin, Base):
    """One day's run on one route: its parcels are packed, labelled, then dispatched together."""

    __tablename__ = "dispatch_runs"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("delivery_routes.id"), nullable=False)
    run_date: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[RunStatus] = mapped_column(
        enum_column(RunStatus, "run_status"), nullable=False, default=RunStatus.packing
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("route_id", "run_date", name="uq_dispatch_runs_route_date"),)


class ParcelStatus(StrEnum):
    packed = "packed"
    dispatched = "dispatched"
    at_station = "at_station"
    handed_over = "handed_over"
    returning = "returning"
    returned = "returned"

    @property
    def label_zh(self) -> str:
        return {
            "packed": "已打包",
            "dispatched": "运输中",
            "at_station": "在架待取",
            "handed_over": "已取件",
            "returning": "退回途中",
            "returned": "已退回仓库",
        }[self.value]


class Parcel(IdMixin, TimestampMixin, Base):
    """The box that carries one pickup order from the warehouse to its station's shelf."""

    __tablename__ = "parcels"

    tracking_number: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), nullable=False, index=True)
    route_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_routes.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("dispatch_runs.id"), index=True)
    status: Mapped[ParcelStatus] = mapped_column(enum_column(ParcelStatus, "parcel_status"), nullable=False)
    # Where it sits ("shelf-layer", e.g. 3-1): for the operator, not a secret.
    shelf_slot: Mapped[str | None] = mapped_column(String(10))
    # The random secret the customer proves at the counter (digits from ``secrets``, unique among
    # the parcels held at the station). Customers see it as "<slot>-<secret>"; staff views never show it.
    pickup_code: Mapped[str | None] = mapped_column(String(20))
    arrived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retention_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handed_over_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handed_over_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    collected_by_name: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    proxy_pickup: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    failed_code_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        # A pickup code identifies one parcel on one station's shelf while it is held there.
        Index(
            "uq_parcels_station_code_on_shelf",
            "station_id",
            "pickup_code",
            unique=True,
            postgresql_where=text("status = 'at_station'"),
        ),
        Index("ix_parcels_retention", "retention_until", postgresql_where=text("status = 'at_station'")),
        # The county dashboard: parcels to stations by day; people and villages served.
        Index("ix_parcels_arrived_at", "arrived_at"),
        Index("ix_parcels_handed_over_at", "handed_over_at"),
    )


class CaseKind(StrEnum):
    assist_farmer = "assist_farmer"  # 助农
    convenience = "convenience"  # 便民

    @property
    def label_zh(self) -> str:
        return {"assist_farmer": "助农", "convenience": "便民"}[self.value]


class ServiceCase(IdMixin, Base):
    """A 助农 or 便民 case a station records (with a note and a photo) for the county's reporting."""

    __tablename__ = "service_cases"

    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), nullable=False, index=True)
    kind: Mapped[CaseKind] = mapped_column(enum_column(CaseKind, "service_case_kind"), nullable=False)
    title: Mapped[str] = mapped_column(String(100), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    person_phone: Mapped[str | None] = mapped_column(String(20))  # who was served (counted, never shown)
    photo_path: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Consignment(IdMixin, Base):
    """Upstream (上行): produce a farmer brings to a station, received there as a lot and carried
    to the county warehouse."""

    __tablename__ = "upstream_consignments"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False, unique=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    weight_kg: Mapped[Decimal] = mapped_column(Numeric(12, 3), nullable=False)
    value_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        CheckConstraint("weight_kg > 0", name="weight_positive"),
        Index("ix_upstream_consignments_created_at", "created_at"),  # upward flow by day
    )


class StationCashRefund(IdMixin, Base):
    """Cash handed back at a station for an order paid there in cash (an approved after-sales claim,
    ``claims``): the station's till pays it, so its monthly figures show it. One row per refund."""

    __tablename__ = "station_cash_refunds"

    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"), nullable=False, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refunds.id"), nullable=False, unique=True)
    claim_id: Mapped[int | None] = mapped_column(ForeignKey("claims.id"))
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="cash_refund_positive"),
        Index("ix_station_cash_refunds_created_at", "created_at"),
    )
