"""What the till sends to take goods back against a receipt, and what it gets back."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.kit.schemas import InputModel


class ReturnLineIn(InputModel):
    order_line_id: int = Field(description="小票上的商品行（销售查询返回的 order_line_id）")
    quantity: str = Field(min_length=1, max_length=20, description="退货数量（计价单位），最多三位小数")


class ReturnIn(InputModel):
    client_id: uuid.UUID = Field(description="收银机生成的退货 ID：同一请求重发得到同一张退货单")
    sale_number: str = Field(min_length=3, max_length=20, description="小票上的销售单号")
    lines: list[ReturnLineIn] = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=200, description="退货原因")
    approval_token: str | None = Field(default=None, max_length=600, description="店员退货需店长授权")


class ReturnLineOut(BaseModel):
    order_line_id: int
    sku: str
    name_zh: str
    unit: str
    quantity: str
    refund_minor: int


class ReturnOut(BaseModel):
    client_id: uuid.UUID
    number: str
    sale_number: str
    refund_minor: int = Field(description="从本班钱箱退给顾客的现金（分）")
    reason: str
    returned_at: datetime
    approved_by: str | None = Field(description="授权的店长")
    lines: list[ReturnLineOut]
