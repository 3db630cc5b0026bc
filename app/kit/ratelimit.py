"""Attempt limiting that a burst of concurrent guesses cannot slip through.

The rule: **count the attempt first, then check the credential.** ``hit(key)`` adds one attempt to
the key's counter in one atomic step of the store and answers whether the attempt is still within
the limit; only then does the caller look at the password, phone or code. Sixty guesses sent at
once take sixty distinct counter values, so exactly ``limit`` of them are checked and the rest are
refused — whichever one carries the right answer. (Checking first and recording the failure after
the database answered let 59 wrong guesses and the right one all pass the check together.)

Counting is a sliding-window counter: the current fixed window's count plus the previous window's
count weighted by how much of it still overlaps the sliding window. It needs only an atomic
increment from the store, which each backend has:

- ``memory://`` — in this process (one event loop: increment and read have no await between them);
  for tests and a single process only;
- ``database`` (the default) — the ``rate_limit_counters`` table of the platform's PostgreSQL,
  ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` on its own short autocommit transaction, so a
  request that fails and rolls back still leaves its attempt counted, and every web worker on every
  machine shares the counts;
- ``redis://…`` — ``INCR`` + ``EXPIRE`` in one ``MULTI``.

The ``limits`` library parses the rate strings ("5/minute"); its strategies are not used because
none stores counts in PostgreSQL, which is the one shared store a one-machine install has.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from limits import parse
from sqlalchemy.ext.asyncio import AsyncEngine

from app.kit import clock as app_clock
from app.kit import repository


@dataclass(frozen=True)
class Window:
    """One fixed window of one key: the counter an attempt adds to."""

    key: str
    start: int  # epoch seconds
    period_seconds: int

    @property
    def previous_start(self) -> int:
        return self.start - self.period_seconds

    @property
    def ttl_seconds(self) -> int:
        return 2 * self.period_seconds  # the next window still reads this one


class CounterStore(Protocol):
    async def increment(self, windows: Sequence[Window]) -> list[tuple[int, int]]:
        """Add one to each window's counter, all in one atomic step, and read the window before
        it: ``(count now, previous window's count)`` per window, in order.

        One step for all keys of an attempt (username and address) keeps concurrent attempts in
        the same order on every key, so the ones admitted are the same on each."""


@dataclass(frozen=True)
class Rate:
    limit: int
    period_seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        item = parse(text)
        return cls(int(item.amount), int(item.get_expiry()))


class RateLimiter:
    """Counts attempts against ``(key, rate)`` rules in one store."""

    def __init__(self, store: CounterStore, *, clock: Callable[[], float] | None = None) -> None:
        self.store = store
        # The app's clock (pinned in tests), as epoch seconds.
        self.clock = clock or (lambda: app_clock.now().timestamp())

    async def hit(self, *rules: tuple[str, Rate]) -> bool:
        """Count one attempt on every rule's key (all of them, even when one is already over: a
        refused address still counts against the username and back); True when every key's
        attempts in its sliding window, this one included, are within its limit."""
        now = self.clock()
        windows = [
            Window(key, int(now // rate.period_seconds) * rate.period_seconds, rate.period_seconds)
            for key, rate in rules
        ]
        counts = await self.store.increment(windows)
        allowed = True
        for (_, rate), window, (current, previous) in zip(rules, windows, counts, strict=True):
            overlap = 1.0 - (now - window.start) / rate.period_seconds
            if current > rate.limit or previous * overlap + current > rate.limit:
                allowed = False
        return allowed


class MemoryCounters:
    """Counts in this process only (tests, a single process): no await between read and write."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], tuple[int, float]] = {}

    async def increment(self, windows: Sequence[Window]) -> list[tuple[int, int]]:
        now = time.time()
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        counts = []
        for window in windows:
            hits = self._counts.get((window.key, window.start), (0, 0.0))[0] + 1
            self._counts[(window.key, window.start)] = (hits, now + window.ttl_seconds)
            counts.append((hits, self._counts.get((window.key, window.previous_start), (0, 0.0))[0]))
        return counts


class DatabaseCounters:
    """Counts in PostgreSQL, shared by every process that uses the database."""

    # About one increment in this many also deletes windows that no longer matter.
    SWEEP_ONE_IN = 200
    # Rates span at most a day ("…/day"); a window older than two days counts for nothing.
    SWEEP_AFTER_SECONDS = 2 * 86400

    def __init__(self, engine: Callable[[], AsyncEngine]) -> None:
        # A callable: the app creates its engine in the lifespan, after the limiters exist.
        self._engine = engine

    @property
    def engine(self) -> AsyncEngine:
        return self._engine()

    async def increment(self, windows: Sequence[Window]) -> list[tuple[int, int]]:
        counts: dict[tuple[str, int], tuple[int, int]] = {}
        async with self.engine.begin() as conn:
            # Rows are taken in one order (sorted keys): two attempts on the same keys queue on
            # the first row and cannot deadlock, and get their counts in the same order on each.
            for window in sorted(windows, key=lambda w: (w.key, w.start)):
                counts[(window.key, window.start)] = await repository.count_hit(
                    conn, window.key, window.start, window.previous_start
                )
            if random.randrange(self.SWEEP_ONE_IN) == 0:
                # Only windows past any rate's reach: other keys may count over longer periods.
                await repository.delete_counters_before(conn, min(w.start for w in windows) - self.SWEEP_AFTER_SECONDS)
        return [counts[(w.key, w.start)] for w in windows]


class RedisCounters:
    """Counts in Redis (``RATE_LIMIT_STORAGE_URL=redis://…``): one MULTI for all keys."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url)

    @staticmethod
    def _name(key: str, window_start: int) -> str:
        return f"np:rl:{key}:{window_start}"

    async def increment(self, windows: Sequence[Window]) -> list[tuple[int, int]]:
        async with self.redis.pipeline(transaction=True) as pipe:
            for window in windows:
                pipe.incr(self._name(window.key, window.start))
                pipe.expire(self._name(window.key, window.start), window.ttl_seconds)
                pipe.get(self._name(window.key, window.previous_start))
            replies = await pipe.execute()
        return [(int(replies[i]), int(replies[i + 2] or 0)) for i in range(0, len(replies), 3)]


def counter_store(storage_url: str, engine: Callable[[], AsyncEngine]) -> CounterStore:
    """The store named by ``RATE_LIMIT_STORAGE_URL``: ``database`` (default), ``memory://`` or
    ``redis://…``."""
    if storage_url.startswith("memory"):
        return MemoryCounters()
    if storage_url.startswith(("redis://", "rediss://")):
        return RedisCounters(storage_url)
    if storage_url == "database":
        return DatabaseCounters(engine)
    raise ValueError(f"RATE_LIMIT_STORAGE_URL 不支持：{storage_url}（可用 database、memory://、redis://…）")
