"""Standing orders (每周重复订单) JSON API for buyers' purchasing systems (a buyer signed in, or
the company's API key with scope ``wholesale``): list, create, skip the next week. Another
company's standing order is a 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from app.accounts.access import BuyerUser, Principal
from app.db import DbSession
from app.wholesale import ordering, standing
from app.wholesale import standing_schemas as schemas

router = APIRouter(prefix="/api/v1/wholesale/standing-orders", tags=["wholesale standing orders"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "standing_order_not_found"}}


def _out(view: standing.StandingView) -> schemas.StandingOrderOut:
    s, week = view.standing, view.week
    return schemas.StandingOrderOut(
        id=s.id,
        active=s.is_active,
        weekday=s.weekday,
        address_id=s.delivery_address_id,
        lines=[schemas.StandingLineOut.model_validate(line) for line in s.lines],
        note=s.note,
        skipped_dates=list(s.skipped_dates),
        next_week=schemas.WeekOut(
            trip_date=week.trip_date, trip=week.trip_number, cutoff_at=week.cutoff_at, skipped=week.skipped
        )
        if week is not None
        else None,
        recent=[
            schemas.OccurrenceOut(
                trip_date=o.trip_date,
                status=o.status,
                order_number=o.order_number,
                total_minor=o.total_minor,
                reason=o.reason_zh,
            )
            for o in view.recent
        ],
    )


async def _one(session: DbSession, principal: Principal, standing_id: int) -> schemas.StandingOrderOut:
    views = await standing.company_standing(session, principal)
    return next(_out(v) for v in views if v.standing.id == standing_id)


@router.get("", response_model=list[schemas.StandingOrderOut])
async def list_standing(session: DbSession, principal: BuyerUser) -> list[schemas.StandingOrderOut]:
    """The company's standing orders with their next week and latest weeks."""
    return [_out(v) for v in await standing.company_standing(session, principal)]


@router.post(
    "",
    response_model=schemas.StandingOrderOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        404: {"description": "delivery_address_not_found"},
        422: {"description": "basket_invalid / standing_no_trip_on_weekday"},
    },
)
async def create_standing(
    body: schemas.StandingOrderIn, session: DbSession, principal: BuyerUser
) -> schemas.StandingOrderOut:
    """A standing order: these lines, to this address, on the trip of this weekday every week,
    placed ``WHOLESALE_STANDING_LEAD_HOURS`` before each trip's cut-off."""
    made = await standing.create(
        session,
        principal,
        [ordering.BasketLine(line.sku, cases=line.cases, quantity=line.quantity) for line in body.lines],
        address_id=body.address_id,
        weekday=body.weekday,
        note=body.note,
    )
    return await _one(session, principal, made.id)


@router.post(
    "/{standing_id}/skip",
    response_model=schemas.StandingOrderOut,
    responses={**NOT_FOUND, 409: {"description": "standing_already_skipped"}},
)
async def skip_next(standing_id: int, session: DbSession, principal: BuyerUser) -> schemas.StandingOrderOut:
    """Skip the next week (one week at a time)."""
    await standing.skip_next(session, principal, standing_id)
    return await _one(session, principal, standing_id)
