from __future__ import annotations

from app.kit.errors import InvalidInput


class InvalidRecipient(InvalidInput):
    code = "invalid_recipient"
    message = "手机号码无效，无法发送通知"


class InvalidPhoneFilter(InvalidInput):
    code = "invalid_phone_filter"
    message = "手机尾号应为 4 位数字"
