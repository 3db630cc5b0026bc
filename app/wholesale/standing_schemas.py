"""JSON shapes of standing orders (每周重复订单) for buyers' purchasing systems."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, Field

from app.kit.schemas import InputModel
from app.wholesale.order_schemas import OrderLineIn


class StandingOrderIn(InputModel):
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=200)]
    address_id: int
    weekday: Annotated[int, Field(ge=1, le=7, description="车次是星期几（ISO：1 = 周一 … 7 = 周日）")]
    note: Annotated[str, Field(max_length=200)] = ""


class StandingLineOut(BaseModel):
    sku: str
    cases: int | None = None
    quantity: str | None = None


class WeekOut(BaseModel):
    trip_date: date
    trip: str
    cutoff_at: datetime
    skipped: bool


class OccurrenceOut(BaseModel):
    trip_date: date
    status: str  # placed / failed / skipped
    order_number: str | None
    total_minor: int | None
    reason: str


class StandingOrderOut(BaseModel):
    id: int
    active: bool
    weekday: int
    address_id: int
    lines: list[StandingLineOut]
    note: str
    skipped_dates: list[date]
    next_week: WeekOut | None
    recent: list[OccurrenceOut]
