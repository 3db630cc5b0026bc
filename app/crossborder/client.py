"""Async client for the ICBU (Alibaba.com) IOP Open Platform gateway.

Two call styles share one signer (reference §3):

* :meth:`IcbuClient.rest` — GOP path style, ``POST {base}/rest{path}``, token in ``access_token``,
  HMAC-SHA256 over the API path followed by the sorted ``key+value`` pairs;
* :meth:`IcbuClient.sync` — method style, ``POST {sync_url}`` with a dotted ``method``, token in
  ``session``, HMAC-SHA256 over the sorted pairs only (no prefix).

Structured params are serialised to compact JSON once and the exact string is both signed and
sent; empty values are neither signed nor sent; file parts travel multipart and are not signed.
Both response envelopes are parsed and failures (gateway codes and business failures inside a
``code:"0"`` reply) raise a subclass of :class:`IcbuError`. The client never retries: a retried
write could create a duplicate listing, so that decision belongs to the caller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, Literal

from app.kit.metrics import count_alibaba_error

if TYPE_CHECKING:
    # Imported where a call is made: a web worker that never calls Alibaba.com does not carry it.
    import httpx

logger = logging.getLogger(__name__)

DEFAULT_GATEWAY_URL: Final[str] = "https://openapi-api.alibaba.com"
TOKEN_CREATE_PATH: Final[str] = "/auth/token/create"  # noqa: S105 (an API path)
TOKEN_REFRESH_PATH: Final[str] = "/auth/token/refresh"  # noqa: S105 (an API path)
IN_AUDIT_CODE: Final[str] = "PUB_BIZCHECK_PRODUCT_IN_AUDITING"

JSON = dict[str, Any]
ParamValue = str | int | float | bool | Mapping[str, Any] | list[Any] | tuple[Any, ...] | None
FileParam = tuple[str, bytes, str]  # (file name, content, content type)
CallStyle = Literal["rest", "sync"]

# Keys never copied into a CallRecord (and so never into the sync log).
_SECRET_KEYS: Final[frozenset[str]] = frozenset(
    {"sign", "access_token", "session", "client_secret", "refresh_token", "app_secret"}
)
_AUTH_PATHS: Final[frozenset[str]] = frozenset({TOKEN_CREATE_PATH, TOKEN_REFRESH_PATH})

_SIGNATURE_CODES: Final[frozenset[str]] = frozenset({"IncompleteSignature", "InvalidSignature", "25"})
_PERMISSION_CODES: Final[frozenset[str]] = frozenset(
    {"InsufficientPermission", "AppWhiteIpLimit", "11", "12"}
)
_TOKEN_CODES: Final[frozenset[str]] = frozenset(
    {"IllegalAccessToken", "InvalidAccessToken", "AccessTokenExpired", "InvalidRefreshToken",
     "InvalidSession", "SessionExpired", "MissingSession", "26", "27"}
)
_RATE_CODES: Final[frozenset[str]] = frozenset({"ApiCallLimit", "AppCallLimit", "7"})
_UNAVAILABLE_CODES: Final[frozenset[str]] = frozenset({"ServiceUnavailable", "10"})
_OK_MSG_CODES: Final[frozenset[str]] = frozenset({"", "0", "200", "SUCCESS", "success"})
# Where APIs nest their business result below the envelope (V2: result; eco: value/data;
# photobank: upload_image_response).
_NESTED_RESULT_KEYS: Final[tuple[str, ...]] = ("result", "value", "data", "upload_image_response")
_BAN_SECONDS = re.compile(r"ban will last (\d+(?:\.\d+)?) (?:more )?second", re.IGNORECASE)
# Business codes that mean "the platform had a problem, try again later" rather than "your data is
# wrong" (reference §5: internal errors, image pipeline, translation limit, photo-bank "-2").
_RETRYABLE_MSG_CODES: Final[frozenset[str]] = frozenset(
    {"S_COMMON_INTERNAL_ERROR", "S_PRODUCT_SEARCH_ERROR", "B_IMAGE_UPLOAD_FAILED",
     "B_PRODUCT_INFO_TRANSLATION_FAILED", "-2", "isp.system-service-error"}
)


# ---------------------------------------------------------------------------------------------
# Signing (reference §3.1 / §3.2)
# ---------------------------------------------------------------------------------------------


def iop_sign(secret: str, params: Mapping[str, str | None], path: str = "") -> str:
    """HEX_UPPER(HMAC_SHA256(secret, path + k1v1k2v2…)) over the non-empty params except ``sign``.

    ``path`` is ``""`` for ``/sync`` method calls and the API path (``/auth/token/create``) for
    GOP ``/rest`` calls. Values are signed raw, as UTF-8.
    """
    items = sorted((k, v) for k, v in params.items() if k != "sign" and v not in (None, ""))
    message = path + "".join(f"{k}{v}" for k, v in items)
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest().upper()


def serialize_param(value: ParamValue) -> str | None:
    """One wire string per param: JSON (compact, UTF-8) for objects/lists, ``true``/``false`` for
    booleans, ``str()`` for numbers; ``None`` and ``""`` mean "leave the param out"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def redact_params(params: Mapping[str, str], *, api: str = "") -> dict[str, str]:
    """A copy of ``params`` without signatures, tokens, secrets (and the auth code on token calls)."""
    out: dict[str, str] = {}
    for key, value in params.items():
        lowered = key.lower()
        if lowered in _SECRET_KEYS or "secret" in lowered or "token" in lowered:
            continue
        if api in _AUTH_PATHS and lowered == "code":
            continue
        out[key] = value
    return out


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


