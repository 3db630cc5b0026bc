from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from app.accounts.models import CompanyStatus, Role, TokenKind
from app.kit.phones import normalise_cn_phone
from app.kit.schemas import InputModel, OutputModel

Username = Annotated[str, Field(min_length=2, max_length=50, pattern=r"^[A-Za-z0-9_.-]+$")]


def _optional_phone(value: str | None) -> str | None:
    return normalise_cn_phone(value) if value else None


# A staff member's phone: optional; stored in E.164 (a mainland number without +86 is accepted).
OptionalPhone = Annotated[str | None, Field(max_length=20), AfterValidator(_optional_phone)]


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - OAuth2 token type, not a secret
    expires_at: datetime
    scope: str


class SmsCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    phone: str = Field(min_length=5, max_length=20, description="中国大陆手机号")


class SmsCodeOut(BaseModel):
    phone_masked: str
    ttl_minutes: int
    resend_after_seconds: int


class SmsSignInIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    phone: str = Field(min_length=5, max_length=20)
    code: str = Field(min_length=4, max_length=10, description="短信验证码")


class MeOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    role: Role
    role_label_zh: str
    scopes: list[str]
    company_id: int | None
    company_approved: bool
    station_id: int | None
    store_id: int | None


class UserIn(InputModel):
    username: Username
    password: str = Field(min_length=8, max_length=200)
    role: Role
    display_name: str = Field(default="", max_length=50)
    phone: OptionalPhone = None
    company_id: int | None = None
    station_id: int | None = None
    store_id: int | None = None


class ProfileIn(InputModel):
    display_name: str = Field(default="", max_length=50)
    phone: OptionalPhone = None


class UserOut(OutputModel):
    id: int
    username: str
    display_name: str
    role: Role
    phone: str | None
    is_active: bool
    company_id: int | None
    station_id: int | None
    store_id: int | None


class DeviceTokenIn(InputModel):
    kind: TokenKind
    user_id: int
    label: str = Field(min_length=1, max_length=100)
    station_id: int | None = None
    store_id: int | None = None
    till_id: int | None = None


class DeviceTokenOut(BaseModel):
    id: int
    access_token: str = Field(description="只显示这一次；服务器只保存其哈希")
    kind: TokenKind
    label: str
    scopes: list[str]
    expires_at: datetime


class ApiTokenOut(OutputModel):
    id: int
    user_id: int
    prefix: str
    kind: TokenKind
    label: str
    scopes: list[str]
    station_id: int | None
    store_id: int | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class CompanyApplicationIn(InputModel):
    name: str = Field(min_length=2, max_length=200)
    city: str = Field(min_length=2, max_length=50)
    contact_name: str = Field(min_length=1, max_length=50)
    contact_phone: str = Field(min_length=5, max_length=20)
    address: str = Field(default="", max_length=300)
    credit_code: Annotated[str | None, Field(default=None, pattern=r"^[0-9A-HJ-NPQRTUWXY]{18}$")] = None
    username: Username = Field(description="审核通过后开通的采购商账号用户名")
    password: str = Field(min_length=8, max_length=200)

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalise_cn_phone(value)


class CompanyOut(OutputModel):
    id: int
    name: str
    city: str
    credit_code: str | None
    contact_name: str
    contact_phone: str
    address: str
    status: CompanyStatus
    payment_terms_days: int
    credit_limit_minor: int
    approved_at: datetime | None
    applicant_username: str | None = Field(description="申请开通的账号用户名（审核通过后开通）")


class CompanyApprovalIn(InputModel):
    username: Username | None = Field(
        default=None, description="申请的用户名已被占用时，为该采购商另设的用户名；不填则用申请的用户名"
    )


class UserStatusIn(InputModel):
    active: bool = Field(description="false：停用（登录、网页会话与全部令牌立即失效）；true：恢复启用")


class PasswordResetIn(InputModel):
    password: str | None = Field(
        default=None, min_length=8, max_length=200, description="新密码；不填则生成一个随机密码，只在本次响应中返回"
    )


class PasswordResetOut(BaseModel):
    user: UserOut
    password: str | None = Field(description="生成的密码（只返回这一次）；指定了密码时为 null")


class AffiliationIn(InputModel):
    station_id: int | None = Field(default=None, description="村站站长改绑到的村站")
    store_id: int | None = Field(default=None, description="门店店员改绑到的门店")


class AffiliationOut(BaseModel):
    user: UserOut
    previous_id: int | None = Field(description="原来的村站（门店）id")
    revoked_devices: int = Field(description="因改绑而吊销的原村站 PDA（原门店收银机）令牌数")


class EnrolmentIn(InputModel):
    kind: TokenKind = Field(description="station_pda 或 pos_till")
    station_id: int | None = None
    store_id: int | None = None
    till_id: int | None = Field(default=None, description="收银机（pos_till 必填，须属于 store_id 门店）")
    user_id: int | None = Field(
        default=None, description="PDA 令牌所属账号（该村站的站长）；村站只有一位站长时可不填。收银机令牌记录登记人"
    )


class EnrolmentOut(BaseModel):
    id: int
    code: str = Field(description="一次性登记码（只显示这一次），如 ABCD-EFGH")
    qr_text: str = Field(description="二维码内容：本站登记接口地址 + ?code=")
    kind: TokenKind
    station_id: int | None
    store_id: int | None
    user_id: int
    expires_at: datetime


class DeviceEnrolIn(InputModel):
    code: str = Field(min_length=8, max_length=300, description="登记码（ABCD-EFGH，不分大小写），或扫到的二维码内容")
    label: str = Field(min_length=1, max_length=100, description="设备名称，如 PDA-1 或设备序列号")


class DeviceEnrolledOut(BaseModel):
    access_token: str = Field(description="设备令牌，只返回这一次；服务器只保存其哈希")
    token_type: str = "bearer"  # noqa: S105 - OAuth2 token type, not a secret
    kind: TokenKind
    scopes: list[str]
    station_id: int | None
    store_id: int | None
    till_id: int | None = None
    username: str = Field(description="令牌所属账号（收银机：登记人）")
    expires_at: datetime
