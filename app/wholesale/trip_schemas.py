"""What a PRD route is made of (the console's form and any API use one input model), and the
JSON shape of an upcoming trip."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Annotated

from pydantic import Field, field_validator

from app.kit.schemas import InputModel, OutputModel, QuantityValue
from app.wholesale.trip_models import TripStatus

CITY_SEPARATORS = re.compile(r"[,，、;；/\s]+")
MAX_CAPACITY_KG = Decimal(100_000)  # the largest road truck is well under 100 t
MAX_CAPACITY_CASES = 20_000


def split_cities(raw: str) -> list[str]:
    """Cities as people type them: 广州、佛山 / 广州市, 佛山 (separators of either width)."""
    return [part for part in CITY_SEPARATORS.split(raw) if part]


def normalise_city(raw: str) -> str:
    """广州市 and 广州 are one city: names are kept without the 市 suffix."""
    name = raw.strip()
    return name.removesuffix("市") if len(name) > 2 else name


class RouteInput(InputModel):
    """A PRD route as the ops console sets it; the code is fixed once the route exists."""

    code: Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{1,19}$")]
    name: Annotated[str, Field(min_length=2, max_length=100)]
    cities: Annotated[list[Annotated[str, Field(min_length=2, max_length=20)]], Field(min_length=1, max_length=12)]
    weekdays: Annotated[list[Annotated[int, Field(ge=1, le=7)]], Field(min_length=1, max_length=7)]
    cutoff_time: time
    cutoff_days_before: Annotated[int, Field(ge=0, le=6)]
    capacity_kg: QuantityValue
    capacity_cases: Annotated[int, Field(gt=0, le=MAX_CAPACITY_CASES)]
    cold_chain: bool = False
    is_active: bool = True

    @field_validator("code", mode="before")
    @classmethod
    def _upper_code(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("cities", mode="before")
    @classmethod
    def _cities(cls, value: object) -> object:
        if isinstance(value, str):
            value = split_cities(value)
        if not isinstance(value, list):
            return value
        unique: list[str] = []
        for city in value:
            name = normalise_city(city) if isinstance(city, str) else city
            if name not in unique:
                unique.append(name)
        return unique

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        return sorted(set(value))

    @field_validator("cutoff_time")
    @classmethod
    def _whole_minutes(cls, value: time) -> time:
        return value.replace(second=0, microsecond=0)

    @field_validator("capacity_kg")
    @classmethod
    def _capacity_kg(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("须大于 0")
        if value > MAX_CAPACITY_KG:
            raise ValueError(f"须不大于 {MAX_CAPACITY_KG} 千克")
        return value


class TripOut(OutputModel):
    """An upcoming trip as a buyer's purchasing system sees it."""

    number: str
    route_code: str
    route_name: str
    cities: list[str]
    departure_date: date
    status: TripStatus
    cold_chain: bool
    cutoff_at: datetime = Field(description="截单时间（UTC 时刻）；页面显示为中国时间")
    cutoff_local: str = Field(description="截单时间，中国时间，如 12-09 周三 18:00")
    is_open: bool = Field(description="现在是否仍可下单到这个车次（未过截单时间且待装车）")
    capacity_kg: QuantityValue
    capacity_cases: int
    remaining_kg: QuantityValue
    remaining_cases: int
