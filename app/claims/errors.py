"""Errors of after-sales claims: each a code, an HTTP status and a Chinese message."""

from __future__ import annotations

from app.kit.errors import AppError, Conflict, InvalidInput, NotFound


class ClaimNotFound(NotFound):
    code = "claim_not_found"
    message = "找不到该理赔申请"


class ClaimInvalid(InvalidInput):
    code = "claim_invalid"
    message = "理赔申请填写有误"


class ClaimLineInvalid(InvalidInput):
    code = "claim_line_invalid"
    message = "理赔商品或数量有误"


class ClaimQuantityTooLarge(InvalidInput):
    code = "claim_quantity_too_large"
    message = "理赔数量超过了该商品可申请的数量"


class ClaimWindowClosed(AppError):
    code = "claim_window_closed"
    status_code = 409
    message = "已超过售后申请期限，不能再申请理赔"


class ClaimNotYetOpen(AppError):
    code = "claim_not_open"
    status_code = 409
    message = "订单取货或送达后才能申请理赔"


class ClaimPhotoCount(InvalidInput):
    code = "claim_photo_count"
    message = "请上传 1–6 张照片"


class ClaimAlreadyReviewed(Conflict):
    code = "claim_already_reviewed"
    message = "该理赔申请已经审核过，不能重复处理"


class ReviewInvalid(InvalidInput):
    code = "claim_review_invalid"
    message = "审核内容有误"


class PhotoNotFound(NotFound):
    code = "claim_photo_not_found"
    message = "找不到该照片"
