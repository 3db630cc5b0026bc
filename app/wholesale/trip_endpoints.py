"""Wholesale JSON API: the PRD trips a buyer's purchasing system can order for."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.accounts.access import BuyerOrStaffUser
from app.db import DbSession
from app.wholesale import trips
from app.wholesale.trip_schemas import TripOut

router = APIRouter(prefix="/api/v1/wholesale", tags=["wholesale"])

TRIP_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not_authenticated"},
    403: {"description": "role_not_allowed / scope_missing / company_not_approved"},
    422: {"description": "validation_error / invalid_input（days 超出 1–60）"},
}


@router.get("/trips", response_model=list[TripOut], responses=TRIP_ERRORS)
async def upcoming_trips(
    session: DbSession,
    _: BuyerOrStaffUser,
    city: Annotated[str, Query(min_length=2, max_length=20, description="珠三角城市，如 广州（“广州市”亦可）")],
    days: Annotated[int, Query(ge=1, le=trips.MAX_HORIZON_DAYS, description="从今天（中国时间）起的天数")] = (
        trips.DEFAULT_HORIZON_DAYS
    ),
    cold_chain: Annotated[bool, Query(description="只看冷链车次")] = False,
) -> list[TripOut]:
    """Upcoming trips to the city, earliest first: cut-off (China time), whether it still takes
    orders now, and the room left in kg and cases. An empty list: no truck goes there."""
    slots = await trips.upcoming_trips(session, city, days=days, cold_chain=cold_chain)
    return [TripOut.model_validate(slot) for slot in slots]
