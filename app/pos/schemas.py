"""POS API shapes: signing in at a till, scanning, the till's catalog."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from app.accounts.models import Role
from app.kit.quantities import Unit
from app.kit.schemas import InputModel


class SessionIn(InputModel):
    username: str = Field(min_length=1, max_length=50, description="工号（用户名）")
    pin: str = Field(min_length=1, max_length=12, description="4–6 位数字 PIN")


class OpenShiftOut(BaseModel):
    client_id: uuid.UUID
    opened_at: datetime
    float_minor: int


class SessionOut(BaseModel):
    access_token: str | None = Field(description="收银会话令牌，只在登录时返回一次；之后为 null")
    token_type: str = "bearer"  # noqa: S105 - OAuth2 token type, not a secret
    scope: str = "pos"
    expires_at: datetime
    store_code: str
    store_name: str
    till_code: str
    till_name: str
    sale_prefix: str
    username: str
    display_name: str
    role: Role
    role_label_zh: str
    next_sale_seq: int = Field(description="下一笔销售的序号：服务器上本机销售单号最大序号 + 1（单号为 前缀-六位序号）")
    open_shift: OpenShiftOut | None = Field(description="本机未结的班次，没有则为 null")
    discount_limit_percent: int = Field(description="店员可自行给的整单折扣上限（小计的百分比）")
    is_manager: bool = Field(description="登录的人是本店店长（折扣、取现、差额不需再输店长 PIN）")


class ScanIn(InputModel):
    code: str = Field(min_length=1, max_length=40, description="扫码枪输入的条码（回车前的数字）")


class PluLineIn(InputModel):
    plu: int = Field(ge=1, le=999_999, description="称重商品的 PLU 编号")
    weight: str = Field(min_length=1, max_length=20, description="重量，最多三位小数，单位见 unit")
    unit: Unit = Field(description="输入重量的单位，必须是该商品的计价单位（jin 斤 / kg 千克）")


class TillLineOut(BaseModel):
    source: str = Field(description="product / weight_label / price_label / plu_key")
    code: str | None = Field(description="扫描的条码（13 位形式）")
    variant_id: int
    sku: str
    product_name_zh: str
    product_name_en: str
    name_zh: str
    name_en: str
    unit: Unit
    unit_label_zh: str
    quantity: str = Field(description="数量（计价单位），十进制字符串")
    unit_price_minor: int
    line_total_minor: int = Field(description="行金额（分），只舍入一次；价格标签即标签上的金额")
    currency: str
    plu: int | None
    grams: int | None = Field(description="称重行的重量（克）")
    label_price_minor: int | None = Field(description="价格标签上的金额（分）")


class CatalogTierOut(BaseModel):
    min_quantity: str
    unit_price_minor: int


class CatalogItemOut(BaseModel):
    variant_id: int
    sku: str
    barcode: str | None
    plu: int | None
    product_name_zh: str
    product_name_en: str
    name_zh: str
    name_en: str
    unit: Unit
    unit_label_zh: str
    weighed: bool
    unit_price_minor: int = Field(description="零售价（分 / 计价单位）")
    tiers: list[CatalogTierOut]
    stock: str = Field(description="本店库位可用数量（仅供参考，不限制销售）")


class ScaleLayoutOut(BaseModel):
    prefixes: list[str] = Field(description="两位前缀 20–29")
    value: str = Field(description="weight（克）/ price（分）")
    item_digits: int
    value_digits: int
    price_check: bool = Field(description="数值前是否有价格校验位")


class CatalogOut(BaseModel):
    version: str = Field(description="内容版本，与 ETag 相同（不含引号）")
    currency: str
    items: list[CatalogItemOut]
    scale_layout: list[ScaleLayoutOut] = Field(description="秤签布局（POS_SCALE_LABEL_LAYOUT），收银机离线解码用")
