from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from app.kit.phones import normalise_cn_mobile
from app.kit.schemas import QuantityValue


class OrderLineIn(BaseModel):
    # Prices a client sends ("price", "unit_price_minor", …) are ignored: the server prices.
    model_config = ConfigDict(extra="ignore")
    sku: str = Field(min_length=1, max_length=40)
    quantity: str | int = Field(description='数量，十进制字符串，例如 "1.235"（千克精确到克）')


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    # Left out: the county's own (``COUNTY_PROVINCE`` / ``COUNTY_CITY``), filled in by the checkout.
    province: str = Field(default="", max_length=20)
    city: str = Field(default="", max_length=20)
    township: str = Field(min_length=2, max_length=30, description="乡镇或区县")
    village: str = Field(default="", max_length=50)
    detail: str = Field(min_length=2, max_length=200)


class DeliveryIn(BaseModel):
    """Where the order goes. A pickup order names its station (``GET /api/v1/stations`` lists the
    open ones): there is no default station — a missing code is a 422 on ``delivery.station_code``,
    and so is a code that is not an open station. ``township``, ``village`` and the coordinates
    only say where the customer is, for re-routing when the chosen station's shelves are full."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    method: Literal["station_pickup", "home_delivery"]
    station_code: str | None = Field(
        default=None, max_length=20, validate_default=True, description="自提：所选村站编码（自提必填）"
    )
    township: str | None = Field(
        default=None, max_length=30, description="自提：顾客所在乡镇（所选村站已满时就近改派）"
    )
    village: str | None = Field(
        default=None, max_length=50, description="自提：顾客所在村（所选村站已满时优先改派服务该村的村站）"
    )
    latitude: Decimal | None = Field(default=None, ge=-90, le=90)
    longitude: Decimal | None = Field(default=None, ge=-180, le=180)
    address: AddressIn | None = None

    @field_validator("station_code")
    @classmethod
    def _station_chosen(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("method") == "station_pickup" and not value:
            raise ValueError("请选择自提村站")
        return value or None

    @model_validator(mode="after")
    def _needs(self) -> DeliveryIn:
        if self.method == "home_delivery" and self.address is None:
            raise ValueError("送货上门需要填写地址")
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("经纬度须同时提供")
        return self


class ContactIn(BaseModel):
    """Who receives the order. The phone must be a mainland China mobile number for every consumer
    order, pickup and home delivery alike: the pickup code, the order's notices (placed, paid,
    cancelled, refunded) and a guest's look-up all go through that number by SMS, and no other
    channel exists — a landline, a Hong Kong or a US number would take the order and hear nothing."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(min_length=5, max_length=20, description="中国大陆手机号（取货码和订单通知通过短信发送）")

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_cn_mobile(value)


class OrderIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=50)
    delivery: DeliveryIn
    contact: ContactIn
    payment_method: Literal["pay_at_pickup", "stripe"]
    note: str = Field(default="", max_length=300)
    referral_code: str | None = Field(
        default=None,
        max_length=20,
        description="主播推荐码（可选）：填写后优先于主播链接的归属；不存在或已停用 → 422 unknown_referral_code",
    )


class PaymentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["card", "alipay", "wechat_pay"]
    payment_method_id: str | None = Field(
        default=None, max_length=100, description="银行卡：客户端用 Stripe SDK 生成的 payment method id"
    )
    return_url: str | None = Field(default=None, max_length=500)


class RefundIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount_minor: int = Field(gt=0, le=100_000_000)
    reason: str = Field(min_length=1, max_length=200)


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="顾客取消", min_length=1, max_length=200)


class OrderLineOut(BaseModel):
    sku: str
    name_zh: str
    unit: str
    quantity: QuantityValue
    unit_price_minor: int
    line_total_minor: int
    price_rule: str


class StationOut(BaseModel):
    code: str
    name: str
    township: str
    village: str
    address: str
    opening_hours: str
    distance_km: float | None = None
    has_room: bool | None = None


class PaymentOut(BaseModel):
    id: int
    provider: str
    method: str
    state: str
    amount_minor: int
    currency: str
    next_action: dict[str, Any] | None
    failure_message: str


class EventOut(BaseModel):
    at: datetime
    kind: str
    status: str | None
    message_zh: str


class PickupOut(BaseModel):
    """What the customer shows at the station: only in the customer's own view of the order."""

    code: str = Field(description="取货码（货位-密码），顾客在村站报出")
    qr: str = Field(description="取货二维码内容（签名），村站扫码即可交付")


class OrderOut(BaseModel):
    number: str
    channel: str
    status: str
    status_zh: str
    payment_status: str
    fulfilment_status: str
    currency: str
    subtotal_minor: int
    delivery_fee_minor: int
    total_minor: int
    paid_minor: int
    refunded_minor: int
    payment_method: str
    payment_due_at: datetime | None
    delivery_method: str
    station: StationOut | None
    station_reason: str
    delivery_address: dict[str, Any] | None
    contact_name: str
    contact_phone_masked: str
    placed_at: datetime
    lines: list[OrderLineOut]
    payments: list[PaymentOut]
    events: list[EventOut]
    pickup: PickupOut | None = None


OrderNumber = Annotated[str, Field(min_length=8, max_length=20, pattern=r"^NP[0-9]+$")]
