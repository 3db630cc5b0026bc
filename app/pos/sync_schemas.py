"""What a till uploads (``POST /api/v1/pos/sync``): its queue of operations, in the order the till
made them, each with the till's own id (``client_id``, a UUID made in the browser).

The till puts everything that changes the books into one queue — opening a shift, cash in or out,
a sale, closing the shift — and uploads it whenever it can (at once when online; when the network
returns otherwise), at most ``MAX_OPS`` per request. The server records each operation exactly once:
an operation it already has answers ``duplicate`` with what was recorded, so a batch retried after a
cut-off, or sent twice from two connections, changes nothing more. The till removes an operation
from its queue only when the answer is ``recorded`` or ``duplicate``; ``rejected`` ones stay, shown
to the clerk with the error.

Amounts are integers in fen; quantities decimal strings in the variant's unit of sale.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.kit.schemas import InputModel

MAX_OPS = 50


class ShiftOpenOp(InputModel):
    kind: Literal["shift_open"]
    client_id: uuid.UUID = Field(description="班次的客户端 ID（也是之后各操作的 shift_client_id）")
    at: datetime = Field(description="收银机时间（带时区）")
    float_minor: int = Field(ge=0, le=10_000_000, description="备用金（分）")


class CashMovementOp(InputModel):
    kind: Literal["cash_movement"]
    client_id: uuid.UUID
    shift_client_id: uuid.UUID
    at: datetime
    direction: Literal["in", "out"]
    amount_minor: int = Field(gt=0, le=10_000_000)
    reason: str = Field(min_length=1, max_length=200)
    approval_token: str | None = Field(default=None, max_length=600, description="取出现金需店长授权")


class SaleLineIn(InputModel):
    variant_id: int
    sku: str = Field(max_length=40)
    source: Literal["product", "weight_label", "price_label", "plu_key", "search"]
    code: str | None = Field(default=None, max_length=20, description="扫描的条码（13 位形式）")
    grams: int | None = Field(default=None, ge=1, le=1_000_000)
    quantity: str = Field(min_length=1, max_length=20, description="数量（计价单位），最多三位小数")
    unit_price_minor: int = Field(ge=0, description="收银机上的单价（分）")
    line_total_minor: int = Field(ge=0, description="收银机上的行金额（分），已舍入一次")


class TenderIn(InputModel):
    method: Literal["cash", "qr"]
    wallet: Literal["wechat", "alipay"] | None = None
    amount_minor: int = Field(gt=0, le=100_000_000, description="现金：实收；扫码：到账金额")
    reference_tail: str = Field(default="", max_length=12, pattern=r"^[0-9A-Za-z]*$", description="流水号末几位")


class SaleOp(InputModel):
    kind: Literal["sale"]
    client_id: uuid.UUID
    shift_client_id: uuid.UUID
    number: str = Field(min_length=3, max_length=20, description="收银机前缀 + 序号")
    at: datetime
    made_offline: bool = False
    lines: list[SaleLineIn] = Field(min_length=1, max_length=200)
    discount_minor: int = Field(default=0, ge=0)
    discount_reason: str = Field(default="", max_length=100)
    approval_token: str | None = Field(default=None, max_length=600, description="超过店员折扣上限需店长授权")
    tenders: list[TenderIn] = Field(min_length=1, max_length=6)
    change_minor: int = Field(default=0, ge=0, description="找零（分），只能来自现金")


class ShiftCloseOp(InputModel):
    kind: Literal["shift_close"]
    client_id: uuid.UUID = Field(description="关闭操作本身的客户端 ID")
    shift_client_id: uuid.UUID
    at: datetime
    made_offline: bool = False
    # {"10000": 2, "5000": 1, "100": 7, ...}: denomination in fen → count.
    counted: dict[str, int] = Field(description="按面额清点的现金：面额（分）→ 张/枚数")
    approval_token: str | None = Field(default=None, max_length=600, description="有差额时需店长授权")


SyncOp = Annotated[ShiftOpenOp | CashMovementOp | SaleOp | ShiftCloseOp, Field(discriminator="kind")]


class SyncIn(InputModel):
    ops: list[SyncOp] = Field(min_length=1, max_length=MAX_OPS)


class SyncError(BaseModel):
    code: str
    message: str


class SyncResult(BaseModel):
    client_id: uuid.UUID
    kind: str
    outcome: Literal["recorded", "duplicate", "rejected"]
    number: str | None = Field(default=None, description="销售单号 / 班次号")
    public_url: str | None = Field(default=None, description="销售的公开小票页（二维码内容）")
    error: SyncError | None = None


class SyncOut(BaseModel):
    results: list[SyncResult]


class ApprovalIn(InputModel):
    """A store manager's user name and PIN typed on the till to allow one operation."""

    username: str = Field(min_length=1, max_length=50)
    pin: str = Field(min_length=1, max_length=12)
    action: Literal["discount", "cash_out", "variance", "return"]
    op_client_id: uuid.UUID = Field(description="要授权的那一笔操作的客户端 ID")
    amount_minor: int = Field(ge=0, le=100_000_000, description="授权的金额上限（分）：折扣、取现、差额绝对值或退款")


class ApprovalOut(BaseModel):
    approval_token: str
    manager_username: str
    manager_name: str
