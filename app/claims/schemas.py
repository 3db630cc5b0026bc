"""What the claim routes answer and accept."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel, Field

from app.kit.schemas import QuantityValue

# A claim id in a path: bounded so an overflowing number is a 422, not a database error (bigint).
ClaimId = Annotated[int, Path(ge=1, le=2**62)]


class ClaimLineLotOut(BaseModel):
    lot_code: str
    quantity: QuantityValue
    approved_quantity: QuantityValue


class ClaimLineOut(BaseModel):
    id: int
    sku: str
    name_zh: str
    unit: str
    quantity: QuantityValue
    amount_minor: int
    approved_quantity: QuantityValue | None
    approved_minor: int
    lots: list[ClaimLineLotOut]


class ClaimPhotoOut(BaseModel):
    url: str
    thumb_url: str
    width: int
    height: int


class ClaimOut(BaseModel):
    id: int
    order_number: str
    status: str
    status_zh: str
    reason: str
    filed_at: datetime
    claimed_minor: int
    approved_minor: int
    currency: str
    reviewed_at: datetime | None
    review_note: str
    refunded: bool = Field(description="退款已发起（在线支付原路退回，或村站现金退款已登记）")
    lines: list[ClaimLineOut]
    photos: list[ClaimPhotoOut]


class ReviewLineIn(BaseModel):
    line_id: int
    approved_quantity: str = Field(max_length=20, description="同意的数量（十进制字符串），0 到申请数量")


class ReviewIn(BaseModel):
    lines: list[ReviewLineIn] = Field(default_factory=list, max_length=50)
    note: str = Field(default="", max_length=300, description="审核说明；拒绝时必填（会短信告知顾客）")
