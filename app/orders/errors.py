from app.kit.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class OrderNotFound(NotFound):
    code = "order_not_found"
    message = "找不到该订单"


class OrderStateConflict(Conflict):
    """A compare-and-set transition lost: the order moved on in the meantime."""

    code = "order_state_conflict"
    message = "订单状态已变化，请刷新后重试"


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"
    message = "当前订单状态不允许此操作"


class StationUnavailable(InvalidInput):
    code = "station_unavailable"
    message = "没有可用的自提村站"


class StationNotChosen(InvalidInput):
    code = "station_not_chosen"
    message = "请选择自提村站"


class DeliveryAreaNotServed(InvalidInput):
    code = "delivery_area_not_served"
    message = "该地址暂不支持送货上门"


class PaymentProviderUnavailable(AppError):
    code = "payment_provider_unavailable"
    status_code = 422
    message = "在线支付暂未开通，请选择到站付款"


class PaymentNotAllowed(Conflict):
    code = "payment_not_allowed"
    message = "该订单当前无需或不能在线支付"


class PaymentDeclined(AppError):
    code = "payment_declined"
    status_code = 402
    message = "支付被拒绝，请更换支付方式"


class PaymentProviderError(AppError):
    code = "payment_provider_error"
    status_code = 502
    message = "支付服务暂时不可用，请稍后重试"


class RefundTooLarge(InvalidInput):
    code = "refund_too_large"
    message = "退款金额超过可退金额"


class WebhookSignatureInvalid(AppError):
    code = "invalid_signature"
    status_code = 400
    message = "签名校验失败"


class WebhookNotConfigured(NotFound):
    code = "webhook_not_configured"
    message = "未配置该支付回调"


class OrderAccessDenied(Forbidden):
    code = "order_access_denied"
    message = "无权操作该订单"


class ReturnUrlNotAllowed(InvalidInput):
    """A return_url off this site would send the payer (and the payment's client secret Stripe
    appends to it) to someone else's page."""

    code = "return_url_not_allowed"
    message = "支付完成后的返回地址必须是本站地址"


class AccountHasOpenOrders(Conflict):
    """A customer asked to delete their account while orders of theirs are still under way."""

    code = "account_has_open_orders"
    message = "您还有未完成的订单（待付款、已确认或待取货），请先完成或取消这些订单，再注销账户"


class ErasureNotConfirmed(InvalidInput):
    code = "erasure_not_confirmed"
    message = "请在确认框中输入“注销”二字，确认注销账户"


class CapacityExhausted(Conflict):
    """``detail["lines"]`` names every line whose capacity (a pre-sale wave's cap, an event slot's
    places) has less left than asked, with what is left."""

    code = "capacity_exhausted"
    message = "名额或预售数量不足"


class CapacityLinesSeparate(InvalidInput):
    code = "capacity_lines_separate"
    message = "预售商品和活动门票需单独下单，不能与现货同单"
