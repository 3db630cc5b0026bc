"""A per-process memo of values for a second or so: what the shop's pages read (products with their
stock states, the categories) for one kind of visitor.

The API's anonymous catalog answers are kept whole for ``PUBLIC_CACHE_SECONDS``
(``app.kit.public_cache``); a page cannot be, because it carries the visitor's own CSRF token and
cart. This keeps the part every visitor of a kind shares — the same staleness the issue allowed for
listings (a stock state may lag by that much; placing an order always prices and reserves afresh).

A value is built by the first request that misses and shared read-only with the others until it
expires: callers must not mutate what they get. While one request builds an expired value afresh,
the others get the expired one (no crowd of requests rebuilding the same page data at once).
``ttl_seconds`` 0 turns it off (the test suite's default, so a test sees its own writes at once).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class ShortMemo:
    def __init__(self, *, max_entries: int = 256, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[Any, float]] = OrderedDict()
        self._building: set[Hashable] = set()
        self.hits = 0

    async def get_or_build(self, key: Hashable, ttl_seconds: float, build: Callable[[], Awaitable[Any]]) -> Any:
        if ttl_seconds <= 0:
            return await build()
        found = self._entries.get(key)
        if found is not None and (found[1] > self.clock() or key in self._building):
            self.hits += 1
            return found[0]
        self._building.add(key)
        try:
            value = await build()
        finally:
            self._building.discard(key)
        self._entries[key] = (value, self.clock() + ttl_seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return value
