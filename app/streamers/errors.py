"""Errors of live-stream sellers: each a code, an HTTP status and a Chinese message."""

from __future__ import annotations

from app.kit.errors import Conflict, InvalidInput, NotFound


class UnknownReferralCode(InvalidInput):
    code = "unknown_referral_code"
    message = "推荐码不存在或已停用，请核对后再试"


class SellerNotFound(NotFound):
    code = "seller_not_found"
    message = "找不到该主播"


class SellerInvalid(InvalidInput):
    code = "seller_invalid"
    message = "主播信息有误"


class SellerUserTaken(Conflict):
    code = "seller_user_taken"
    message = "该账号已关联其他主播"


class BadMonth(InvalidInput):
    code = "bad_month"
    message = "月份格式应为 YYYY-MM"
