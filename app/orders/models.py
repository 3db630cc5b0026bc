from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.channels import SalesChannel
from app.kit.models import Base, IdMixin, TimestampMixin, enum_column
from app.kit.quantities import Quantity


class StationCard(Protocol):
    """The order's village station as orders sees it: ``app.stations.models.Station``, named by
    string in the relationship because the stations domain depends on orders, not the other way
    round. The read model copies its public fields (``schemas.StationOut``)."""

    code: str
    name: str


class OrderStatus(StrEnum):
    """Where the order stands; payment and fulfilment have their own statuses."""

    pending_payment = "pending_payment"  # placed, waiting for an online payment (stock held with a deadline)
    confirmed = "confirmed"  # paid, or accepted to be paid at pickup
    ready_for_pickup = "ready_for_pickup"  # on a station shelf
    completed = "completed"  # handed over or delivered
    cancelled = "cancelled"
    expired = "expired"  # not paid in time: stock released

    @property
    def label_zh(self) -> str:
        return ORDER_STATUS_ZH[self]


ORDER_STATUS_ZH = {
    OrderStatus.pending_payment: "待支付",
    OrderStatus.confirmed: "已确认",
    OrderStatus.ready_for_pickup: "待取货",
    OrderStatus.completed: "已完成",
    OrderStatus.cancelled: "已取消",
    OrderStatus.expired: "已过期",
}


class PaymentStatus(StrEnum):
    unpaid = "unpaid"
    pending = "pending"  # an online payment is under way
    paid = "paid"
    partially_refunded = "partially_refunded"
    refunded = "refunded"

    @property
    def label_zh(self) -> str:
        return {
            "unpaid": "未付款",
            "pending": "支付中",
            "paid": "已付款",
            "partially_refunded": "部分退款",
            "refunded": "已退款",
        }[self.value]


class FulfilmentStatus(StrEnum):
    unfulfilled = "unfulfilled"
    dispatched = "dispatched"
    at_station = "at_station"
    handed_over = "handed_over"
    delivered = "delivered"
    returned = "returned"

    @property
    def label_zh(self) -> str:
        return {
            "unfulfilled": "待发货",
            "dispatched": "已发出",
            "at_station": "已到站",
            "handed_over": "已取货",
            "delivered": "已送达",
            "returned": "已退回",
        }[self.value]


class DeliveryMethod(StrEnum):
    station_pickup = "station_pickup"
    home_delivery = "home_delivery"
    counter = "counter"  # sold over a store's counter
    none = "none"  # nothing to deliver: event tickets (app.events), used at the event itself


class PaymentMethod(StrEnum):
    pay_at_pickup = "pay_at_pickup"
    stripe = "stripe"
    pos_cash = "pos_cash"
    pos_qr = "pos_qr"
    bank_transfer = "bank_transfer"


class Order(IdMixin, TimestampMixin, Base):
    """One model for every channel: lines, amounts, an explicit status with its own transition table,
    separate payment and fulfilment statuses, and an append-only event log."""

    __tablename__ = "orders"
    # Server-set times (placed_at, created_at) come back with the INSERT (RETURNING): a new order's
    # answer reads them without another statement.
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - read once by the mapper

    number: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    channel: Mapped[SalesChannel] = mapped_column(enum_column(SalesChannel, "order_channel"), nullable=False)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_status"), nullable=False)
    payment_status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus, "order_payment_status"), nullable=False, default=PaymentStatus.unpaid
    )
    fulfilment_status: Mapped[FulfilmentStatus] = mapped_column(
        enum_column(FulfilmentStatus, "fulfilment_status"), nullable=False, default=FulfilmentStatus.unfulfilled
    )
    customer_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("buyer_companies.id"), index=True)
    contact_name: Mapped[str] = mapped_column(String(50), nullable=False)
    contact_phone: Mapped[str] = mapped_column(String(20), nullable=False)
    delivery_method: Mapped[DeliveryMethod] = mapped_column(
        enum_column(DeliveryMethod, "delivery_method"), nullable=False
    )
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"), index=True)
    station_reason: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    # {"township", "village", "detail", "area"} for home delivery.
    delivery_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    payment_method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod, "payment_method"), nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="CNY")
    subtotal_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    delivery_fee_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # A basket discount given at a store's counter (``pos_sales.discount_reason`` says why).
    discount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    total_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    paid_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), nullable=False)
    reservation_reference: Mapped[str | None] = mapped_column(String(60))
    payment_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")

    lines: Mapped[list[OrderLine]] = relationship(lazy="raise", order_by="OrderLine.id")
    events: Mapped[list[OrderEvent]] = relationship(lazy="raise", order_by="OrderEvent.id")
    # Read-only: for loading a page of orders with what the read model shows in one query each
    # (repository.list_orders). Payments and the station are written through their own columns.
    payments: Mapped[list[Payment]] = relationship(lazy="raise", order_by="Payment.id", viewonly=True)
    station: Mapped[StationCard | None] = relationship("Station", lazy="raise", viewonly=True)

    __table_args__ = (
        CheckConstraint("subtotal_minor >= 0 AND delivery_fee_minor >= 0", name="amounts_non_negative"),
        CheckConstraint("discount_minor >= 0 AND discount_minor <= subtotal_minor", name="discount_within_subtotal"),
        CheckConstraint("total_minor = subtotal_minor - discount_minor + delivery_fee_minor", name="total_adds_up"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= paid_minor", name="refund_within_paid"),
        CheckConstraint("delivery_method <> 'station_pickup' OR station_id IS NOT NULL", name="pickup_has_station"),
        # The expiry task looks only at unpaid orders with a deadline.
        Index("ix_orders_payment_due", "payment_due_at", postgresql_where=text("status = 'pending_payment'")),
        # The county dashboard: orders waiting in a state (its stuck list). Deliberately no index
        # on updated_at: it changes on every update, and indexing it would make every update of
        # this busy table a non-HOT one; the summary refresh scans it once a minute instead.
        Index(
            "ix_orders_waiting",
            "status",
            postgresql_where=text("status IN ('pending_payment', 'confirmed', 'ready_for_pickup')"),
        ),
        # A station's pickup orders that hold or will hold a shelf slot: routing an order counts them
        # (``app.stations.repository.HOLDING_STATUSES``; migration 0044).
        Index(
            "ix_orders_station_holding",
            "station_id",
            postgresql_where=text(
                "delivery_method = 'station_pickup' AND status IN ('pending_payment', 'confirmed', 'ready_for_pickup')"
            ),
        ),
    )


class OrderLine(IdMixin, Base):
    """A priced line, snapshotted: later catalog edits do not change what was bought."""

    __tablename__ = "order_lines"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    variant_id: Mapped[int] = mapped_column(ForeignKey("variants.id"), nullable=False)
    sku: Mapped[str] = mapped_column(String(40), nullable=False)
    name_zh: Mapped[str] = mapped_column(String(200), nullable=False)
    unit: Mapped[str] = mapped_column(String(10), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    unit_price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    line_total_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    price_list: Mapped[str] = mapped_column(String(40), nullable=False)
    price_rule: Mapped[str] = mapped_column(String(100), nullable=False)
    # What was packed (weighed, for goods sold by weight) when the order was packed for a truck:
    # what leaves the warehouse and what the invoice bills. Null until packed.
    packed_quantity: Mapped[Decimal | None] = mapped_column(Quantity)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("packed_quantity IS NULL OR packed_quantity >= 0", name="packed_quantity_not_negative"),
    )


class OrderEvent(IdMixin, Base):
    """Append-only history of an order: every transition and every payment step."""

    __tablename__ = "order_events"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 - read once by the mapper

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str | None] = mapped_column(String(30))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    message_zh: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)


