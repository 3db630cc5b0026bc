"""HTTP plumbing shared by every route: error rendering and the request-body size limit."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.kit import unavailable
from app.kit.errors import AppError, NotAuthenticated, PayloadTooLarge
from app.kit.validation import field_name, zh_message

log = logging.getLogger(__name__)

HTTP_ERROR_CODES = {
    400: ("bad_request", "请求格式不正确"),
    401: ("not_authenticated", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "找不到该资源"),
    405: ("method_not_allowed", "不支持该请求方法"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
}


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/webhooks/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _validation_detail(errors: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "loc": [str(part) for part in e.get("loc", ())],
            "field": field_name(e),
            "message": zh_message(e),
            "type": str(e.get("type", "")),
        }
        for e in errors
    ]


# What a person's browser gets for an error: a page drawn by the web layer (``app.web``), handed in
# by the app factory so the kit never imports the pages.
ErrorPage = Callable[[Request, int, str, str], Response]


def install_error_handlers(app: FastAPI, error_page: ErrorPage) -> None:
    def _html_error(request: Request, status_code: int, code: str, message: str) -> Response:
        return error_page(request, status_code, code, message)

    async def app_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AppError)
        if wants_html(request):
            if isinstance(exc, NotAuthenticated) and request.method == "GET":
                from urllib.parse import quote

                return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
            return _html_error(request, exc.status_code, exc.code, exc.text)
        return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=_auth_header(exc))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        body = {
            "error": "validation_error",
            "message": "请求数据有误，请检查后重试",
            "detail": _validation_detail(list(exc.errors())),
        }
        if wants_html(request):
            return _html_error(request, 422, "validation_error", "请求数据有误，请检查后重试")
        return JSONResponse(body, status_code=422)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        code, message = HTTP_ERROR_CODES.get(exc.status_code, ("http_error", "请求无法处理"))
        if wants_html(request):
            return _html_error(request, exc.status_code, code, message)
        return JSONResponse(
            {"error": code, "message": message, "detail": None},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    def service_unavailable(request: Request, exc: Exception) -> Response:
        # One line, no traceback: during an outage every request says the same thing.
        log.warning(
            "database unavailable on %s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc
        )
        headers = {"Retry-After": str(unavailable.RETRY_AFTER_SECONDS)}
        if wants_html(request):
            response = _html_error(request, 503, unavailable.CODE, unavailable.MESSAGE)
            response.headers.update(headers)
            return response
        body = {"error": unavailable.CODE, "message": unavailable.MESSAGE, "detail": None}
        return JSONResponse(body, status_code=503, headers=headers)

    async def database_error(request: Request, exc: Exception) -> Response:
        """A database or socket error out of a route: 503 when the database is unreachable (a
        restart, a crash, no free connection); anything else goes on to :func:`unexpected` (500)."""
        if unavailable.database_unavailable(exc):
            return service_unavailable(request, exc)
        raise exc

    async def unexpected(request: Request, exc: Exception) -> Response:
        # Also reached by errors raised in a middleware, outside the handlers above.
        if unavailable.database_unavailable(exc):
            return service_unavailable(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"error": "internal_error", "message": "服务器内部错误，请稍后再试", "detail": None}, status_code=500
        )

    app.add_exception_handler(AppError, app_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(SQLAlchemyError, database_error)
    app.add_exception_handler(OSError, database_error)
    app.add_exception_handler(Exception, unexpected)


def _auth_header(exc: AppError) -> dict[str, str] | None:
    return {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` (413) before any handler reads them, whether the
    size is declared in Content-Length or only discovered while streaming a chunked body."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = upload_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        # Image uploads get their own (larger) allowance; the service checks the file itself.
        limit = self.upload_max_bytes + 65_536 if content_type.startswith("multipart/form-data") else self.max_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send)
            return
        received = 0
        refused = False
        answered = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    raise PayloadTooLarge()
            return message

        async def guarded_send(message: Message) -> None:
            # Once the body is refused, whatever the app makes of the aborted read (a 400 from the
            # body parser, say) is replaced by the one 413 the caller should see.
            nonlocal answered
            if refused:
                if not answered and message["type"] == "http.response.start":
                    answered = True
                    await self._refuse(send)
                return
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except PayloadTooLarge:
            if not refused:
                raise
        if refused and not answered:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        error = PayloadTooLarge()
        response = JSONResponse(error.to_body(), status_code=error.status_code)
        await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


@lru_cache(maxsize=16)
def _proxy_networks(trusted: str) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(part.strip(), strict=False) for part in trusted.split(",") if part.strip())


def _is_proxy(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request) -> str:
    """The address of the client behind this request, for attempt limits and logs.

    ``X-Forwarded-For`` is believed only when the direct peer is one of ``TRUSTED_PROXIES``; then
    the client is the right-most address in it that is not itself a trusted proxy (a client can
    put anything at the left of the header, only what our proxies appended is known)."""
    peer = request.client.host if request.client else "unknown"
    networks = _proxy_networks(request.app.state.settings.trusted_proxies)
    if not networks or not _is_proxy(peer, networks):
        return peer
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if not _is_proxy(address, networks):
            return address
    return forwarded[0] if forwarded else peer
