"""Claims as the API and the pages show them."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.claims import repository, schemas, service
from app.claims.models import Claim
from app.kit import clock
from app.orders.models import Order, OrderStatus


def customer_photo_base(order_number: str, claim_id: int) -> str:
    return f"/orders/{order_number}/claims/{claim_id}/photos/"


def staff_photo_base(claim_id: int) -> str:
    return f"/admin/claims/{claim_id}/photos/"


async def customer_claims_out(session: AsyncSession, order_id: int, order_number: str) -> list[schemas.ClaimOut]:
    return [
        await claim_out(session, claim, photo_base=customer_photo_base(order_number, claim.id))
        for claim in await repository.claims_of_order(session, order_id)
    ]


async def claim_out(session: AsyncSession, claim: Claim, *, photo_base: str) -> schemas.ClaimOut:
    """``claim`` with its lines, lots and photos loaded; ``photo_base``: where this reader fetches
    the photos (the customer's order path or the ops console), a file name is appended."""
    order = await repository.order_of(session, claim.order_id)
    assert order is not None
    lines = {line.id: line for line in order.lines}
    codes = await repository.claim_lot_codes(session, sorted({lot.lot_id for cl in claim.lines for lot in cl.lots}))
    return schemas.ClaimOut(
        id=claim.id,
        order_number=order.number,
        status=claim.status.value,
        status_zh=claim.status.label_zh,
        reason=claim.reason,
        filed_at=claim.filed_at,
        claimed_minor=claim.claimed_minor,
        approved_minor=claim.approved_minor,
        currency=claim.currency,
        reviewed_at=claim.reviewed_at,
        review_note=claim.review_note,
        refunded=claim.refund_id is not None,
        lines=[
            schemas.ClaimLineOut(
                id=cl.id,
                sku=lines[cl.order_line_id].sku,
                name_zh=lines[cl.order_line_id].name_zh,
                unit=lines[cl.order_line_id].unit,
                quantity=cl.quantity,
                amount_minor=cl.amount_minor,
                approved_quantity=cl.approved_quantity,
                approved_minor=cl.approved_minor,
                lots=[
                    schemas.ClaimLineLotOut(
                        lot_code=codes.get(lot.lot_id, ""),
                        quantity=lot.quantity,
                        approved_quantity=lot.approved_quantity,
                    )
                    for lot in cl.lots
                ],
            )
            for cl in claim.lines
        ],
        photos=[
            schemas.ClaimPhotoOut(
                url=photo_base + PurePosixPath(p.path).name,
                thumb_url=photo_base + PurePosixPath(p.thumb_path).name,
                width=p.width,
                height=p.height,
            )
            for p in claim.photos
        ],
    )


async def order_page_claims(session: AsyncSession, order: Order, *, customer: bool) -> dict[str, Any]:
    """What the order page shows of claims: to the order's customer, their claims and whether one
    can be filed now (and until when); staff read claims on the ops console instead."""
    if not customer:
        return {"claims": [], "claim_window": None, "claim_open": False}
    window = await service.window_of(session, order)
    is_open = window is not None and window.open_at(clock.now()) and order.status is OrderStatus.completed
    return {
        "claims": await customer_claims_out(session, order.id, order.number),
        "claim_window": window,
        # Offered only while some quantity is left to claim.
        "claim_open": is_open and bool(await service.claimable_lines(session, order.id)),
    }
