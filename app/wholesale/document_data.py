"""What the wholesale documents print: plain frozen values, assembled by whichever service owns the
facts (orders, trips, invoices, payments). The renderers never touch the database, so a document
prints exactly what it was given and a test can build one from literals.

Money is integer fen with its currency; quantities are exact Decimals in the variant's unit of sale
(a case pack is the quantity one case holds, in that unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum

from app.config import Settings
from app.kit.money import Currency
from app.kit.quantities import Unit


@dataclass(frozen=True)
class Party:
    """A company block: the buyer's 发票 details (抬头, 税号, address and phone, bank and account) as
    recorded for the fapiao the centre issues, or the seller's."""

    name: str  # 发票抬头 (the company's registered name)
    tax_id: str = ""  # 纳税人识别号 / 统一社会信用代码
    address: str = ""
    phone: str = ""
    bank_name: str = ""
    bank_account: str = ""
    contact: str = ""


def service_centre_party(settings: Settings) -> Party:
    """The seller of every wholesale document: the county's e-commerce service centre."""
    return Party(name=settings.service_centre_name)


@dataclass(frozen=True)
class DeliveryAddress:
    city: str
    address: str
    receiving_hours: str  # "周一至周六 06:00–10:00"
    contact: str = ""
    phone: str = ""


@dataclass(frozen=True)
class OrderLine:
    """One line of an order confirmation: ``quantity`` in the unit of sale, ``case_pack`` of them a
    case."""

    sku: str
    name: str
    unit: Unit
    case_pack: Decimal
    quantity: Decimal
    unit_price_minor: int

    @property
    def cases(self) -> Decimal:
        return self.quantity / self.case_pack if self.case_pack else Decimal(0)


@dataclass(frozen=True)
class OrderConfirmation:
    """订货确认单: what the buyer ordered, for which trip, on which terms."""

    order_number: str
    placed_at: datetime
    buyer: Party
    delivery: DeliveryAddress
    trip_number: str
    trip_date: date
    departure: time
    payment_terms: str  # "月结 30 天" / "预付款"
    lines: tuple[OrderLine, ...]
    currency: Currency = Currency.CNY
    note: str = ""


class InvoiceKind(StrEnum):
    invoice = "invoice"  # 结算单（销售单）: on the delivered quantities
    proforma = "proforma"  # 形式发票: a prepay company pays against it before the trip
    credit_note = "credit_note"  # 红字结算单: shortages and damage found at delivery

    @property
    def title_zh(self) -> str:
        return {
            InvoiceKind.invoice: "销售结算单",
            InvoiceKind.proforma: "形式发票（预付款通知）",
            InvoiceKind.credit_note: "红字结算单（退款/冲减）",
        }[self]


@dataclass(frozen=True)
class InvoiceLine:
    """A line priced on the delivered (weighed) quantity; negative on a credit note."""

    sku: str
    name: str
    unit: Unit
    quantity: Decimal
    unit_price_minor: int
    note: str = ""  # a credit note's reason for the line: 短缺 / 破损


@dataclass(frozen=True)
class InvoiceDocument:
    kind: InvoiceKind
    number: str
    issue_date: date
    seller: Party
    buyer: Party
    order_number: str
    lines: tuple[InvoiceLine, ...]
    tax_rate_percent: int
    due_date: date | None = None  # none on a credit note
    currency: Currency = Currency.CNY
    against_number: str = ""  # the invoice a credit note reduces
    payment_instructions: str = ""  # bank and reference to quote, for an invoice or pro-forma


class EntryKind(StrEnum):
    invoice = "invoice"
    credit_note = "credit_note"
    payment = "payment"

    @property
    def label_zh(self) -> str:
        return {EntryKind.invoice: "结算单", EntryKind.credit_note: "红字结算单", EntryKind.payment: "收款"}[self]


@dataclass(frozen=True)
class StatementEntry:
    """One movement on a company's account in the month: amounts are positive, ``kind`` says which
    way they move the balance (an invoice raises it, a credit note or a payment lowers it)."""

    day: date
    kind: EntryKind
    reference: str  # document number, or the bank transfer reference of a payment
    amount_minor: int
    due_date: date | None = None
    note: str = ""


@dataclass(frozen=True)
class OpenItem:
    """An invoice not yet paid in full on the statement date: what is left of it, and when it fell due."""

    number: str
    issue_date: date
    due_date: date
    outstanding_minor: int


@dataclass(frozen=True)
class StatementData:
    """月度对账单 of one company."""

    number: str
    company: Party
    seller: Party
    period_start: date
    period_end: date
    as_of: date  # the China-time date the ageing is counted to
    opening_balance_minor: int
    entries: tuple[StatementEntry, ...]
    open_items: tuple[OpenItem, ...]
    payment_terms: str
    credit_limit_minor: int | None = None
    currency: Currency = Currency.CNY


@dataclass(frozen=True)
class LotPick:
    """Part of a pick row taken from one lot (FEFO: the allocator chose it)."""

    lot_code: str
    best_before: date
    quantity: Decimal


@dataclass(frozen=True)
class PickRow:
    """One order line to pick for a trip: which stop it goes to and the lots it comes from."""

    stop_position: int
    order_number: str
    company: str
    sku: str
    name: str
    unit: Unit
    case_pack: Decimal
    quantity: Decimal
    lots: tuple[LotPick, ...]

    @property
    def cases(self) -> Decimal:
        return self.quantity / self.case_pack if self.case_pack else Decimal(0)


@dataclass(frozen=True)
class ManifestStop:
    """One delivery stop of a trip, in delivery order: one company's address (its orders together)."""

    position: int
    company: str
    order_numbers: tuple[str, ...]
    city: str
    address: str
    receiving_hours: str
    contact: str
    phone: str
    cases: Decimal
    weight_kg: Decimal
    cold_chain: bool


@dataclass(frozen=True)
class TripHeader:
    """What every trip document names at its top."""

    trip_number: str
    trip_date: date
    departure: time
    route_name: str
    cold_chain: bool
    vehicle: str = ""  # plate, when assigned
    driver: str = ""
    capacity_kg: Decimal | None = None
    capacity_cases: int | None = None


@dataclass(frozen=True)
class TripPickList:
    trip: TripHeader
    rows: tuple[PickRow, ...]
    printed_at: datetime | None = None


@dataclass(frozen=True)
class TripManifest:
    trip: TripHeader
    stops: tuple[ManifestStop, ...]
    printed_at: datetime | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
