from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.kit.models import Base, IdMixin, TimestampMixin, enum_column
from app.kit.quantities import Quantity


class SupplierKind(StrEnum):
    cooperative = "cooperative"
    farm = "farm"
    growing_base = "growing_base"
    processor = "processor"
    household = "household"

    @property
    def label_zh(self) -> str:
        return {
            "cooperative": "专业合作社",
            "farm": "家庭农场",
            "growing_base": "种植基地",
            "processor": "加工企业",
            "household": "农户",
        }[self.value]


class Supplier(IdMixin, TimestampMixin, Base):
    """Who grew or made the produce: co-operatives, farms, growing bases, processors, households."""

    __tablename__ = "suppliers"

    code: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[SupplierKind] = mapped_column(enum_column(SupplierKind, "supplier_kind"), nullable=False)
    township: Mapped[str] = mapped_column(String(30), nullable=False)
    village: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    contact_name: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    # [{"type": "green_food", "name": "绿色食品", "number": "LB-..."}]
    certifications: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, nullable=False, default=list)


class SupplierProduct(Base):
    """A supplier registered as a grower (or maker) of a product: what the supplier produces.

    Per product, not per SKU (a grower of loquats grows every grade and pack of them) and not per
    category (the loquat co-operative shares "时令鲜果" with the bayberry base, yet grows no
    bayberries). A lot is received only from a registered grower of its product, unless a warehouse
    user records an exception on the lot (``Lot.grower_exception_reason``): the trace page then
    names the supplier as the source, not as the producer.
    """

    __tablename__ = "supplier_products"

    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class LocationKind(StrEnum):
    warehouse = "warehouse"
    store = "store"
    station = "station"
    in_transit = "in_transit"

    @property
    def label_zh(self) -> str:
        return {"warehouse": "县级仓库", "store": "门店", "station": "村站", "in_transit": "在途"}[self.value]


class Location(IdMixin, TimestampMixin, Base):
    """Where stock is: the county warehouse, each brand store, each village station, in transit."""

    __tablename__ = "locations"

    code: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    kind: Mapped[LocationKind] = mapped_column(enum_column(LocationKind, "location_kind"), nullable=False)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), unique=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class LotOrigin(StrEnum):
    receipt = "receipt"
    upstream = "upstream"


class Lot(IdMixin, TimestampMixin, Base):
    """A harvest lot: produce enters stock only as a lot, and every box traces back to it."""

    __tablename__ = "lots"

    code: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False, index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"), nullable=False, index=True)
    harvest_date: Mapped[date] = mapped_column(Date, nullable=False)
    best_before: Mapped[date] = mapped_column(Date, nullable=False, index=True)
    grade: Mapped[str] = mapped_column(String(30), nullable=False, default="")
    certificate_no: Mapped[str] = mapped_column(String(60), nullable=False, default="")
    quality_notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
    quantity_received: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    origin: Mapped[LotOrigin] = mapped_column(
        enum_column(LotOrigin, "lot_origin"), nullable=False, default=LotOrigin.receipt
    )
    received_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Set when the supplier is not a registered grower of the product and a warehouse user took the
    # lot in anyway (a dealer, produce collected for someone else): why, and who confirmed it (the
    # service requires one; lots received before growers were registered have none). NULL: the
    # supplier grew it.
    grower_exception_reason: Mapped[str | None] = mapped_column(String(200))
    grower_exception_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What the centre paid the supplier per unit of the variant, in fen (optional at receiving):
    # the value of the county's upward flow (上行) counts this times the quantity received. NULL:
    # not recorded (the lot then adds its kilograms but no value).
    purchase_price_minor: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        CheckConstraint("best_before >= harvest_date", name="best_before_after_harvest"),
        CheckConstraint(
            "purchase_price_minor IS NULL OR purchase_price_minor >= 0", name="purchase_price_not_negative"
        ),
        CheckConstraint("quantity_received > 0", name="quantity_received_positive"),
        Index("ix_lots_created_at", "created_at"),  # upward flow by day (the county dashboard)
        CheckConstraint(
            "grower_exception_reason IS NULL OR btrim(grower_exception_reason) <> ''", name="grower_exception_reason"
        ),
    )

    @property
    def supplier_grew_it(self) -> bool:
        return self.grower_exception_reason is None


