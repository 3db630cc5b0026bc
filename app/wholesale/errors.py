from app.kit.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class ApplicationInvalid(InvalidInput):
    """Every problem of an application at once: ``detail["fields"]`` maps a field to its message."""

    code = "application_invalid"
    message = "申请信息有误，请按提示修改"


class TermsInvalid(InvalidInput):
    code = "terms_invalid"
    message = "合作条款有误，请按提示修改"


class CompanyNotApproved(Forbidden):
    code = "company_not_approved"
    message = "采购商企业尚未通过审核（或已被拒绝），暂不能下单"


class CompanySuspended(Forbidden):
    code = "company_suspended"
    message = "采购商企业已被暂停合作，暂不能下单，请联系服务中心"


class ReasonRequired(InvalidInput):
    code = "reason_required"
    message = "请填写原因（1–300 字）"


class ColleagueNotFound(NotFound):
    code = "colleague_not_found"
    message = "找不到该同事账号"


class CannotDeactivateOwner(Conflict):
    code = "cannot_deactivate_owner"
    message = "不能停用企业负责人自己的账号"


class InvitationNotFound(NotFound):
    code = "invitation_not_found"
    message = "找不到该邀请"


class InvitationInvalid(NotFound):
    code = "invitation_invalid"
    message = "邀请链接无效，请向企业负责人索取新的邀请"


class InvitationExpired(AppError):
    code = "invitation_expired"
    status_code = 410
    message = "邀请链接已过期或已撤销，请向企业负责人索取新的邀请"


class InvitationUsed(Conflict):
    code = "invitation_used"
    message = "邀请链接已使用过，请直接登录"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    message = "找不到该 API 密钥"


class BasketInvalid(InvalidInput):
    """Every problem of a wholesale basket at once: ``detail["lines"]`` is ``[{line, sku, code,
    message}]``, ``line`` counting from 0 in the order the lines were sent."""

    code = "basket_invalid"
    message = "订单中有商品需要修改，请按每行提示调整"


class DeliveryAddressNotFound(NotFound):
    code = "delivery_address_not_found"
    message = "找不到该收货地址（或已停用）"


class WholesaleOrderNotFound(NotFound):
    code = "wholesale_order_not_found"
    message = "找不到该批发订单"


class OrderNotHeld(Conflict):
    code = "order_not_held"
    message = "该订单不在待审批状态"
