"""Who carries a message out of the building, behind one small Protocol; settings choose.

- :class:`OutboxOnlyProvider` (``SMS_PROVIDER=outbox``, the default): nothing leaves; the message
  stays in ``notification_messages`` with status ``outbox_only`` for staff to read in /admin.
- :class:`HttpSmsProvider` (``SMS_PROVIDER=http``): a generic JSON-over-HTTPS SMS gateway.

Neither ever logs the API key or a full phone number (only its last four digits).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import SecretStr

from app.config import Settings, SmsProviderKind
from app.kit.phones import last_four

if TYPE_CHECKING:
    # Imported where a message is sent (the Celery worker): a web worker does not carry it.
    import httpx

log = logging.getLogger(__name__)

# A gateway error code worth keeping: a word like ``rate_limited``, not free text or a number.
ERROR_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,39}")


class ProviderError(Exception):
    """The provider did not accept the message; ``status_code`` is the gateway's HTTP status if any."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class MessageProvider(Protocol):
    #: stored on each message it handled (``outbox``, ``http``)
    name: str
    #: False when the provider keeps messages in the building (status ``outbox_only``, not ``sent``)
    delivers: bool

    async def send(self, recipient: str, body: str, *, reference: str | None) -> str:
        """Hand ``body`` to the provider for ``recipient`` (E.164); return the provider's message id.

        ``reference`` is our id for this one message: a gateway that remembers it can drop the
        duplicate a retry sends after a timeout that hid a success. Raises :class:`ProviderError`.
        """
        ...


class OutboxOnlyProvider:
    """No provider configured: nothing is sent; the stored message is the notice."""

    name = "outbox"
    delivers = False

    async def send(self, recipient: str, body: str, *, reference: str | None) -> str:
        log.info("no SMS provider configured: message %s to …%s kept in the outbox", reference, last_four(recipient))
        return ""


class HttpSmsProvider:
    """A JSON-over-HTTPS SMS gateway.

    ``POST {api_url}`` with ``Authorization: Bearer <key>`` and
    ``{"to": "+86…", "text": "…", "sign": "南岭明珠", "client_ref": "…"}``; a 2xx answer carries
    ``{"message_id": "…"}``. Anything else is a :class:`ProviderError`. Redirects are not followed
    (the bearer key must not travel to another host).
    """

    name = "http"
    delivers = True

    def __init__(
        self,
        api_url: str,
        api_key: SecretStr | str,
        sign_name: str,
        *,
        timeout: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.api_url = api_url
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self.sign_name = sign_name
        self.timeout = timeout
        self._client = client

    def __repr__(self) -> str:
        return f"HttpSmsProvider(api_url={self.api_url!r}, sign_name={self.sign_name!r})"

    async def send(self, recipient: str, body: str, *, reference: str | None) -> str:
        payload = {"to": recipient, "text": body, "sign": self.sign_name, "client_ref": reference}
        headers = {"Authorization": f"Bearer {self._api_key.get_secret_value()}", "Accept": "application/json"}
        import httpx

        try:
            if self._client is not None:
                response = await self._client.post(self.api_url, json=payload, headers=headers, timeout=self.timeout)
            else:
                async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                    response = await client.post(self.api_url, json=payload, headers=headers)
        except httpx.HTTPError as exc:
            # The exception text names the URL at most; the key is only in the request headers.
            log.warning("SMS %s to …%s: gateway unreachable (%s)", reference, last_four(recipient), type(exc).__name__)
            raise ProviderError(f"短信网关连接失败（{type(exc).__name__}）") from exc
        if not response.is_success:
            status = response.status_code
            log.warning("SMS %s to …%s: gateway answered HTTP %s", reference, last_four(recipient), status)
            raise ProviderError(f"短信网关返回 HTTP {status}{_gateway_error(response)}", status_code=status)
        try:
            data: Any = response.json()
        except ValueError as exc:
            raise ProviderError("短信网关的回复不是 JSON", status_code=response.status_code) from exc
        message_id = data.get("message_id") if isinstance(data, dict) else None
        if isinstance(message_id, bool) or not isinstance(message_id, str | int) or not str(message_id).strip():
            raise ProviderError("短信网关的回复缺少 message_id", status_code=response.status_code)
        log.info("SMS %s to …%s accepted by the gateway as %s", reference, last_four(recipient), message_id)
        return str(message_id).strip()[:100]


def _gateway_error(response: httpx.Response) -> str:
    """The gateway's own short error code, when it gives one (never its whole body: it may echo the
    phone number)."""
    try:
        data = response.json()
    except ValueError:
        return ""
    code = (data.get("error") or data.get("code")) if isinstance(data, dict) else None
    if isinstance(code, str) and ERROR_CODE.fullmatch(code):
        return f"：{code}"
    return ""


def provider_from_settings(settings: Settings) -> MessageProvider:
    if settings.sms_provider is SmsProviderKind.http:
        assert settings.sms_api_url and settings.sms_api_key  # the settings validator requires both
        return HttpSmsProvider(
            settings.sms_api_url,
            settings.sms_api_key,
            settings.sms_sign_name,
            timeout=settings.sms_timeout_seconds,
        )
    return OutboxOnlyProvider()
