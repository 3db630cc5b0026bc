"""What a caller can get wrong about payments, statements and pro-formas (a code, a status, a
Chinese message each)."""

from __future__ import annotations

from app.kit.errors import Conflict, InvalidInput, NotFound


class PaymentReferenceTaken(Conflict):
    """The company already has a payment with this bank transfer reference (entered twice)."""

    code = "payment_reference_taken"
    message = "这笔转账已登记过"


class PaymentAmountInvalid(InvalidInput):
    code = "payment_amount_invalid"
    message = "收款金额必须大于 0"


class PaymentReferenceMissing(InvalidInput):
    code = "payment_reference_missing"
    message = "请填写银行转账参考号（流水号）"


class TransferShort(InvalidInput):
    """A prepay order's transfer is less than what the order still needs; ``detail`` has the difference."""

    code = "transfer_short"
    message = "转账金额不足"


class OrderNotAwaitingTransfer(Conflict):
    code = "order_not_awaiting_transfer"
    message = "该订单不在等待银行转账"


class StatementMonthInvalid(InvalidInput):
    code = "statement_month_invalid"
    message = "月份格式应为 YYYY-MM，且不能晚于本月"


class ProformaNotFound(NotFound):
    code = "proforma_not_found"
    message = "该订单没有形式发票"


class PaymentDateInvalid(InvalidInput):
    code = "payment_date_invalid"
    message = "到账日期不能晚于今天"


class StatementFormatUnknown(NotFound):
    code = "statement_format_unknown"
    message = "对账单只提供 PDF 和 XLSX 两种格式"
