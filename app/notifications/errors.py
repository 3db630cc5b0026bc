from __future__ import annotations

from app.kit.errors import InvalidInput


class InvalidRecipient(InvalidInput):
    code = "invalid_recipient"
    message = "手机号码无效，无法发送通知"
