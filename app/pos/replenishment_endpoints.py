"""POS JSON API: a till asks the warehouse for goods (``POST /api/v1/pos/replenishment``, rule
``at_till``: the request is for the till's own store)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.accounts.access import TillClerk
from app.db import DbSession
from app.kit.idempotency import idempotent_json
from app.kit.quantities import format_quantity
from app.pos import replenishment

router = APIRouter(prefix="/api/v1/pos", tags=["pos"])


class ReplenishmentLineOut(BaseModel):
    sku: str
    name_zh: str
    quantity: str


class ReplenishmentOut(BaseModel):
    number: str
    status: str
    store_code: str
    note: str
    lines: list[ReplenishmentLineOut]


@router.post(
    "/replenishment",
    response_model=ReplenishmentOut,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "replenishment_invalid (unknown SKU, a fraction of a piece)"}},
)
async def request_replenishment(
    body: replenishment.ReplenishmentIn,
    request: Request,
    session: DbSession,
    principal: TillClerk,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=100, description="重试时用同一个键：只记一次申请"),
    ] = None,
) -> JSONResponse:
    """Ask the county warehouse for goods for the till's store: lines of SKU and quantity (in the
    variant's unit), a note. Answered with the request's number ``BH-YYYYMMDD-NNNN``; a retry with
    the same ``Idempotency-Key`` answers the first request again without making another."""

    async def work() -> dict[str, Any]:
        view = await replenishment.request_at_till(session, principal, body)
        return ReplenishmentOut(
            number=view.request.number,
            status=view.request.status,
            store_code=view.row.store.code,
            note=view.request.note,
            lines=[
                ReplenishmentLineOut(sku=line.sku, name_zh=line.name_zh, quantity=format_quantity(line.line.quantity))
                for line in view.lines
            ],
        ).model_dump(mode="json")

    return await idempotent_json(
        session, request, scope=f"till:{principal.till_id}", key=idempotency_key, body=body, work=work
    )
