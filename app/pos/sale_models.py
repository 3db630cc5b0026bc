"""What happens at a till: shifts, cash in and out, sales, tenders, returns; and what the store's
book could not cover (stock exceptions) and what the store asks the warehouse for (replenishment).

A till works offline, so everything it creates carries the till's own id (``client_id``, a UUID the
browser made): uploading the same thing twice, or from two connections at once, finds the row by
that id (a unique index) and records nothing new. Times the till reports (``opened_at``,
``sold_at``…) are the till's clock at the counter; ``recorded_at`` is when the server got it.

A sale is an ``orders`` row of channel ``pos`` (the order pipeline: lines, amounts, events) plus a
``pos_sales`` row for what only a counter sale has (till, shift, clerk, tenders, change, the till's
sale number). Its lines are ``order_lines`` with a ``pos_sale_lines`` row each for the counter's
extras (how the line was made, the label's weight, the list price on the server when it differed).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin
from app.kit.quantities import Quantity


class ShiftStatus(StrEnum):
    open = "open"
    closed = "closed"


class VarianceStatus(StrEnum):
    """Whether the cash counted at close needs, has or awaits a store manager's word."""

    none = "none"  # counted = expected
    approved = "approved"  # a manager approved the variance with their PIN at the till
    pending = "pending"  # closed offline (no PIN check possible): a manager confirms it in the console


class Shift(IdMixin, Base):
    """A till's shift (班次): opened with a float, closed with the drawer counted → the Z report.
    At most one open shift per till (partial unique index)."""

    __tablename__ = "pos_shifts"

    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True)
    till_id: Mapped[int] = mapped_column(ForeignKey("tills.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=ShiftStatus.open.value)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    float_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # {"10000": 2, "5000": 1, ...}: count per denomination in fen, as counted at close.
    counted_denominations: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    counted_cash_minor: Mapped[int | None] = mapped_column(BigInteger)
    expected_cash_minor: Mapped[int | None] = mapped_column(BigInteger)
    variance_minor: Mapped[int | None] = mapped_column(BigInteger)
    variance_status: Mapped[str] = mapped_column(String(10), nullable=False, default=VarianceStatus.none.value)
    variance_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status_known"),
        CheckConstraint("variance_status IN ('none', 'approved', 'pending')", name="variance_status_known"),
        CheckConstraint("float_minor >= 0", name="float_non_negative"),
        CheckConstraint("status = 'open' OR closed_at IS NOT NULL", name="closed_has_time"),
        Index("uq_pos_shifts_one_open_per_till", "till_id", unique=True, postgresql_where=text("status = 'open'")),
    )


class CashDirection(StrEnum):
    cash_in = "in"  # change brought in, a float top-up
    cash_out = "out"  # a banking drop, a petty expense (needs a manager's PIN)


class CashMovement(IdMixin, Base):
    """Cash put into or taken out of the drawer during a shift, with its reason."""

    __tablename__ = "pos_cash_movements"

    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, unique=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("pos_shifts.id"), nullable=False, index=True)
    direction: Mapped[str] = mapped_column(String(3), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("direction IN ('in', 'out')", name="direction_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )


class Sale(IdMixin, Base):
    """A counter sale: its ``orders`` row holds lines and amounts; this row what the counter adds.
    ``total_minor`` = lines − ``discount_minor``; fully tendered: tenders − change = total."""

    __tablename__ = "pos_sales"

    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, unique=True)
    # The till's sale prefix + its own sequence, given at the counter (offline too).
    number: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True)
    till_id: Mapped[int] = mapped_column(ForeignKey("tills.id"), nullable=False, index=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("pos_shifts.id"), nullable=False, index=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    sold_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    made_offline: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    discount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    discount_reason: Mapped[str] = mapped_column(String(100), nullable=False, default="")
    discount_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    total_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tendered_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    change_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # Some line's till price differed from the retail list on the server when it landed.
    price_differs: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)

    __table_args__ = (
        CheckConstraint("discount_minor >= 0 AND discount_minor <= subtotal_minor", name="discount_within_subtotal"),
        CheckConstraint("total_minor = subtotal_minor - discount_minor", name="total_adds_up"),
        CheckConstraint("change_minor >= 0 AND tendered_minor - change_minor = total_minor", name="fully_tendered"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= total_minor", name="refund_within_total"),
        Index("ix_pos_sales_sold_at", "sold_at"),  # sales by China-time day (the county dashboard)
    )


class SaleLineSource(StrEnum):
    product = "product"  # a product barcode: 1 unit
    weight_label = "weight_label"  # a scale's weight label
    price_label = "price_label"  # a scale's price label: the label's price is the line total
    plu_key = "plu_key"  # a PLU key with the weight typed in
    search = "search"  # picked by name on the screen


class SaleLine(Base):
    """The counter's extras for one ``order_lines`` row of a sale."""

    __tablename__ = "pos_sale_lines"

    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("pos_sales.id"), nullable=False, index=True)
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    code: Mapped[str | None] = mapped_column(String(20))  # the scanned code, 13-digit form
    grams: Mapped[int | None] = mapped_column(Integer)  # weighed lines
    # The retail list's price on the server when the sale landed, when it differs from the till's.
    list_unit_price_minor: Mapped[int | None] = mapped_column(BigInteger)
    list_line_total_minor: Mapped[int | None] = mapped_column(BigInteger)
    returned_quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    # What the store's book could not cover when it was sold (see ``StockException``).
    short_quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))

    __table_args__ = (
        CheckConstraint(
            "source IN ('product', 'weight_label', 'price_label', 'plu_key', 'search')", name="source_known"
        ),
        CheckConstraint("returned_quantity >= 0 AND short_quantity >= 0", name="quantities_non_negative"),
    )


