"""JSON shapes of a company's money on account: the monthly statement's figures."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel


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
