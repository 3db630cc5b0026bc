"""JSON shapes of a company's invoices and credit notes as its buyers and purchasing systems read them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from app.kit.schemas import QuantityValue


class InvoiceLineOut(BaseModel):
    position: int
    sku: str
    name: str
    unit: str
    quantity: QuantityValue  # negative on a credit note
    unit_price_minor: int
    amount_minor: int
    note: str  # a credit note line's reason: 短缺 / 破损


class InvoiceSummaryOut(BaseModel):
    number: str
    kind: str  # invoice / credit_note
    kind_label: str
    order: str
    against_invoice: str | None  # the invoice a credit note reduces
    issue_date: date
    due_date: date | None
    currency: str = "CNY"
    total_minor: int  # tax included; negative on a credit note
    tax_minor: int
    tax_rate_percent: int
    settled_minor: int
    outstanding_minor: int  # abs(total) − settled
    overdue: bool


class InvoiceOut(InvoiceSummaryOut):
    buyer: dict[str, str]  # the 发票 details as printed when issued
    lines: list[InvoiceLineOut]
    credit_notes: list[InvoiceSummaryOut]  # of an invoice
