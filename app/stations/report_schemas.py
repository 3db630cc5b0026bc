"""Request and response models of the upstream, service-case and monthly-report routes."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from app.kit.schemas import InputModel, QuantityValue


class HouseholdIn(InputModel):
    name: str = Field(min_length=1, max_length=50, description="农户姓名")
    phone: str = Field(min_length=5, max_length=20, description="农户手机号")
    village: str = Field(default="", max_length=50, description="留空则为本站所在村")


class ConsignmentIn(InputModel):
    sku: str = Field(min_length=1, max_length=40)
    weight_kg: QuantityValue = Field(description='过磅重量，千克，十进制字符串，精确到克，例如 "12.345"')
    quantity: QuantityValue | None = Field(
        default=None, description="按个或按箱计的商品必填整数；按千克/斤计的商品由重量得出（1 千克 = 2 斤）"
    )
    harvest_date: date
    grade: str = Field(default="", max_length=30)
    certificate_no: str = Field(default="", max_length=60, description="承诺达标合格证编号")
    value_minor: int = Field(ge=0, description="付给农户或估价的金额（分）")
    supplier_code: str | None = Field(default=None, min_length=1, max_length=20, description="已登记的供应商")
    household: HouseholdIn | None = Field(default=None, description="未登记的农户（与 supplier_code 二选一）")
    station_code: str | None = Field(
        default=None, max_length=20, description="可选；若填写须为本设备绑定的村站，否则 403 station_forbidden"
    )


class ConsignmentOut(BaseModel):
    number: str
    station_code: str
    supplier_code: str
    supplier_name: str
    sku: str
    unit: str
    quantity: QuantityValue
    weight_kg: QuantityValue
    value_minor: int
    currency: str = "CNY"
    lot_code: str = Field(description="打印批次标签用的批次码")
    label_url: str = Field(description="批次标签 PDF（70 × 50 mm）")
    trace_url: str
    transfer_number: str | None = Field(description="发往县级仓库的调拨单（在途，由仓库签收）")
    created_at: datetime


class CaseOut(BaseModel):
    id: int
    station_code: str
    kind: str
    kind_zh: str
    title: str
    note: str
    has_person_phone: bool = Field(description="是否登记了服务对象电话（号码本身不返回）")
    photo_url: str | None
    created_at: datetime


class StationMonthOut(BaseModel):
    code: str
    name: str
    township: str
    is_demonstration: bool
    parcels_in: int
    handed_over: int
    returned: int
    upstream_kg: QuantityValue
    upstream_value_minor: int
    people_served: int
    assist_farmer_cases: int = Field(description="本月助农案例")
    convenience_cases: int = Field(description="本月便民案例")
    cases_by_kind: dict[str, int] = Field(description="本月案例数：assist_farmer 助农、convenience 便民")
    total_assist_farmer_cases: int
    total_people_served: int
    total_convenience_cases: int
    assist_farmer_met: bool
    people_met: bool
    convenience_met: bool
    criteria_met: bool
    subsidy_parcels_minor: int
    subsidy_upstream_minor: int
    subsidy_minor: int
    currency: str
    cash_refunds: int = Field(default=0, description="本月在站退还现金的笔数（售后理赔，到站现金付款的订单）")
    cash_refunded_minor: int = Field(default=0, description="本月在站退还的现金（分）")


class CriteriaOut(BaseModel):
    min_assist_farmer_cases: int
    min_people_served: int
    min_convenience_cases: int
    rule: str


class RatesOut(BaseModel):
    per_parcel_in_minor: int
    per_upstream_kg_minor: int


class StationReportOut(BaseModel):
    year: int
    month: int
    timezone: str
    criteria: CriteriaOut
    subsidy_rates: RatesOut
    stations: list[StationMonthOut]
