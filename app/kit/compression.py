"""Responses gzip-compressed for clients that accept it (Starlette's middleware), and a lean path
for those that do not."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import Message, Receive, Scope, Send


class Compression(GZipMiddleware):
    """Starlette's :class:`GZipMiddleware` for a client that accepts gzip. A client that does not
    (a load balancer's probe, a till, most API clients) paid for its per-request responder all the
    same: ~10 µs, a sixth of ``/healthz``'s own time in the process (issue 15, the per-request
    floor). Its response now passes through as the app sent it, with ``Vary: Accept-Encoding``
    added where a gzip client would have had it compressed, so that a shared cache keeps the two
    apart. That is decided from the start message alone (status, content type and encoding, and
    length; a streamed answer, which has no length, is taken as long), where Starlette's responder
    holds the start message back until the first body."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or accepts_gzip(scope["headers"]):
            await super().__call__(scope, receive, send)
            return
        minimum_size, excluded = self.minimum_size, self.exclude_content_types

        async def send_with_vary(message: Message) -> None:
            if message["type"] == "http.response.start" and would_compress(message, minimum_size, excluded):
                headers = MutableHeaders(raw=list(message.get("headers", ())))
                headers.add_vary_header("Accept-Encoding")
                message = {**message, "headers": headers.raw}
            await send(message)

        await self.app(scope, receive, send_with_vary)


def accepts_gzip(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """As Starlette reads it: ``gzip`` in the first ``Accept-Encoding`` header."""
    for name, value in headers:
        if name == b"accept-encoding":
            return b"gzip" in value
    return False


def would_compress(start: Message, minimum_size: int, excluded: tuple[str, ...]) -> bool:
    """Whether a client accepting gzip would get this response compressed."""
    if start["status"] == 206:
        return False
    media_type, length = "", None
    for name, value in start.get("headers", ()):
        if name == b"content-encoding":
            return False
        if name == b"content-type":
            media_type = value.decode("latin-1").partition(";")[0].strip().lower()
        elif name == b"content-length":
            length = int(value)
    if length is not None and length < minimum_size:
        return False
    return media_type not in excluded and f"{media_type.partition('/')[0]}/*" not in excluded
