"""Errors of the brand-store channel (stores, tills, clerks at the till)."""

from __future__ import annotations

from app.accounts.errors import TillNotFound
from app.kit.errors import AppError, Conflict, NotAuthenticated, NotFound, TooManyRequests

__all__ = ["TillNotFound"]


class StoreNotFound(NotFound):
    code = "store_not_found"
    message = "门店不存在"


class StoreCodeTaken(Conflict):
    code = "store_code_taken"
    message = "门店编号已被使用（门店或其他库位）"


class TillCodeTaken(Conflict):
    code = "till_code_taken"
    message = "本店已有同编号的收银机"


class SalePrefixTaken(Conflict):
    code = "sale_prefix_taken"
    message = "销售单号前缀已被其他收银机使用"


class NotStoreStaff(AppError):
    code = "not_store_staff"
    status_code = 422
    message = "该账号不是本店的店员或店长"


class PinInvalid(AppError):
    code = "pin_invalid"
    status_code = 422
    message = "PIN 必须是 4–6 位数字，且不能是同一数字或连续数字"


class TillNotEnrolled(NotAuthenticated):
    code = "till_not_enrolled"
    message = "本机不是已登记的收银机，或登记已被吊销：请让店长在后台重新登记"


class PinSignInFailed(NotAuthenticated):
    code = "pin_sign_in_failed"
    message = "工号或 PIN 错误，或该账号不在本店"


class PinRateLimited(TooManyRequests):
    code = "pin_rate_limited"
    message = "PIN 尝试次数过多，请 15 分钟后再试或找店长"


# ---- returns, receipts, shift reports ------------------------------------------------------------
class ShiftNotFound(NotFound):
    code = "shift_not_found"
    message = "班次不存在，或不是本店的班次"


class NoOpenShift(Conflict):
    code = "no_open_shift"
    message = "本收银机没有进行中的班次：请先开班，退款从本班钱箱付出"


class ReturnLineUnknown(AppError):
    code = "return_line_unknown"
    status_code = 422
    message = "退货行不属于这张小票，或同一行填了两次"


class ReturnQuantityInvalid(AppError):
    code = "return_quantity_invalid"
    status_code = 422
    message = "退货数量必须大于 0，最多三位小数"


class ReturnExceedsSold(AppError):
    code = "return_exceeds_sold"
    status_code = 422
    message = "退货数量超过可退数量（已售减去已退）"


class NothingToRefund(AppError):
    code = "nothing_to_refund"
    status_code = 422
    message = "这些商品的退款金额为 0，无需退货退款"


class ApprovalRequired(AppError):
    code = "approval_required"
    status_code = 403
    message = "退货退款需要店长授权：请店长输入 PIN"


class ReturnClientIdTaken(Conflict):
    code = "return_client_id_taken"
    message = "这个退货编号已用于另一张小票的退货"


class BarcodeUnreadable(AppError):
    code = "barcode_unreadable"
    status_code = 422
    message = "无法识别的条码：应为 8、12 或 13 位数字（EAN-8 / UPC-A / EAN-13）"


class BarcodeCheckDigitWrong(AppError):
    code = "barcode_check_digit_wrong"
    status_code = 422
    message = "条码校验位不对，可能扫错或标签破损，请重扫或手工输入"


class ScalePriceCheckDigitWrong(AppError):
    code = "scale_price_check_digit_wrong"
    status_code = 422
    message = "秤标签中的价格校验位不对，请重新称重打印"


class ScaleLabelUnreadable(AppError):
    code = "scale_label_unreadable"
    status_code = 422
    message = "秤标签无法读取（品号或重量 / 金额为零）"


class BarcodeUnknown(NotFound):
    code = "barcode_unknown"
    message = "没有商品使用这个条码，或该商品已下架"


class PluUnknown(NotFound):
    code = "plu_unknown"
    message = "没有商品使用这个 PLU 编号，或该商品已下架"


class ScaleItemNotWeighed(AppError):
    code = "scale_item_not_weighed"
    status_code = 422
    message = "该商品不是按千克或斤称重销售的，不能用秤标签或称重键"


class WeightUnitMismatch(AppError):
    code = "weight_unit_mismatch"
    status_code = 422
    message = "重量单位与该商品的计价单位不同：请按价签上的单位（斤或千克）输入"


class WeightInvalid(AppError):
    code = "weight_invalid"
    status_code = 422
    message = "重量格式不正确"


# ---- the till's upload: shifts, cash, sales, approvals ------------------------------------------


class ShiftUnknown(NotFound):
    code = "shift_unknown"
    message = "本收银机没有这个班次"


class ShiftAlreadyOpen(Conflict):
    code = "shift_already_open"
    message = "本收银机已有未结班次：请先结班"


class ShiftClosed(Conflict):
    code = "shift_closed"
    message = "该班次已结班，不能再记入"


class ClientIdTaken(Conflict):
    code = "client_id_taken"
    message = "该客户端 ID 已被另一笔记录使用"


class SaleNumberTaken(Conflict):
    code = "sale_number_taken"
    message = "销售单号已被另一笔销售使用：请检查收银机的单号序列"


class SaleNumberInvalid(AppError):
    code = "sale_number_invalid"
    status_code = 422
    message = "销售单号应为本收银机前缀 + 序号"


class SaleLineInvalid(AppError):
    code = "sale_line_invalid"
    status_code = 422
    message = "销售行有误"


class SaleArithmeticWrong(AppError):
    code = "sale_arithmetic_wrong"
    status_code = 422
    message = "销售金额对不上（行金额、小计、折扣或收款）"


class DiscountNeedsApproval(AppError):
    code = "discount_needs_approval"
    status_code = 403
    message = "折扣超过店员上限，需要店长授权"


class CashOutNeedsApproval(AppError):
    code = "cash_out_needs_approval"
    status_code = 403
    message = "取出现金需要店长授权"


class VarianceNeedsApproval(AppError):
    code = "variance_needs_approval"
    status_code = 403
    message = "现金清点有差额，需要店长授权才能结班"


class DenominationUnknown(AppError):
    code = "denomination_unknown"
    status_code = 422
    message = "不认识的面额：只能是 100、50、20、10、5、1 元和 5、1 角"


class ApprovalInvalid(AppError):
    code = "approval_invalid"
    status_code = 403
    message = "店长授权无效或已过期（授权只对这一笔操作、这台收银机和这个金额有效）"


class ApprovalRefused(AppError):
    code = "approval_refused"
    status_code = 403
    message = "工号或 PIN 错误，或该账号不是本店店长"


class SaleNotFound(NotFound):
    code = "sale_not_found"
    message = "本店没有这笔销售"


class NotStoreManager(AppError):
    code = "not_store_manager"
    status_code = 403
    message = "只有本店店长可以确认"
