"""JSON shapes of wholesale ordering: the buyer's catalog (the company's prices and what each
upcoming trip can be promised), an order as placed by a purchasing system, and an order as read."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from app.kit.schemas import InputModel, OutputModel, QuantityValue
from app.orders import schemas as orders_schemas


class TierOut(OutputModel):
    min_quantity: QuantityValue
    unit_price_minor: int


class PromiseOut(BaseModel):
    """What one upcoming trip can be promised of a SKU: stock with ≥ 60 % shelf life on its date."""

    trip: str
    departure_date: date
    cutoff_at: datetime
    quantity: QuantityValue
    cases: int


class CatalogItemOut(BaseModel):
    sku: str
    name: str
    unit: str
    case_pack: int
    net_weight_grams: int | None
    price_list: str  # the company's own list code, or "wholesale"
    price_rule: str
    unit_price_minor: int
    currency: str
    min_quantity: QuantityValue
    increment: QuantityValue
    tiers: list[TierOut]
    promisable: list[PromiseOut]


class OrderLineIn(BaseModel):
    """A line from a buyer's purchasing system: a SKU and whole ``cases`` or a ``quantity`` in the
    unit of sale. Other fields (a price the buyer's system holds, its own line id) are ignored, not
    refused: prices always come from the company's price list."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    sku: Annotated[str, Field(min_length=1, max_length=40)]
    cases: Annotated[int | None, Field(ge=0, le=100_000)] = None
    quantity: QuantityValue | None = None


class WholesaleOrderIn(InputModel):
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=200)]
    address_id: int
    trip_date: date | None = Field(default=None, description="想要的车次日期（中国时间）；不填则为最早可用车次")
    note: Annotated[str, Field(max_length=300)] = ""


class ApproveIn(InputModel):
    note: Annotated[str, Field(max_length=200)] = ""


class CancelIn(InputModel):
    """Why the buyer cancels (optional, shown on the order's history)."""

    reason: Annotated[str, Field(max_length=200)] = ""


class OrderLineOut(orders_schemas.OrderLineOut):
    """The shop's order line, with the price list that priced it (the company's own, or wholesale)."""

    model_config = ConfigDict(from_attributes=True)

    price_list: str
    packed_quantity: QuantityValue | None = None  # what was packed (weighed) for the truck; null until packed


class TripRefOut(BaseModel):
    number: str
    departure_date: date
    status: str
    status_label: str = ""  # 待装车 / 装车中 / 已发车 / 已送达
    reason_code: str
    reason: str  # "" when the order goes where the buyer asked


class OrderEventOut(OutputModel):
    kind: str
    message_zh: str
    created_at: datetime


class WholesaleOrderOut(BaseModel):
    number: str
    status: str
    status_label: str
    credit_state: str
    credit_state_label: str
    credit_hold_until: datetime | None
    payment_method: str
    payment_due_at: datetime | None
    currency: str
    subtotal_minor: int
    total_minor: int
    weight_kg: QuantityValue
    cases: int
    placed_at: datetime
    trip: TripRefOut
    delivery_address: dict[str, Any] | None
    note: str
    lines: list[OrderLineOut]
    events: list[OrderEventOut] = []
    message: str = ""  # what placing said (the credit hold's reason); only in the answer to the POST


class OrderSummaryOut(BaseModel):
    number: str
    status: str
    status_label: str
    credit_state: str
    total_minor: int
    currency: str
    placed_at: datetime
    trip: str
    departure_date: date
    cases: int
    weight_kg: QuantityValue
