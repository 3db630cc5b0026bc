from __future__ import annotations

from datetime import datetime, time

from pydantic import BaseModel, Field

from app.accounts.models import CompanyStatus, PaymentTerms
from app.kit.schemas import InputModel, OutputModel


class DeliveryAddressOut(OutputModel):
    id: int
    city: str
    address: str
    receiving_from: time
    receiving_until: time
    contact_name: str
    contact_phone: str


class CompanyProfileOut(BaseModel):
    """A company's own profile and terms (``GET /api/v1/wholesale/company``)."""

    id: int
    name: str
    credit_code: str | None
    status: CompanyStatus
    contact_name: str
    contact_phone: str
    payment_terms: PaymentTerms
    payment_terms_days: int = Field(description="账期天数；预付款为 0")
    credit_limit_minor: int = Field(description="信用额度（分）；预付款企业为 0")
    currency: str
    price_list: str = Field(description="company：本企业协议价；wholesale：珠三角批发价")
    delivery_weekdays: list[int] = Field(description="送货日，ISO 星期（1 = 周一 … 7 = 周日）")
    delivery_addresses: list[DeliveryAddressOut]
    fapiao_title: str | None
    fapiao_tax_number: str | None


class ApiKeyIn(InputModel):
    label: str = Field(min_length=1, max_length=100, description="密钥名称，如 采购系统")


class ApiKeyOut(OutputModel):
    id: int
    prefix: str
    label: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyIssuedOut(BaseModel):
    key: ApiKeyOut
    access_token: str = Field(description="只显示这一次；服务器只保存其哈希")


class TermsIn(InputModel):
    """A company's terms as the centre sets them (``POST /api/v1/admin/companies/{id}/terms``)."""

    payment_terms: PaymentTerms
    credit_limit_minor: int = Field(default=0, ge=0, description="信用额度（分）；月结必填，预付款忽略")
    delivery_weekdays: list[int] = Field(min_length=1, description="送货日，ISO 星期（1 = 周一 … 7 = 周日）")
    price_list: str = Field(default="wholesale", pattern="^(wholesale|company)$")
    fapiao_title: str = Field(default="", max_length=200)
    fapiao_tax_number: str = Field(default="", max_length=20)
    fapiao_address_phone: str = Field(default="", max_length=300)
    fapiao_bank_account: str = Field(default="", max_length=300)


class ReasonIn(InputModel):
    reason: str = Field(min_length=1, max_length=300, description="原因（记入企业记录）")


class CompanyEventOut(BaseModel):
    action: str
    actor: str | None = Field(description="操作人用户名；申请人为 null")
    detail: dict[str, object]
    created_at: datetime


class AdminCompanyOut(CompanyProfileOut):
    status_reason: str | None
    events: list[CompanyEventOut]
