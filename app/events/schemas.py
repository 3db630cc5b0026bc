"""JSON shapes of farm events and tickets. Prices sent by a client are never read: a ticket order
names a slot and how many adults and children, the server prices it from the event."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.orders.schemas import ContactIn


class StationBrief(BaseModel):
    code: str
    name: str
    address: str


class SlotOut(BaseModel):
    id: int
    starts_at: datetime
    ends_at: datetime
    places: int
    left: int
    cancel_until: datetime = Field(description="此时间前可退票（全额原路退回）")


class EventOut(BaseModel):
    id: int
    title: str
    description: str
    place: str
    meeting_station: StationBrief
    adult_price_minor: int
    child_price_minor: int
    currency: str = "CNY"
    cancel_hours_before: int
    status: str
    slots: list[SlotOut]


class TicketsIn(BaseModel):
    # Prices a client sends are ignored: the server prices from the event.
    model_config = ConfigDict(extra="ignore")
    # Bounded like the pages' ids: a larger number would overflow the database's bigint (a 500).
    slot_id: int = Field(ge=1, le=2**62)
    adults: int = Field(default=0, ge=0, le=20)
    children: int = Field(default=0, ge=0, le=20)
    contact: ContactIn


class TicketOut(BaseModel):
    kind: str
    kind_zh: str
    qr: str = Field(description="门票二维码内容：活动签到时出示（只给订单本人）")
    checked_in_at: datetime | None


class TicketOrderOut(BaseModel):
    order_number: str
    order_status: str
    event_id: int
    event_title: str
    slot: SlotOut
    meeting_station: StationBrief
    tickets: list[TicketOut]
    cancellable: bool


class CheckInIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    code: str = Field(min_length=1, max_length=120, description="扫到的门票二维码内容")


class CheckInOut(BaseModel):
    order_number: str
    event_title: str
    ticket_kind: str
    ticket_kind_zh: str
    checked_in_at: datetime


class OfflineScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    client_id: str = Field(min_length=1, max_length=60, description="设备为这次扫码生成的唯一编号（重传不变）")
    code: str = Field(min_length=1, max_length=120)
    # Aware only: a naive time cannot be compared with the server's clock (it was a 500).
    scanned_at: AwareDatetime = Field(description="离线扫码的时间（带时区）")


class OfflineSyncIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    device_id: str = Field(min_length=1, max_length=40, description="设备编号（每台 PDA 固定）")
    scans: list[OfflineScanIn] = Field(min_length=1, max_length=500)


class SyncResultOut(BaseModel):
    client_id: str
    outcome: str = Field(description="counted 签到 / duplicate 重复（已在别处签到，不计入）/ refused 拒绝")
    message_zh: str
    ticket_kind: str | None = None
    order_number: str | None = None


class EventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=4000)
    place: str = Field(min_length=1, max_length=200)
    meeting_station_code: str = Field(min_length=1, max_length=20)
    adult_price_minor: int = Field(ge=0, le=10_000_000)
    child_price_minor: int = Field(ge=0, le=10_000_000)
    cancel_hours_before: int = Field(default=24, ge=0, le=1440)


class SlotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starts_at: datetime
    ends_at: datetime
    places: int = Field(ge=1, le=10_000)


class CancelEventIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    reason: str = Field(min_length=1, max_length=150)


class CancelledOut(BaseModel):
    event_id: int
    orders_cancelled: int