class StockLevel(IdMixin, Base):
    """On hand and reserved of one lot at one location. ``variant_id`` and ``best_before`` are
    copied from the lot so that FEFO allocation reads one table in one index order."""

    __tablename__ = "stock_levels"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False, index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False)
    best_before: Mapped[date] = mapped_column(Date, nullable=False)
    on_hand: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))

    __table_args__ = (
        UniqueConstraint("location_id", "lot_id", name="uq_stock_levels_location_lot"),
        CheckConstraint("reserved >= 0", name="reserved_non_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        Index("ix_stock_levels_fefo", "variant_id", "location_id", "best_before", "id"),
    )


class LedgerKind(StrEnum):
    receipt = "receipt"
    reservation = "reservation"
    release = "release"
    sale = "sale"
    transfer_out = "transfer_out"
    transfer_in = "transfer_in"
    adjustment = "adjustment"
    spoilage = "spoilage"
    return_ = "return"
    stock_count = "count"

    @property
    def label_zh(self) -> str:
        return LEDGER_LABELS_ZH[self]


LEDGER_LABELS_ZH = {
    LedgerKind.receipt: "入库",
    LedgerKind.reservation: "预留",
    LedgerKind.release: "释放预留",
    LedgerKind.sale: "销售出库",
    LedgerKind.transfer_out: "调出",
    LedgerKind.transfer_in: "调入",
    LedgerKind.adjustment: "调整",
    LedgerKind.spoilage: "损耗",
    LedgerKind.return_: "退货入库",
    LedgerKind.stock_count: "盘点差异",
}


class StockLedgerEntry(IdMixin, Base):
    """Every stock change, append-only: levels can be rebuilt by summing these deltas."""

    __tablename__ = "stock_ledger"

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    kind: Mapped[LedgerKind] = mapped_column(enum_column(LedgerKind, "ledger_kind"), nullable=False)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False, index=True)
    on_hand_delta: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    reserved_delta: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    document_type: Mapped[str] = mapped_column(String(30), nullable=False)
    document_ref: Mapped[str] = mapped_column(String(60), nullable=False)
    channel: Mapped[str | None] = mapped_column(String(20))

    __table_args__ = (
        Index("ix_stock_ledger_variant_created", "variant_id", "created_at"),
        Index("ix_stock_ledger_document", "document_type", "document_ref"),
    )


class ReservationStatus(StrEnum):
    active = "active"
    released = "released"
    expired = "expired"
    converted = "converted"


class Reservation(IdMixin, Base):
    """Stock held for a document (an order, a manual hold) until it is sold, released or expires."""

    __tablename__ = "reservations"

    reference: Mapped[str] = mapped_column(String(60), nullable=False, unique=True)
    channel: Mapped[str] = mapped_column(String(20), nullable=False)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    status: Mapped[ReservationStatus] = mapped_column(
        enum_column(ReservationStatus, "reservation_status"), nullable=False, default=ReservationStatus.active
    )
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lines: Mapped[list[ReservationLine]] = relationship(lazy="raise", order_by="ReservationLine.id")

    __table_args__ = (
        # The expiry task scans only live reservations, oldest deadline first.
        Index("ix_reservations_active_expiry", "expires_at", postgresql_where=text("status = 'active'")),
    )


class ReservationLine(IdMixin, Base):
    __tablename__ = "reservation_lines"

    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id"), nullable=False, index=True)
    stock_level_id: Mapped[int] = mapped_column(ForeignKey("stock_levels.id"), nullable=False)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)


class TransferStatus(StrEnum):
    in_transit = "in_transit"
    received = "received"


class Transfer(IdMixin, Base):
    """Stock moving between locations: shipped (leaves, goes in transit), then received."""

    __tablename__ = "transfers"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    from_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    to_location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    status: Mapped[TransferStatus] = mapped_column(enum_column(TransferStatus, "transfer_status"), nullable=False)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    shipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    shipped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lines: Mapped[list[TransferLine]] = relationship(lazy="raise", order_by="TransferLine.id")

    __table_args__ = (CheckConstraint("from_location_id <> to_location_id", name="distinct_locations"),)


class TransferLine(IdMixin, Base):
    __tablename__ = "transfer_lines"

    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), nullable=False, index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False)
    quantity_shipped: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    quantity_received: Mapped[Decimal | None] = mapped_column(Quantity)
    difference_reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    __table_args__ = (
        CheckConstraint("quantity_shipped > 0", name="shipped_positive"),
        CheckConstraint("quantity_received IS NULL OR quantity_received >= 0", name="received_non_negative"),
    )


class StockCountStatus(StrEnum):
    open = "open"
    posted = "posted"


class StockCount(IdMixin, Base):
    """A count sheet for one location: expected quantities frozen when it opens, counted ones
    entered, and the differences posted to the ledger in one go."""

    __tablename__ = "stock_counts"

    number: Mapped[str] = mapped_column(String(30), nullable=False, unique=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    status: Mapped[StockCountStatus] = mapped_column(
        enum_column(StockCountStatus, "stock_count_status"), nullable=False, default=StockCountStatus.open
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    posted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    lines: Mapped[list[StockCountLine]] = relationship(lazy="raise", order_by="StockCountLine.id")


class StockCountLine(IdMixin, Base):
    __tablename__ = "stock_count_lines"

    count_id: Mapped[int] = mapped_column(ForeignKey("stock_counts.id"), nullable=False, index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), nullable=False)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False)
    expected: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    counted: Mapped[Decimal | None] = mapped_column(Quantity)
    # What the books said when the counted figure was entered: the difference posted is
    # counted − book_at_count, so sales between counting and posting are not corrected twice.
    book_at_count: Mapped[Decimal | None] = mapped_column(Quantity)

    __table_args__ = (
        UniqueConstraint("count_id", "lot_id", name="uq_stock_count_lines_count_lot"),
        CheckConstraint("counted IS NULL OR counted >= 0", name="counted_non_negative"),
    )