class IcbuError(Exception):
    """Any failed ICBU call. ``code`` is the gateway code (``"0"`` for business failures inside a
    success envelope), ``msg_code`` the business code (``PUB_BIZCHECK_…``, ``B_…``, ``sub_code``)."""

    def __init__(self, message: str, *, code: str = "", msg_code: str = "", request_id: str = "",
                 api: str = "", http_status: int | None = None, trace_id: str = "") -> None:
        super().__init__(message)
        self.trace_id = trace_id
        self.message = message
        self.code = code
        self.msg_code = msg_code
        self.request_id = request_id
        self.api = api
        self.http_status = http_status

    def __str__(self) -> str:
        parts = [f"{self.api}: {self.message}" if self.api else self.message]
        if self.code:
            parts.append(f"code={self.code}")
        if self.msg_code:
            parts.append(f"msg_code={self.msg_code}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        return " ".join(parts)


class SignatureError(IcbuError):
    """``IncompleteSignature``: wrong secret, or the wrong signing variant for the gateway."""


class PermissionDenied(IcbuError):
    """``InsufficientPermission`` (API not in the app's permission groups) or IP whitelist."""


class TokenExpired(IcbuError):
    """The access token (or refresh token) is missing, invalid or expired: refresh or re-authorize."""


class RateLimited(IcbuError):
    """``ApiCallLimit``; ``retry_after`` is the ban the gateway states, in seconds (None if not stated)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class BusinessError(IcbuError):
    """A business failure (``success:false`` / ``biz_success:false`` / ``msg_code``) or another
    gateway rejection of the request itself (``InvalidApiPath``, ``MissingParameter``, …)."""


class RetryableBusinessError(BusinessError):
    """A business failure the platform caused (internal error, image pipeline, translation
    limit): the request itself is fine, try it again later."""


class InAudit(BusinessError):
    """``PUB_BIZCHECK_PRODUCT_IN_AUDITING``: the product is under review; edit it later."""


class GatewayUnavailable(IcbuError):
    """Timeout, connection failure, 5xx or an unreadable reply: the outcome of a write is unknown."""


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallResult:
    """A successful call: ``body`` is the whole parsed JSON, ``data`` the payload (the
    ``<method>_response`` object on ``/sync``, the body itself on ``/rest``)."""

    api: str
    style: CallStyle
    body: JSON
    data: JSON
    request_id: str
    trace_id: str
    duration_ms: float


@dataclass(frozen=True)
class CallRecord:
    """What one call leaves in the sync log: never a signature, token or secret."""

    api: str
    style: CallStyle
    params: dict[str, str]
    ok: bool
    code: str
    msg_code: str
    message: str
    request_id: str
    trace_id: str
    duration_ms: float
    http_status: int | None


@dataclass(frozen=True)
class IcbuToken:
    """Tokens from ``/auth/token/create`` or ``/auth/token/refresh`` (reference §6). The token
    strings are kept out of ``repr``."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: datetime
    refresh_expires_at: datetime | None  # None: not refreshable (refresh_expires_in=0)
    account_id: str
    account: str
    account_platform: str
    country: str
    user_info: JSON = field(default_factory=dict)

    @property
    def refreshable(self) -> bool:
        return bool(self.refresh_token) and self.refresh_expires_at is not None

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) + timedelta(seconds=seconds) >= self.expires_at


