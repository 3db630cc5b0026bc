"""Errors of the plan's register and funds: each a code, an HTTP status and a Chinese message."""

from __future__ import annotations

from app.kit.errors import Conflict, InvalidInput, NotFound


class TargetNotFound(NotFound):
    code = "target_not_found"
    message = "找不到该规划目标"


class TargetCodeTaken(Conflict):
    code = "target_code_taken"
    message = "目标编号已被使用"


class BadPeriod(InvalidInput):
    code = "bad_period"
    message = "起止日期有误：结束日期不能早于开始日期"


class DateOutOfRange(InvalidInput):
    code = "date_out_of_range"
    message = "日期超出允许范围"


class EvidenceInvalid(InvalidInput):
    code = "evidence_invalid"
    message = "证据记录内容有误"


class EvidenceNotFound(NotFound):
    code = "evidence_not_found"
    message = "找不到该证据记录"


class PhotoCount(InvalidInput):
    code = "photo_count"
    message = "活动须上传 1–6 张照片"


class AssetInvalid(InvalidInput):
    code = "asset_invalid"
    message = "资产登记内容有误"


class AssetNotFound(NotFound):
    code = "asset_not_found"
    message = "找不到该资产"


class SerialTaken(Conflict):
    code = "asset_serial_taken"
    message = "该序列号已登记"


class TokenNotUsable(InvalidInput):
    code = "device_token_not_usable"
    message = "所选设备令牌不是该村站的 PDA 令牌"


class TokenAlreadyLinked(Conflict):
    code = "device_token_linked"
    message = "该设备令牌已对应另一台登记的 PDA"


class StationNotFound(NotFound):
    code = "station_not_found"
    message = "找不到该村站"


class BudgetLineNotFound(NotFound):
    code = "budget_line_not_found"
    message = "找不到该预算行"


class SpendingNotFound(NotFound):
    code = "spending_not_found"
    message = "找不到该支出记录"


class AmountInvalid(InvalidInput):
    code = "amount_invalid"
    message = "金额须大于 0"


class SpendingInvalid(InvalidInput):
    code = "spending_invalid"
    message = "支出记录内容有误"


class VoucherTaken(Conflict):
    code = "voucher_taken"
    message = "该预算行已有相同凭证号的支出"


class AttachmentInvalid(InvalidInput):
    code = "attachment_invalid"
    message = "附件须为 PDF 或 JPEG、PNG、WebP 图片"


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"
    message = "找不到该附件"
