"""In-process cache of rendered catalog listings, kept honest by the database's catalog version.

A statement-level trigger bumps ``catalog_state.version`` on every write to a catalog table (from
any code path, any process). A reader asks for the version first — one primary-key read — and
reuses what it built for that version, viewer and query; otherwise it builds and stores. Reading
the version before the data means a cached entry can only be newer than its label, never older.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.repository import catalog_version

MAX_ENTRIES = 512


class ListingCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[int, Hashable], Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def get_or_build(self, session: AsyncSession, key: Hashable, build: Callable[[], Awaitable[Any]]) -> Any:
        """The cached value for ``key`` at the current catalog version; callers must not mutate it."""
        version = await catalog_version(session)
        cache_key = (version, key)
        found = self._entries.get(cache_key)
        if found is not None:
            self._entries.move_to_end(cache_key)
            self.hits += 1
            return found
        self.misses += 1
        body = await build()
        self._entries[cache_key] = body
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return body

    def clear(self) -> None:
        self._entries.clear()