OnCall = Callable[[CallRecord], None]


# ---------------------------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------------------------


class IcbuClient:
    """One app's client for the IOP gateway. Use as ``async with IcbuClient(...) as client``."""

    def __init__(self, app_key: str, app_secret: str, *, base_url: str = DEFAULT_GATEWAY_URL,
                 sync_url: str | None = None, timeout: float = 30.0, on_call: OnCall | None = None,
                 http_client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.app_key = app_key
        self._secret = app_secret
        self.base_url = base_url.rstrip("/")
        self.sync_url = sync_url or f"{self.base_url}/sync"
        self.on_call = on_call
        self._clock = clock
        self._owns_http = http_client is None
        if http_client is None:
            import httpx

            http_client = httpx.AsyncClient(timeout=timeout)
        self._http = http_client

    def __repr__(self) -> str:
        return f"IcbuClient(app_key={self.app_key!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> IcbuClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # ------------------------------------------------------------------ public calls

    async def rest(self, path: str, params: Mapping[str, ParamValue] | None = None, *,
                   access_token: str | None = None,
                   files: Mapping[str, FileParam] | None = None) -> CallResult:
        """GOP call: ``POST {base}/rest{path}`` signed with ``path`` as prefix."""
        if not path.startswith("/"):
            raise ValueError(f"a GOP API path starts with '/': {path!r}")
        wire = self._system_params()
        if access_token:
            wire["access_token"] = access_token
        wire.update(self._business_params(params))
        wire["sign"] = iop_sign(self._secret, wire, path)
        return await self._send("rest", path, f"{self.base_url}/rest{path}", wire, files)

    async def sync(self, method: str, params: Mapping[str, ParamValue] | None = None, *,
                   session: str | None = None, files: Mapping[str, FileParam] | None = None,
                   simplify: bool = False) -> CallResult:
        """Method call on ``/sync`` (dotted name, token as ``session``, no signing prefix)."""
        if "/" in method or "." not in method:
            raise ValueError(f"/sync takes a dotted method name (use rest() for paths): {method!r}")
        wire = self._system_params()
        wire["method"] = method
        if session:
            wire["session"] = session
        if simplify:
            wire["simplify"] = "true"
        wire.update(self._business_params(params))
        wire["sign"] = iop_sign(self._secret, wire)
        return await self._send("sync", method, self.sync_url, wire, files)

    async def create_token(self, code: str) -> IcbuToken:
        """Exchange the authorization ``code`` from the seller's redirect for tokens."""
        result = await self.rest(TOKEN_CREATE_PATH, {"code": code})
        return self._token(result)

    async def refresh_token(self, refresh_token: str) -> IcbuToken:
        result = await self.rest(TOKEN_REFRESH_PATH, {"refresh_token": refresh_token})
        return self._token(result)

    # ------------------------------------------------------------------ internals

    def _system_params(self) -> dict[str, str]:
        return {"app_key": self.app_key, "sign_method": "sha256",
                "timestamp": str(int(self._clock() * 1000)), "format": "json"}

    @staticmethod
    def _business_params(params: Mapping[str, ParamValue] | None) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in (params or {}).items():
            if key in ("sign", "app_key", "sign_method", "timestamp"):
                raise ValueError(f"{key!r} is a system parameter")
            text = serialize_param(value)
            if text is not None:
                out[key] = text
        return out

    async def _send(self, style: CallStyle, api: str, url: str, wire: dict[str, str],
                    files: Mapping[str, FileParam] | None) -> CallResult:
        import httpx

        started = time.perf_counter()
        status: int | None = None
        try:
            try:
                if files:
                    response = await self._http.post(url, data=wire, files=dict(files))
                else:
                    response = await self._http.post(url, data=wire)
            except httpx.TimeoutException as exc:
                raise GatewayUnavailable(f"timed out ({type(exc).__name__})", code="timeout", api=api) from exc
            except httpx.HTTPError as exc:
                raise GatewayUnavailable(f"transport error ({type(exc).__name__})", code="transport",
                                         api=api) from exc
            status = response.status_code
            body = self._parse_body(response, api)
            data, request_id, trace_id = self._unwrap(style, api, body, status)
        except IcbuError as exc:
            count_alibaba_error(api, type(exc).__name__)
            self._record(style, api, wire, started, ok=False, code=exc.code, msg_code=exc.msg_code,
                         message=exc.message, request_id=exc.request_id, trace_id=exc.trace_id, http_status=status)
            raise
        duration = (time.perf_counter() - started) * 1000
        self._record(style, api, wire, started, ok=True, code=str(body.get("code", "0")), msg_code="",
                     message="", request_id=request_id, trace_id=trace_id, http_status=status)
        return CallResult(api=api, style=style, body=body, data=data, request_id=request_id,
                          trace_id=trace_id, duration_ms=duration)

    @staticmethod
    def _parse_body(response: httpx.Response, api: str) -> JSON:
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500:
            rid = str(body.get("request_id", "")) if isinstance(body, dict) else ""
            raise GatewayUnavailable(f"HTTP {response.status_code}", code=str(response.status_code),
                                     request_id=rid, api=api, http_status=response.status_code)
        if not isinstance(body, dict):
            raise GatewayUnavailable(f"unreadable reply (HTTP {response.status_code})",
                                     code=str(response.status_code), api=api, http_status=response.status_code)
        return body

    def _unwrap(self, style: CallStyle, api: str, body: JSON, status: int) -> tuple[JSON, str, str]:
        error = body.get("error_response")
        if isinstance(error, dict):  # /sync and TOP error envelope
            sub_code = str(error.get("sub_code") or "")
            message = str(error.get("sub_msg") or error.get("msg") or error.get("message") or "")
            raise _gateway_error(str(error.get("code", "")), sub_code, message,
                                 str(error.get("request_id") or ""), api, status, str(error.get("type") or ""))
        code = str(body.get("code", "0"))
        request_id = str(body.get("request_id") or "")
        if code != "0":  # GOP flat error envelope
            message = str(body.get("message") or body.get("msg") or code)
            raise _gateway_error(code, str(body.get("sub_code") or ""), message, request_id, api, status,
                                 str(body.get("type") or ""))
        data = body
        if style == "sync":
            wrapper = f"{api.replace('.', '_')}_response"
            inner = body.get(wrapper)
            if isinstance(inner, dict):
                data = inner
            request_id = request_id or str(data.get("request_id") or "")
        trace_id = _find_trace_id(data)
        failure = _business_failure(data)
        if failure is not None:
            msg_code, message = failure
            codes = set(msg_code.split(";"))
            cls: type[BusinessError] = (
                InAudit if IN_AUDIT_CODE in codes else RetryableBusinessError if codes & _RETRYABLE_MSG_CODES
                else BusinessError)
            raise cls(message or msg_code, code="0", msg_code=msg_code, request_id=request_id or trace_id,
                      api=api, http_status=status, trace_id=trace_id)
        if status == 429:
            raise RateLimited(f"HTTP {status}", retry_after=None, code=str(status), request_id=request_id,
                              api=api, http_status=status)
        if status >= 400:
            raise BusinessError(f"HTTP {status}", code=str(status), request_id=request_id, api=api,
                                http_status=status)
        return data, request_id, trace_id

    def _record(self, style: CallStyle, api: str, wire: Mapping[str, str], started: float, *, ok: bool,
                code: str, msg_code: str, message: str, request_id: str, trace_id: str,
                http_status: int | None) -> None:
        duration = (time.perf_counter() - started) * 1000
        record = CallRecord(api=api, style=style, params=redact_params(wire, api=api), ok=ok, code=code,
                            msg_code=msg_code, message=message, request_id=request_id, trace_id=trace_id,
                            duration_ms=duration, http_status=http_status)
        logger.info("icbu %s %s ok=%s code=%s msg_code=%s request_id=%s %.0fms", style, api, ok, code,
                    msg_code, request_id, duration)
        if self.on_call is not None:
            try:
                self.on_call(record)
            except Exception:  # a broken log hook must not turn a done write into an error
                logger.exception("icbu on_call hook failed for %s", api)

    def _token(self, result: CallResult) -> IcbuToken:
        body = result.body
        access = str(body.get("access_token") or "")
        if not access:
            raise BusinessError("token reply without access_token", code="0", request_id=result.request_id,
                                api=result.api)
        now = datetime.fromtimestamp(self._clock(), UTC)
        expires_in = _seconds(body.get("expires_in"))
        refresh_in = _seconds(body.get("refresh_expires_in"))
        user_info = body.get("user_info")
        return IcbuToken(
            access_token=access,
            refresh_token=str(body.get("refresh_token") or ""),
            expires_at=now + timedelta(seconds=expires_in),
            refresh_expires_at=now + timedelta(seconds=refresh_in) if refresh_in > 0 else None,
            account_id=str(body.get("account_id") or ""),
            account=str(body.get("account") or ""),
            account_platform=str(body.get("account_platform") or ""),
            country=str(body.get("country") or ""),
            user_info=user_info if isinstance(user_info, dict) else {},
        )


def _seconds(value: Any) -> int:
    """``expires_in`` arrives as a string or a number."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return 0


def _gateway_error(code: str, sub_code: str, message: str, request_id: str, api: str,
                   status: int, type_: str = "") -> IcbuError:
    kwargs: dict[str, Any] = {"code": code, "msg_code": sub_code, "request_id": request_id, "api": api,
                              "http_status": status}
    if code in _SIGNATURE_CODES:
        return SignatureError(message, **kwargs)
    # The IP whitelist error also arrives as code "15" with the name only in type/message (§5).
    if code in _PERMISSION_CODES or "AppWhiteIpLimit" in (type_, message):
        return PermissionDenied(message, **kwargs)
    if code in _TOKEN_CODES or sub_code in _TOKEN_CODES:
        return TokenExpired(message, **kwargs)
    if code in _RATE_CODES or status == 429:
        match = _BAN_SECONDS.search(message)
        return RateLimited(message, retry_after=float(match.group(1)) if match else None, **kwargs)
    # The platform's own failures (ISP / SYSTEM, "isp.*") are transient; an "isv.*" sub-code blames
    # the request even when the type says ISP.
    platform_side = type_.upper() in ("SYSTEM", "ISP") and not sub_code.startswith("isv.")
    if (code in _UNAVAILABLE_CODES or status >= 500 or platform_side or sub_code.startswith("isp.")
            or code == "InternalError"):
        return GatewayUnavailable(message, **kwargs)
    if IN_AUDIT_CODE in sub_code:
        return InAudit(message, **kwargs)
    return BusinessError(message, **kwargs)


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.lower() == "false")


def _business_failure(data: Any, depth: int = 0) -> tuple[str, str] | None:
    """(msg_code, message) of a business failure inside a success envelope, else None.

    Looks at the payload and the ``result`` / ``value`` / ``data`` objects below it for
    ``success:false``, ``biz_success:false``, ``sub_success:false``, a ``sub_error_code``, a
    ``result_code`` other than 200/0, or a failure ``msg_code`` without ``success:true``."""
    if not isinstance(data, dict) or depth > 3:
        return None
    msg_code = str(data.get("msg_code") or data.get("sub_error_code") or data.get("error_code") or "")
    message = str(data.get("message") or data.get("sub_error_msg") or data.get("error_message")
                  or data.get("msg") or "")
    flags = [data[k] for k in ("success", "biz_success", "sub_success", "is_success") if k in data]
    if any(_is_false(flag) for flag in flags):
        return msg_code or "BUSINESS_FAILURE", message
    if str(data.get("sub_error_code") or "") not in _OK_MSG_CODES:  # accepted only without an error code
        return str(data["sub_error_code"]), message
    result_code = data.get("result_code")
    if result_code is not None and str(result_code) not in _OK_MSG_CODES:
        return msg_code or str(result_code), message
    if msg_code not in _OK_MSG_CODES and not any(flag is True or flag == "true" for flag in flags):
        return msg_code, message
    for key in _NESTED_RESULT_KEYS:
        found = _business_failure(data.get(key), depth + 1)
        if found is not None:
            return found
    return None


def _find_trace_id(data: Any, depth: int = 0) -> str:
    if not isinstance(data, dict) or depth > 3:
        return ""
    for key in ("trace_id", "_trace_id_"):
        if data.get(key):
            return str(data[key])
    for key in _NESTED_RESULT_KEYS:
        found = _find_trace_id(data.get(key), depth + 1)
        if found:
            return found
    return ""
