"""One error model for the whole platform.

Every failure a caller can cause is an :class:`AppError` subclass with a machine-readable code, an
HTTP status and a Chinese message; one handler renders them as
``{"error": code, "message": 中文, "detail": …}``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AppError(Exception):
    code: ClassVar[str] = "error"
    status_code: ClassVar[int] = 400
    message: ClassVar[str] = "请求无法处理"

    def __init__(self, message: str | None = None, *, detail: Any = None) -> None:
        self.text = message or self.message
        self.detail = detail
        super().__init__(self.text)

    def to_body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.text, "detail": self.detail}


class NotFound(AppError):
    code = "not_found"
    status_code = 404
    message = "找不到该资源"


class Conflict(AppError):
    code = "conflict"
    status_code = 409
    message = "与当前状态冲突"


class InvalidInput(AppError):
    code = "invalid_input"
    status_code = 422
    message = "请求数据有误"


class NotAuthenticated(AppError):
    code = "not_authenticated"
    status_code = 401
    message = "请先登录"


class Forbidden(AppError):
    code = "forbidden"
    status_code = 403
    message = "没有权限执行此操作"


class CsrfFailed(AppError):
    code = "csrf_failed"
    status_code = 403
    message = "表单已失效，请刷新页面后重试"


class TooManyRequests(AppError):
    code = "too_many_requests"
    status_code = 429
    message = "请求过于频繁，请稍后再试"


class PayloadTooLarge(AppError):
    code = "payload_too_large"
    status_code = 413
    message = "请求内容过大"


class IdempotencyKeyReused(AppError):
    code = "idempotency_key_reused"
    status_code = 422
    message = "同一个 Idempotency-Key 已用于不同的请求内容"


class StorageFull(AppError):
    """The disk (or the quota) under the uploads is full: nothing was kept, so trying again after a
    person made room works. 507 Insufficient Storage says exactly that to a client."""

    code = "storage_full"
    status_code = 507
    message = "服务器存储空间已满，文件没有保存；请联系管理员清理空间后再试"


class StorageUnavailable(AppError):
    """The uploads folder cannot be written (permissions, a read-only or missing disk): nothing was
    kept; a server-side condition, so 503 like any other dependency that is down."""

    code = "storage_unavailable"
    status_code = 503
    message = "服务器暂时无法保存文件，文件没有保存；请稍后再试或联系管理员"
