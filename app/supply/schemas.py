from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from app.catalog.schemas import Certification
from app.channels import SalesChannel
from app.kit.phones import normalise_cn_phone
from app.kit.schemas import InputModel, OutputModel, QuantityValue

Code = Annotated[str, Field(min_length=1, max_length=60)]
Slug = Annotated[str, Field(min_length=1, max_length=80)]


class LotReceiptIn(InputModel):
    sku: Code
    supplier_code: Code
    quantity: QuantityValue = Field(description='数量，十进制字符串；称重商品按千克精确到克，例如 "125.350"')
    harvest_date: date
    best_before: date | None = Field(default=None, description="留空则按商品保质期从采收日推算")
    grade: str = Field(default="", max_length=30)
    certificate_no: str = Field(default="", max_length=60, description="承诺达标合格证编号")
    quality_notes: str = Field(default="", max_length=1000)
    location_code: str | None = Field(default=None, max_length=30, description="留空则入县级仓库")
    grower_exception: bool = Field(
        default=False,
        description="供应商未登记为该商品的生产者时（经销、代收），由仓库人员确认按例外收货；须同时填写原因。"
        "否则这种收货以 422 supplier_not_grower 拒绝",
    )
    grower_exception_reason: str = Field(default="", max_length=200, description="按例外收货的原因，记录在批次上")
    purchase_price_minor: int | None = Field(
        default=None,
        ge=0,
        le=100_000_000,
        description="收购单价（分，每个规格单位；可选）：县级看板的上行价值 = 收购单价 × 数量。留空则只计上行重量",
    )


class LotOut(OutputModel):
    code: str
    sku: str
    product_name_zh: str
    supplier_code: str
    supplier_name: str
    harvest_date: date
    best_before: date
    grade: str
    certificate_no: str
    quality_notes: str
    quantity_received: QuantityValue
    purchase_price_minor: int | None = Field(default=None, description="收购单价（分，每个规格单位），未记录为 null")
    on_hand: QuantityValue
    origin: str
    supplier_is_grower: bool = Field(description="供应商是该商品的登记生产者；否则为例外收货（经销/代收）")
    grower_exception_reason: str | None
    grower_exception_by: str | None = Field(description="确认例外收货的用户名")
    expired: bool
    days_left: int
    trace_url: str
    label_url: str


class StockRowOut(BaseModel):
    sku: str
    location: str
    location_name: str
    lot: str
    best_before: date
    expired: bool
    on_hand: QuantityValue
    reserved: QuantityValue
    available: QuantityValue


class StockOut(BaseModel):
    sku: str | None
    rows: list[StockRowOut]
    totals: dict[str, dict[str, dict[str, QuantityValue]]] = Field(
        description="按库位、SKU 汇总（不同 SKU 的单位不同，不相加）：{库位: {SKU: {on_hand, reserved, available}}}"
    )


class AdjustmentIn(InputModel):
    location_code: Code
    lot_code: Code
    kind: Literal["adjustment", "spoilage", "return"]
    quantity: QuantityValue = Field(description="adjustment 可正可负；spoilage（损耗）与 return（退货）填正数")
    reason: str = Field(min_length=1, max_length=200)


class LedgerEntryOut(BaseModel):
    id: int
    created_at: datetime
    kind: str
    kind_zh: str
    sku: str
    location: str
    lot: str
    on_hand_delta: QuantityValue
    reserved_delta: QuantityValue
    actor: str | None
    reason: str
    document_type: str
    document_ref: str
    channel: str | None


class TransferLineIn(InputModel):
    lot_code: Code
    quantity: QuantityValue


class TransferIn(InputModel):
    from_location: Code
    to_location: Code
    lines: list[TransferLineIn] = Field(min_length=1, max_length=200)
    note: str = Field(default="", max_length=200)


class ReceivedLineIn(InputModel):
    lot_code: Code
    quantity: QuantityValue
    reason: str = Field(default="", max_length=200)


class TransferReceiveIn(InputModel):
    lines: list[ReceivedLineIn] = Field(
        default_factory=list, max_length=200, description="只需列出与发货数量不同的行；未列出的视为全数签收"
    )


class TransferLineOut(BaseModel):
    lot: str
    sku: str
    quantity_shipped: QuantityValue
    quantity_received: QuantityValue | None
    difference_reason: str


class TransferOut(BaseModel):
    number: str
    from_location: str
    to_location: str
    status: str
    note: str
    shipped_at: datetime
    received_at: datetime | None
    lines: list[TransferLineOut]


class CountOpenIn(InputModel):
    location_code: Code


class CountLinesIn(InputModel):
    counted: dict[str, QuantityValue] = Field(description="批次号 → 实盘数量", max_length=2000)


class CountLineOut(BaseModel):
    lot: str
    sku: str
    expected: QuantityValue
    counted: QuantityValue | None
    difference: QuantityValue | None


class CountOut(BaseModel):
    number: str
    location: str
    status: str
    lines: list[CountLineOut]


class ReservationLineIn(InputModel):
    sku: Code
    quantity: QuantityValue


class ReservationIn(InputModel):
    reference: Annotated[str, Field(min_length=3, max_length=60, pattern=r"^[A-Za-z0-9_.:-]+$")]
    channel: SalesChannel = SalesChannel.shop
    location_code: str | None = Field(default=None, max_length=30, description="留空则为县级仓库")
    lines: list[ReservationLineIn] = Field(min_length=1, max_length=100)
    ttl_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60, description="留空为默认 15 分钟")


class ReservationLineOut(BaseModel):
    sku: str
    lot: str
    quantity: QuantityValue


class ReservationOut(BaseModel):
    reference: str
    channel: str
    location: str
    status: str
    expires_at: datetime | None
    lines: list[ReservationLineOut]


class SupplierIn(InputModel):
    code: Annotated[str, Field(min_length=2, max_length=20, pattern=r"^[A-Z0-9][A-Z0-9-]*$")]
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["cooperative", "farm", "growing_base", "processor", "household"]
    township: str = Field(min_length=1, max_length=30)
    village: str = Field(default="", max_length=50)
    contact_name: str = Field(default="", max_length=50)
    contact_phone: str | None = Field(default=None, max_length=20)
    certifications: list[Certification] = Field(default_factory=list, max_length=10)
    grows: list[Slug] = Field(default_factory=list, max_length=100, description="该供应商生产的商品（商品 slug）")

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalise_cn_phone(value) if value else None


class SupplierGrowsIn(InputModel):
    grows: list[Slug] = Field(max_length=100, description="该供应商生产的全部商品（商品 slug）；替换原有登记")


class SupplierOut(OutputModel):
    code: str
    name: str
    kind: str
    township: str
    village: str
    contact_name: str
    contact_phone: str | None
    certifications: list[dict[str, str]]
    grows: list[str] = Field(description="登记为其生产者的商品（slug）；只能从登记生产者收货，例外须确认并记录原因")


class LocationOut(OutputModel):
    code: str
    name: str
    kind: str
    is_active: bool
