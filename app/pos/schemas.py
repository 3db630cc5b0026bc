"""POS API shapes: signing in at a till."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from app.accounts.models import Role
from app.kit.schemas import InputModel


class SessionIn(InputModel):
    username: str = Field(min_length=1, max_length=50, description="工号（用户名）")
    pin: str = Field(min_length=1, max_length=12, description="4–6 位数字 PIN")


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
