from app.kit.errors import AppError, Conflict, Forbidden, NotAuthenticated, NotFound, TooManyRequests


class InvalidCredentials(NotAuthenticated):
    code = "invalid_credentials"
    message = "用户名或密码错误"


class TokenInvalid(NotAuthenticated):
    code = "token_invalid"
    message = "访问令牌无效、已过期或已被吊销"


class LoginRateLimited(TooManyRequests):
    code = "login_rate_limited"
    message = "登录尝试过于频繁，请稍后再试"


class RoleNotAllowed(Forbidden):
    code = "role_not_allowed"
    message = "当前账号角色无权访问"


class ScopeMissing(Forbidden):
    code = "scope_missing"
    message = "访问令牌的权限范围不包含此操作"


class CompanyNotApproved(Forbidden):
    code = "company_not_approved"
    message = "采购商企业尚未通过审核"


class CompanyKeyNotAllowed(Forbidden):
    code = "company_key_not_allowed"
    message = "企业 API 密钥只能调用批发采购接口"


class CompanyOwnerOnly(Forbidden):
    code = "company_owner_only"
    message = "只有企业负责人可以管理同事账号与 API 密钥"


class UsernameTaken(Conflict):
    code = "username_taken"
    message = "用户名已被使用"


class CompanyNameTaken(Conflict):
    code = "company_name_taken"
    message = "企业名称已登记"


class CreditCodeTaken(Conflict):
    code = "credit_code_taken"
    message = "该统一社会信用代码已登记"


class ApplicantUsernameTaken(Conflict):
    """Shown to the admin approving an application, never to the applicant."""

    code = "applicant_username_taken"
    message = "申请的用户名已被占用：请与采购商联系，另填一个用户名后再通过审核"


class ApplicationRateLimited(TooManyRequests):
    code = "application_rate_limited"
    message = "提交申请过于频繁，请稍后再试"


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "找不到该用户"


class CompanyNotFound(NotFound):
    code = "company_not_found"
    message = "找不到该采购商企业"


class TokenNotFound(NotFound):
    code = "token_not_found"
    message = "找不到该令牌"


class AffiliationMissing(AppError):
    code = "affiliation_missing"
    status_code = 422
    message = "该角色需要指定所属单位（采购商企业、门店或村站）"


class CompanyStatusConflict(Conflict):
    code = "company_status_conflict"
    message = "企业当前状态不允许此操作"


class SmsCodeRateLimited(TooManyRequests):
    code = "sms_code_rate_limited"
    message = "验证码请求过于频繁，请稍后再试"


class SmsCodeInvalid(AppError):
    code = "sms_code_invalid"
    status_code = 422
    message = "验证码不正确，或已使用，请重新获取"


class SmsCodeExpired(AppError):
    code = "sms_code_expired"
    status_code = 422
    message = "验证码已过期，请重新获取"


class NotAMainlandMobile(AppError):
    code = "not_a_mainland_mobile"
    status_code = 422
    message = "请填写中国大陆手机号（11 位，1 开头），验证码通过短信发送"


class UserDisabled(AppError):
    code = "user_disabled"
    status_code = 422
    message = "该账号已停用"


class CannotDisableSelf(Conflict):
    code = "cannot_disable_self"
    message = "不能停用自己正在使用的账号"


class WrongRoleForBinding(AppError):
    code = "wrong_role_for_binding"
    status_code = 422
    message = "只有村站站长可以绑定村站，只有门店店员可以绑定门店"


class StoreNotFound(NotFound):
    code = "store_not_found"
    message = "找不到该门店"


class EnrolmentRateLimited(TooManyRequests):
    code = "enrolment_rate_limited"
    message = "登记码尝试过于频繁，请稍后再试"


class EnrolmentCodeInvalid(AppError):
    code = "enrolment_code_invalid"
    status_code = 422
    message = "登记码不正确，请核对后重新输入"


class EnrolmentCodeExpired(AppError):
    code = "enrolment_code_expired"
    status_code = 410
    message = "登记码已过期或已作废，请重新生成"


class EnrolmentCodeUsed(Conflict):
    code = "enrolment_code_used"
    message = "登记码已被使用过，每个登记码只能登记一台设备"


class EnrolmentNotFound(NotFound):
    code = "enrolment_not_found"
    message = "找不到该登记码"


class OperatorMissing(AppError):
    code = "operator_missing"
    status_code = 422
    message = "请先为该村站指定站长账号，设备令牌属于站长账号"


class TillSessionRequired(Forbidden):
    code = "till_session_required"
    message = "请在已登记的收银机上用工号和 PIN 登录"


class TillNotFound(NotFound):
    code = "till_not_found"
    message = "收银机不存在"
