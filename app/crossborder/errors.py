"""Errors of the Alibaba.com (ICBU) domain that callers see (HTTP handler, CLI, tasks)."""

from __future__ import annotations

from app.kit.errors import AppError, Conflict


class AlibabaNotConfigured(Conflict):
    code = "alibaba_not_configured"
    message = "未配置阿里巴巴国际站应用（ALIBABA_APP_KEY / ALIBABA_APP_SECRET），商品只保存在本地"


class AlibabaNotConnected(Conflict):
    code = "alibaba_not_connected"
    message = "尚未连接阿里巴巴国际站卖家账号，请先授权"


class AlibabaReauthRequired(Conflict):
    code = "alibaba_reauth_required"
    message = "阿里巴巴国际站授权已失效，请重新连接卖家账号"


class AlibabaAuthFailed(AppError):
    code = "alibaba_auth_failed"
    status_code = 502
    message = "阿里巴巴国际站授权失败"


class AlibabaStateInvalid(AppError):
    code = "alibaba_state_invalid"
    status_code = 400
    message = "授权回调无效或已过期，请从运营后台重新点击“连接阿里巴巴国际站”"


class AlibabaAuthDeclined(AppError):
    code = "alibaba_auth_declined"
    status_code = 400
    message = "卖家没有在阿里巴巴国际站同意授权，未保存任何内容；如需连接请重新点击“连接阿里巴巴国际站”"
