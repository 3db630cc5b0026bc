from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.stations.tracking import MAX_SCAN, MAX_TRACKING, tracking_from_scan


def _tracking_number(scanned: str) -> str:
    number = tracking_from_scan(scanned)
    if not 6 <= len(number) <= MAX_TRACKING:
        raise ValueError(f"运单号应为 6–{MAX_TRACKING} 位")
    return number


# What a PDA sends as it was scanned: the number from the label's Code128, or the label QR's status
# page URL (``…/p/NPP…``), whose last path segment is the number.
ScannedTracking = Annotated[
    str,
    Field(
        min_length=6,
        max_length=MAX_SCAN,
        description="运单号：面单条码，或面单二维码的内容（包裹查询页地址，取最后一段）",
    ),
    AfterValidator(_tracking_number),
]


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    tracking_number: ScannedTracking


class HandoverIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    tracking_number: ScannedTracking
    pickup_code: str | None = Field(default=None, max_length=20)
    order_qr: str | None = Field(default=None, max_length=80, description="顾客订单页上的取货二维码内容")
    collect_method: Literal["cash", "qr"] | None = Field(default=None, description="到站付款订单：现金或扫码")
    collected_by_name: str = Field(default="", max_length=50, description="代取人姓名")
    proxy: bool = False


class ParcelOut(BaseModel):
    tracking_number: str
    order_number: str
    status: str
    status_zh: str
    station_code: str
    shelf_slot: str | None = Field(description="货位（货架-层）；取货码是顾客的凭证，不在站点接口中返回")
    recipient_masked: str
    phone_last4: str
    amount_due_minor: int
    arrived_at: datetime | None
    retention_until: datetime | None


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    route_code: str = Field(min_length=2, max_length=20)
    run_date: date


class RunOut(BaseModel):
    number: str
    route_code: str
    run_date: date
    status: str
    parcels: list[ParcelOut]
