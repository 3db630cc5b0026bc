"""Money on account: the stored invoices, credit notes and pro-formas of wholesale orders, the
payments staff record, and how payments and credit notes are set against invoices.

- :class:`WholesaleInvoice` is one document with its own number, of one order. ``kind`` says which:
  an **invoice** (结算单) bills what was delivered (the packed, weighed quantities); a **credit
  note** (红字结算单) reverses shortages or damage found at delivery, against its invoice; a
  **pro-forma** (形式发票) asks a prepay company for the transfer before the trip and is never a
  debt. ``total_minor`` and ``tax_minor`` are the figures as printed, so a credit note's are
  negative. The buyer's 发票 details are copied onto it when issued (``buyer``): a company that
  changes its title later does not rewrite a document already sent.
- ``settled_minor`` is how much of a document has been settled: for an invoice, what payments and
  credit notes have paid off (outstanding = total − settled, never below zero); for a credit
  note, how much of its amount has been set against invoices (the rest is the company's credit).
  Both move only with a :class:`Allocation` row, in the same transaction.
- :class:`WholesalePayment` is a bank transfer staff record (its reference is unique per company,
  so a transfer entered twice is refused); ``allocated_minor`` is how much of it is set against
  invoices, the rest waits for the next invoice.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.kit.models import Base, IdMixin
from app.kit.quantities import Quantity


class DocumentKind(StrEnum):
    """The stored kinds; ``app.wholesale.document_data.InvoiceKind`` names the same three for print."""

    invoice = "invoice"
    credit_note = "credit_note"
    proforma = "proforma"


class WholesaleInvoice(IdMixin, Base):
    __tablename__ = "wholesale_invoices"

    number: Mapped[str] = mapped_column(String(40), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    company_id: Mapped[int] = mapped_column(ForeignKey("buyer_companies.id"), nullable=False, index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), nullable=False, index=True)
    # The invoice a credit note reduces.
    against_invoice_id: Mapped[int | None] = mapped_column(ForeignKey("wholesale_invoices.id"))
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)  # China-time business date
    due_date: Mapped[date | None] = mapped_column(Date)  # invoices and pro-formas; none on a credit note
    total_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)  # tax included; negative on a credit note
    tax_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tax_rate_percent: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    settled_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The buyer's 发票 details when issued (title, tax number, address and phone, bank account).
    buyer: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False, default=dict)
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("kind IN ('invoice', 'credit_note', 'proforma')", name="kind_known"),
        CheckConstraint("(kind = 'credit_note') = (against_invoice_id IS NOT NULL)", name="credit_note_has_invoice"),
        CheckConstraint("kind = 'credit_note' OR total_minor >= 0", name="debit_total_not_negative"),
        CheckConstraint("kind <> 'credit_note' OR total_minor < 0", name="credit_total_negative"),
        CheckConstraint("settled_minor >= 0 AND settled_minor <= abs(total_minor)", name="settled_within_total"),
        # One invoice and one pro-forma per order; credit notes as many as deliveries found short.
        Index(
            "uq_wholesale_invoices_order_kind",
            "order_id",
            "kind",
            unique=True,
            postgresql_where=text("kind <> 'credit_note'"),
        ),
        # Wholesale sales by issue date (the county dashboard).
        Index("ix_wholesale_invoices_issue_date", "issue_date", postgresql_where=text("kind = 'invoice'")),
        Index(
            "ix_wholesale_invoices_open",
            "company_id",
            "due_date",
            postgresql_where=text("kind = 'invoice' AND settled_minor < total_minor"),
        ),
        # Credit notes not yet applied: the credit check's sum reads only these (migration 0044).
        Index(
            "ix_wholesale_invoices_open_credit",
            "company_id",
            postgresql_where=text("kind = 'credit_note' AND settled_minor < -total_minor"),
        ),
    )

    @property
    def outstanding_minor(self) -> int:
        return abs(self.total_minor) - self.settled_minor


class WholesaleInvoiceLine(IdMixin, Base):
    __tablename__ = "wholesale_invoice_lines"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("wholesale_invoices.id"), nullable=False, index=True)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    sku: Mapped[str] = mapped_column(String(40), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    unit: Mapped[str] = mapped_column(String(10), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)  # negative on a credit note
    unit_price_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")

    __table_args__ = (UniqueConstraint("invoice_id", "position", name="uq_wholesale_invoice_lines_position"),)


class WholesalePayment(IdMixin, Base):
    __tablename__ = "wholesale_payments"

    company_id: Mapped[int] = mapped_column(ForeignKey("buyer_companies.id"), nullable=False, index=True)
    received_on: Mapped[date] = mapped_column(Date, nullable=False)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reference: Mapped[str] = mapped_column(String(60), nullable=False)  # the bank transfer's reference
    allocated_minor: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        UniqueConstraint("company_id", "reference", name="uq_wholesale_payments_company_reference"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("allocated_minor >= 0 AND allocated_minor <= amount_minor", name="allocated_within_amount"),
        # Payments not yet set against invoices: the credit check's sum reads only these (migration 0044).
        Index(
            "ix_wholesale_payments_unallocated",
            "company_id",
            postgresql_where=text("allocated_minor < amount_minor"),
        ),
    )

    @property
    def unallocated_minor(self) -> int:
        return self.amount_minor - self.allocated_minor


class Allocation(IdMixin, Base):
    """``amount_minor`` of a payment or of a credit note set against one invoice."""

    __tablename__ = "wholesale_allocations"

    invoice_id: Mapped[int] = mapped_column(ForeignKey("wholesale_invoices.id"), nullable=False, index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("wholesale_payments.id"), index=True)
    credit_note_id: Mapped[int | None] = mapped_column(ForeignKey("wholesale_invoices.id"), index=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger, nullable=False)
    allocated_on: Mapped[date] = mapped_column(Date, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)

    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        CheckConstraint("(payment_id IS NULL) <> (credit_note_id IS NULL)", name="one_source"),
    )


class DeliveryIssueKind(StrEnum):
    shortage = "shortage"  # 短缺: fewer arrived than the manifest says
    damage = "damage"  # 破损: arrived but not in good order (photo required)

    @property
    def label_zh(self) -> str:
        return {"shortage": "短缺", "damage": "破损"}[self.value]


class StopDelivery(Base):
    """Proof of delivery of one stop (one wholesale order) of a trip: who received it, when, and
    who recorded it. Its shortages and damage are :class:`DeliveryIssue` rows."""

    __tablename__ = "wholesale_stop_deliveries"

    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("wholesale_trips.id"), nullable=False, index=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    receiver_name: Mapped[str] = mapped_column(String(50), nullable=False)
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class DeliveryIssue(IdMixin, Base):
    __tablename__ = "wholesale_delivery_issues"

    order_id: Mapped[int] = mapped_column(ForeignKey("wholesale_stop_deliveries.order_id"), nullable=False, index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    quantity: Mapped[Decimal] = mapped_column(Quantity, nullable=False)
    note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    photo_path: Mapped[str | None] = mapped_column(String(200))  # re-encoded upload (app.catalog.images)

    __table_args__ = (
        CheckConstraint("kind IN ('shortage', 'damage')", name="kind_known"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("kind <> 'damage' OR photo_path IS NOT NULL", name="damage_has_photo"),
    )