class PaymentState(StrEnum):
    pending = "pending"
    requires_action = "requires_action"
    processing = "processing"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"


class Payment(IdMixin, TimestampMixin, Base):
    """One attempt to collect money for an order, through one provider."""

    __tablename__ = "payments"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(String(20), nullable=False)
    method: Mapped[str] = mapped_column(String(20), nullable=False)  # card, alipay, wechat_pay, cash, qr
    attempt: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    state: Mapped[PaymentState] = mapped_column(enum_column(PaymentState, "payment_state"), nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), nullable=False, unique=True)
    # What the buyer must do next: {"type": "redirect", "url"} / {"type": "qr", "data", "image_data_url"} /
    # {"type": "client_secret", "client_secret"}.
    next_action: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    failure_message: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("uq_payments_order_attempt", "order_id", "provider", "attempt", unique=True),
        # Sales by China-time payment date (the county dashboard).
        Index("ix_payments_succeeded_at", "succeeded_at", postgresql_where=text("state = 'succeeded'")),
    )


class RefundState(StrEnum):
    pending = "pending"  # asked for, not yet sent to the provider
    submitted = "submitted"  # the provider accepted it; wallets settle later
    succeeded = "succeeded"
    failed = "failed"


class Refund(IdMixin, TimestampMixin, Base):
    __tablename__ = "refunds"

    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), nullable=False, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    state: Mapped[RefundState] = mapped_column(enum_column(RefundState, "refund_state"), nullable=False)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    failure_message: Mapped[str] = mapped_column(String(300), nullable=False, default="")

    __table_args__ = (CheckConstraint("amount_minor > 0", name="refund_amount_positive"),)


class WebhookEvent(IdMixin, Base):
    """Inbox of provider events: unique on the provider's event id, so a redelivery is a no-op."""

    __tablename__ = "webhook_events"

    provider: Mapped[str] = mapped_column(String(20), nullable=False)
    event_id: Mapped[str] = mapped_column(String(100), nullable=False)
    event_type: Mapped[str] = mapped_column(String(80), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(Text, nullable=False, default="")

    __table_args__ = (Index("uq_webhook_events_provider_event", "provider", "event_id", unique=True),)


class Capacity(IdMixin, TimestampMixin, Base):
    """A counted allowance that order lines take instead of stock: a harvest pre-sale wave's cap,
    an event slot's places. ``used`` only moves by one conditional update (``app.orders.capacity``),
    so concurrent orders can never take more than ``cap``; the CHECK is the last line of defence."""

    __tablename__ = "capacities"

    kind: Mapped[str] = mapped_column(String(30), nullable=False)  # presale_wave, event_slot, …
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    cap: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    used: Mapped[Decimal] = mapped_column(Quantity, nullable=False, default=Decimal(0))
    # Closed (a pre-sale wave allocated or cancelled): no place opens any more — the cap shrank to
    # what was held, and a place given back later takes the cap down with it.
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("cap >= 0", name="capacity_cap_not_negative"),
        CheckConstraint("used >= 0 AND used <= cap", name="capacity_used_within_cap"),
    )


class CapacityHold(IdMixin, Base):
    """What one order line took of a capacity; released once (``released_at``) when the order is
    cancelled or expires, so the place goes back to the next customer exactly once."""

    __tablename__ = "order_capacity_holds"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), nullable=False, unique=True)
    capacity_id: Mapped[int] = mapped_column(ForeignKey("capacities.id"), nullable=False, index=True)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (CheckConstraint("quantity > 0", name="capacity_hold_quantity_positive"),)
