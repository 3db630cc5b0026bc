"""The pre-sale API's bodies: waves as the shop shows them, an order against a wave."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.orders.models import PaymentMethod
from app.orders.schemas import ContactIn
from app.presales import service
from app.presales.repository import WaveRow


class WaveOut(BaseModel):
    code: str
    title: str
    description: str
    sku: str
    product: str
    variant: str
    status: str
    price_minor: int
    currency: str = "CNY"
    cap: Decimal
    left: Decimal
    cutoff_at: datetime
    harvest_from: date
    harvest_to: date
    max_per_order: int
    pay_at_pickup: bool
    pickup_boxes_per_phone: int | None

    @classmethod
    def of(cls, row: WaveRow) -> WaveOut:
        wave = row.wave
        return cls(
            code=wave.code,
            title=wave.title,
            description=wave.description,
            sku=row.sku,
            product=row.product_name,
            variant=row.variant_name,
            status=wave.status.value,
            price_minor=wave.price_minor,
            cap=row.cap,
            left=row.left,
            cutoff_at=wave.cutoff_at,
            harvest_from=wave.harvest_from,
            harvest_to=wave.harvest_to,
            max_per_order=wave.max_per_order,
            pay_at_pickup=wave.pay_at_pickup,
            pickup_boxes_per_phone=wave.pickup_boxes_per_phone if wave.pay_at_pickup else None,
        )


class PresaleOrderIn(BaseModel):
    """An order against a wave: how many boxes, the village station, the contact, how it is paid."""

    model_config = ConfigDict(extra="forbid")
    quantity: Decimal = Field(gt=0, le=1000, description="份数（整数，十进制字符串）")
    station_code: str = Field(min_length=1, max_length=20)
    contact: ContactIn
    payment_method: Literal["stripe", "pay_at_pickup"]
    note: str = Field(default="", max_length=300)

    def to_order(self, wave_code: str, customer_user_id: int | None) -> service.PresaleOrderIn:
        """The body as the service's input (the API's and the wave page's form alike)."""
        return service.PresaleOrderIn(
            wave_code=wave_code,
            quantity=self.quantity,
            station_code=self.station_code,
            contact_name=self.contact.name,
            contact_phone=self.contact.phone,
            payment_method=PaymentMethod(self.payment_method),
            customer_user_id=customer_user_id,
            note=self.note,
        )


class AllocationOut(BaseModel):
    available: Decimal
    boxes: Decimal
    refund_minor: int
    filled: list[str]
    partial: list[str]
    unfilled: list[str]
    released: list[str]


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=200)


class CancelOut(BaseModel):
    code: str
    status: str
    orders_cancelled: int
