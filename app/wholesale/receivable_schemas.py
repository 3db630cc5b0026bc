"""JSON shapes of a company's money on account: the monthly statement's figures."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from app.kit.schemas import InputModel


class StatementEntryOut(BaseModel):
    day: date
    kind: str  # invoice / credit_note / payment
    kind_label: str
    reference: str  # document number, or the bank transfer reference of a payment
    due_date: date | None
    debit_minor: int  # raises what the company owes
    credit_minor: int  # lowers it
    balance_minor: int  # running balance after this entry
    note: str


class OpenItemOut(BaseModel):
    number: str
    issue_date: date
    due_date: date
    outstanding_minor: int
    days_overdue: int


class AgeingOut(BaseModel):
    as_of: date
    labels: list[str]  # 未到期, 逾期 1–30 天, …
    buckets_minor: list[int]
    total_minor: int
    overdue_minor: int


class StatementOut(BaseModel):
    number: str
    month: str  # YYYY-MM
    period_start: date
    period_end: date
    currency: str
    payment_terms: str
    credit_limit_minor: int | None
    opening_balance_minor: int
    invoiced_minor: int
    credited_minor: int
    paid_minor: int
    closing_balance_minor: int
    # What the closing balance holds besides open invoices (money not yet set against one: negative).
    unallocated_minor: int
    entries: list[StatementEntryOut]
    open_items: list[OpenItemOut]
    ageing: AgeingOut


# ---- the centre's side ----------------------------------------------------------------------------


class PaymentIn(InputModel):
    """A bank transfer staff saw arrive."""

    amount_minor: int = Field(gt=0)
    received_on: date  # China-time date it arrived; not after today
    reference: str = Field(min_length=1, max_length=60)  # the transfer's reference: unique per company
    note: str = Field(default="", max_length=300)


class AllocationOut(BaseModel):
    invoice: str
    amount_minor: int
    allocated_on: date


class PaymentOut(BaseModel):
    id: int
    company_id: int
    received_on: date
    amount_minor: int
    reference: str
    allocated_minor: int
    unallocated_minor: int
    note: str
    allocations: list[AllocationOut]


class ReceivableRowOut(BaseModel):
    company_id: int
    company: str
    buckets_minor: list[int]  # in ``labels`` order
    total_minor: int
    overdue_minor: int
    unallocated_minor: int
    oldest_due: date | None


class ReceivablesOut(BaseModel):
    as_of: date
    labels: list[str]
    rows: list[ReceivableRowOut]
    totals_minor: list[int]
    total_minor: int
    unallocated_minor: int


class TransferConfirmedOut(BaseModel):
    order: str
    status: str
    payment: PaymentOut
