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
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.kit import clock as app_clock
from app.kit.models import RateLimitCounter


@dataclass(frozen=True)
class Window:
    """One fixed window of one key: the counter an attempt adds to."""

    key: str
    start: int  # epoch seconds
    ttl_seconds: int


class CounterStore(Protocol):
    async def increment(self, windows: Sequence[Window]) -> list[int]:
        """Add one to each window's counter, all in one atomic step; the new counts in order.

        One step for all keys of an attempt (username and address) keeps concurrent attempts in
        the same order on every key, so the ones admitted are the same on each."""

    async def count(self, key: str, window_start: int) -> int:
        """The counter of ``(key, window_start)`` (0 when absent)."""


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
        windows = []
        for key, rate in rules:
            start = int(now // rate.period_seconds) * rate.period_seconds
            windows.append(Window(key, start, 2 * rate.period_seconds))
        counts = await self.store.increment(windows)
        allowed = True
        for (key, rate), window, current in zip(rules, windows, counts, strict=True):
            if current > rate.limit:
                allowed = False
                continue
            previous = await self.store.count(key, window.start - rate.period_seconds)
            overlap = 1.0 - (now - window.start) / rate.period_seconds
            if previous * overlap + current > rate.limit:
                allowed = False
        return allowed


class MemoryCounters:
    """Counts in this process only (tests, a single process): no await between read and write."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], tuple[int, float]] = {}

    async def increment(self, windows: Sequence[Window]) -> list[int]:
        now = time.time()
        if len(self._counts) > 10_000:
            self._counts = {k: v for k, v in self._counts.items() if v[1] > now}
        counts = []
        for window in windows:
            hits = self._counts.get((window.key, window.start), (0, 0.0))[0] + 1
            self._counts[(window.key, window.start)] = (hits, now + window.ttl_seconds)
            counts.append(hits)
        return counts

    async def count(self, key: str, window_start: int) -> int:
        return self._counts.get((key, window_start), (0, 0.0))[0]


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

    async def increment(self, windows: Sequence[Window]) -> list[int]:
        counter = RateLimitCounter
        counts: dict[tuple[str, int], int] = {}
        async with self.engine.begin() as conn:
            # Rows are taken in one order (sorted keys): two attempts on the same keys queue on
            # the first row and cannot deadlock, and get their counts in the same order on each.
            for window in sorted(windows, key=lambda w: (w.key, w.start)):
                statement = (
                    insert(counter)
                    .values(key=window.key, window_start=window.start, hits=1)
                    .on_conflict_do_update(
                        index_elements=[counter.key, counter.window_start], set_={"hits": counter.hits + 1}
                    )
                    .returning(counter.hits)
                )
                counts[(window.key, window.start)] = int((await conn.execute(statement)).scalar_one())
            if random.randrange(self.SWEEP_ONE_IN) == 0:
                # Only windows past any rate's reach: other keys may count over longer periods.
                horizon = min(w.start for w in windows) - self.SWEEP_AFTER_SECONDS
                await conn.execute(delete(counter).where(counter.window_start < horizon))
        return [counts[(w.key, w.start)] for w in windows]

    async def count(self, key: str, window_start: int) -> int:
        counter = RateLimitCounter
        async with self.engine.connect() as conn:
            hits = await conn.scalar(
                select(counter.hits).where(counter.key == key, counter.window_start == window_start)
            )
        return int(hits or 0)


class RedisCounters:
    """Counts in Redis (``RATE_LIMIT_STORAGE_URL=redis://…``): one MULTI for all keys."""

    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url)

    @staticmethod
    def _name(key: str, window_start: int) -> str:
        return f"np:rl:{key}:{window_start}"

    async def increment(self, windows: Sequence[Window]) -> list[int]:
        async with self.redis.pipeline(transaction=True) as pipe:
            for window in windows:
                pipe.incr(self._name(window.key, window.start))
                pipe.expire(self._name(window.key, window.start), window.ttl_seconds)
            replies = await pipe.execute()
        return [int(hits) for hits in replies[::2]]

    async def count(self, key: str, window_start: int) -> int:
        value = await self.redis.get(self._name(key, window_start))
        return int(value or 0)


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
