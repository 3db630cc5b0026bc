"""A per-process cache of whole public JSON answers for a second or so (pure ASGI).

The busiest reads — the product list and a product, the categories, the stations — are the same
for every anonymous caller. This middleware keeps a ``200`` answer to such a ``GET`` (status,
headers, body: already compressed when the caller accepted gzip, since it sits outside the gzip
middleware) for ``ttl_seconds`` and serves it again without touching the app: no session, no
statement, no serialising. What it may serve is at most ``ttl_seconds`` old, in each process:

- stock states ("in stock", "few left") and prices on listings may lag by that much — the issue
  that asked for speed allowed it; placing an order always prices and reserves afresh, so no
  order is ever taken on a cached answer;
- while one request fetches an expired answer afresh, the others get the expired one (no crowd
  of requests rebuilding the same list the moment it expires);
- only callers showing no credentials at all (no ``Authorization``, no ``Cookie``) get cached
  answers, and only answers that set no cookie are kept: a signed-in buyer sees their own prices.

``ttl_seconds`` 0 turns it off (the test suite's default, so a test sees its own writes at once).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PERSONAL_HEADERS = (b"authorization", b"cookie")
CacheKey = tuple[str, bytes, bool]  # path, query string, gzip accepted


@dataclass(frozen=True)
class CachedAnswer:
    start: Message
    body: bytes
    expires_at: float
    route: object  # the route that answered (``scope["route"]``), for the metrics of a hit


class PublicResponseCache:
    def __init__(
        self,
        app: ASGIApp,
        *,
        paths: tuple[str, ...],
        ttl_seconds: float,
        max_entries: int = 256,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``paths``: exact paths, or prefixes ending in ``/`` (``/api/v1/products/`` is any product)."""
        self.app = app
        self.exact = frozenset(p for p in paths if not p.endswith("/"))
        self.prefixes = tuple(p for p in paths if p.endswith("/"))
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._answers: OrderedDict[CacheKey, CachedAnswer] = OrderedDict()
        self._refreshing: set[CacheKey] = set()
        self.hits = 0

    def _cacheable(self, scope: Scope) -> bool:
        if self.ttl_seconds <= 0 or scope["type"] != "http" or scope["method"] != "GET":
            return False
        path: str = scope["path"]
        if path not in self.exact and not path.startswith(self.prefixes):
            return False
        return not any(name in PERSONAL_HEADERS for name, _ in scope["headers"])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        accepts_gzip = any(name == b"accept-encoding" and b"gzip" in value for name, value in scope["headers"])
        key = (scope["path"], scope["query_string"], accepts_gzip)
        now = self.clock()
        found = self._answers.get(key)
        # Expired while another request is already fetching it afresh: the old answer, a moment
        # longer, rather than every waiting request rebuilding the same list at once.
        if found is not None and (found.expires_at > now or key in self._refreshing):
            self.hits += 1
            if found.route is not None:
                scope["route"] = found.route
            await send(found.start)
            await send({"type": "http.response.body", "body": found.body})
            return
        self._refreshing.add(key)
        try:
            await self._fetch(scope, receive, send, key, now)
        finally:
            self._refreshing.discard(key)

    async def _fetch(self, scope: Scope, receive: Receive, send: Send, key: CacheKey, now: float) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and start is not None and self._keepable(start):
                    self._store(key, CachedAnswer(start, b"".join(chunks), now + self.ttl_seconds, scope.get("route")))
            await send(message)

        await self.app(scope, receive, capture)

    @staticmethod
    def _keepable(start: Message) -> bool:
        return start["status"] == 200 and not any(name == b"set-cookie" for name, _ in start.get("headers", []))

    def _store(self, key: CacheKey, answer: CachedAnswer) -> None:
        self._answers[key] = answer
        self._answers.move_to_end(key)
        while len(self._answers) > self.max_entries:
            self._answers.popitem(last=False)