class TenderMethod(StrEnum):
    cash = "cash"
    qr = "qr"  # the store's WeChat / Alipay collection code


class QrWallet(StrEnum):
    wechat = "wechat"
    alipay = "alipay"


# How receipts, reports and the console name a tender: cash, or the QR payment's wallet.
TENDER_NAMES_ZH = {TenderMethod.cash.value: "现金", QrWallet.wechat.value: "微信", QrWallet.alipay.value: "支付宝"}


def tender_name_zh(method: str, wallet: str | None) -> str:
    """现金, 微信 or 支付宝."""
    return TENDER_NAMES_ZH.get(wallet or method, method)


class Tender(IdMixin, Base):
    """One payment of a sale at the counter: cash handed over, or a QR payment the clerk saw
    arrive (optionally the last digits of its reference, for the merchant bill)."""

    __tablename__ = "pos_tenders"

    sale_id: Mapped[int] = mapped_column(ForeignKey("pos_sales.id"), nullable=False, index=True)
    method: Mapped[str] = mapped_column(String(10), nullable=False)
    wallet: Mapped[str | None] = mapped_column(String(10))
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reference_tail: Mapped[str] = mapped_column(String(12), nullable=False, default="")

    __table_args__ = (
        CheckConstraint("method IN ('cash', 'qr')", name="method_known"),
        CheckConstraint("method = 'cash' OR wallet IN ('wechat', 'alipay')", name="qr_has_wallet"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
    )


class SaleReturn(IdMixin, Base):
    """Goods brought back to the till against a receipt: some lines, at most what was sold,
    refunded in cash from the drawer of the shift that takes it back."""

    __tablename__ = "pos_returns"

    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False, unique=True)
    number: Mapped[str] = mapped_column(String(24), nullable=False, unique=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("pos_sales.id"), nullable=False, index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True)
    till_id: Mapped[int] = mapped_column(ForeignKey("tills.id"), nullable=False)
    shift_id: Mapped[int] = mapped_column(ForeignKey("pos_shifts.id"), nullable=False, index=True)
    clerk_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    refund_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    returned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (CheckConstraint("refund_minor > 0", name="refund_positive"),)


class SaleReturnLine(IdMixin, Base):
    __tablename__ = "pos_return_lines"

    return_id: Mapped[int] = mapped_column(ForeignKey("pos_returns.id"), nullable=False, index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), nullable=False, index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    refund_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)

    __table_args__ = (CheckConstraint("quantity > 0 AND refund_minor >= 0", name="amounts_valid"),)


class StockExceptionStatus(StrEnum):
    open = "open"
    resolved = "resolved"


class StockExceptionResolution(StrEnum):
    stock_count = "count"  # a stock count of the store set the book right
    transfer = "transfer"  # a transfer received late covered it
    written_off = "written_off"  # the manager accepted the loss


class StockException(IdMixin, Base):
    """Goods a sale took that the store's book did not hold (sold offline, or miscounted): the sale
    stands, the book stays at zero, and the store manager resolves the difference."""

    __tablename__ = "pos_stock_exceptions"

    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    sale_id: Mapped[int] = mapped_column(ForeignKey("pos_sales.id"), nullable=False, index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=StockExceptionStatus.open.value)
    resolution: Mapped[str | None] = mapped_column(String(20))
    resolution_ref: Mapped[str] = mapped_column(String(40), nullable=False, default="")  # count / transfer no.
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("status IN ('open', 'resolved')", name="status_known"),
        CheckConstraint("status = 'open' OR resolution IS NOT NULL", name="resolved_has_resolution"),
        Index("ix_pos_stock_exceptions_open", "store_id", postgresql_where=text("status = 'open'")),
    )


class ReplenishmentStatus(StrEnum):
    requested = "requested"
    shipped = "shipped"  # a transfer from the warehouse is on its way
    declined = "declined"


class ReplenishmentRequest(IdMixin, Base):
    """A store asks the warehouse for goods; the warehouse answers with a transfer (or declines)."""

    __tablename__ = "pos_replenishment_requests"

    number: Mapped[str] = mapped_column(String(24), nullable=False, unique=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), nullable=False, index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=ReplenishmentStatus.requested.value)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("transfers.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decline_reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("status IN ('requested', 'shipped', 'declined')", name="status_known"),
        CheckConstraint("status <> 'shipped' OR transfer_id IS NOT NULL", name="shipped_has_transfer"),
    )


class ReplenishmentLine(IdMixin, Base):
    __tablename__ = "pos_replenishment_lines"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("pos_replenishment_requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)

    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)
